"""Column specifications of the tables built in ``assets/marts/`` (the ``Col`` / ``TableSpec`` type of
``observatory.columns``): one source for the table and column comments (copied by publication), the
blocking type checks and ``docs/data_dictionary.md``.
"""

from __future__ import annotations

from typing import Iterable

from assets.sirene.classification import SECTORS as SECTORS  # re-exported: the marts' suites use C.SECTORS
from assets.sirene.classification import default_rules
from observatory.sources import MODES as MODES  # re-exported: the marts.sources suite uses C.MODES
from observatory.columns import (
    Col as Col,
    TableSpec as TableSpec,
    apply_comments as apply_comments,
)  # re-exported: marts code and tests use C.Col, C.apply_comments


#: Sectors and fine operator classes of ``int.operator_years``: the SIRENE classification's own lists
#: (``assets/sirene/classification.py``, classes from ``assets/sirene/reference/operator_classes.csv``).
#: ``SECTORS`` is imported from there too.
OPERATOR_CLASSES = default_rules().class_names
GEOGRAPHIES = ("year", "latest")
LEVELS = ("epci", "departement", "region", "france")
#: Rows of a level for the facilities no territory of that level holds: communes outside any EPCI that
#: year (EPCI level), facilities that cannot be placed at all (every level below France).
GAP_CODES = {"hors_epci": "Communes hors EPCI", "non_localise": "Non localisé"}
#: ess_market_share rules (values passed to its SQL by build.py): see build.SHARE_RULES.
SMALL_COUNT = 5
UNKNOWN_TOLERANCE = 0.01
PLACES_METHODS = ("observed", "estimated", "none")
UNJOINED_REASONS = (
    "no_year_geography",  # facility year before the first year of the territorial reference (2015)
    "commune_unknown",  # SIRENE gave no usable commune code (see int.facility_years.code_commune_method)
    "code_not_in_passage_table",  # the code is not in int.commune_code_map for the target year
    "commune_not_in_cog",  # the code is not a commune of that year's COG (stg.communes)
    "commune_not_in_membership",  # the commune is missing from that year's EPCI composition
    "commune_outside_epci",  # the commune belongs to no EPCI (the 4 island communes): département/région still set
)

_Y = Col("annee", "INTEGER", "Year; facilities and territories as of 1 January of this year", "year")
_GEO = Col(
    "geography",
    "VARCHAR",
    "Geography the territories are taken in: 'year' = as of 1 January of annee; 'latest' = perimeters of the latest year of the territorial reference, for time series on today's map",
)
_GEO_Y = Col(
    "geography_year",
    "INTEGER",
    "Year of the territorial perimeters used (= annee for geography 'year', the latest reference year for 'latest')",
    "year",
)
_EPCI = "EPCI à fiscalité propre SIREN (9 digits)"
#: Last column of every mart whose figures come from SIRENE facilities (see marts.sources).
FACILITY_SOURCE = Col(
    "facility_source",
    "VARCHAR",
    "Where the facility figures of this row come from: the label of the SIRENE row of marts.sources, e.g. "
    "'SIRENE SYNTHETIC sample (data date 2026-10-31)' for the embedded synthetic sample (figures illustrative, "
    "not real data), 'SIRENE official files (data date ...)' or 'SIRENE publisher's files from a local directory (data date ...)' "
    "for the real INSEE stock",
)

_SCOPE_REASON = Col(
    "scope_reason",
    "VARCHAR",
    "Why the establishment is an EAJE on 1 January of annee (SIRENE scope rule): naf_88_91A (activity 88.91A) "
    "or nom_eaje (another activity code, a public or associative operator, and its own name says crèche, "
    "micro-crèche, multi-accueil, halte-garderie, jardin d'enfants or EAJE)",
)

FACILITY_TERRITORY_YEARS = TableSpec(
    "int.facility_territory_years",
    "One row per in-scope EAJE and year (1 January) with its operator's class and its territories: the "
    "geography of that year, the fixed 2017 EPCI perimeters (merger study) and the latest perimeters "
    "(dashboards). Rows that cannot be placed are kept with the reason.",
    ("siret", "annee"),
    (
        Col("siret", "VARCHAR", "Establishment SIRET (14 digits)"),
        Col("siren", "VARCHAR", "Operator (legal unit) SIREN (9 digits)"),
        _Y,
        Col("nom", "VARCHAR", "Establishment name or sign (SIRENE)"),
        Col("type_structure", "VARCHAR", "Kind of structure as derived by the SIRENE stage"),
        _SCOPE_REASON,
        Col("date_creation", "DATE", "Establishment creation date (SIRENE)", "date"),
        Col("date_fermeture", "DATE", "Establishment closure date (SIRENE), NULL if open", "date"),
        Col(
            "operator_class",
            "VARCHAR",
            "Operator class on 1 January of annee (int.operator_years); 'indetermine' when the legal unit is missing",
        ),
        Col("sector", "VARCHAR", "Operator sector on 1 January of annee: public, ess, lucratif, autre_prive, indetermine"),
        Col(
            "operator_rule", "VARCHAR", "Classification rule that decided the class ('unite_legale_absente' when the legal unit is absent)"
        ),
        Col("code_commune_releve", "VARCHAR", "Commune code as recorded in SIRENE (may be an arrondissement or an old code)"),
        Col("code_commune", "VARCHAR", "Commune code in the geography of annee (2015 geography before 2015)"),
        Col("epci_siren", "VARCHAR", f"{_EPCI} of the commune on 1 January of annee; NULL before 2015 or when unjoined"),
        Col("code_departement", "VARCHAR", "Département of the commune on 1 January of annee"),
        Col("code_region", "VARCHAR", "Région of the commune on 1 January of annee"),
        Col("unjoined_reason", "VARCHAR", "Why the year's EPCI is NULL: " + ", ".join(UNJOINED_REASONS) + "; NULL when joined"),
        Col("code_commune_2017", "VARCHAR", "Commune code in the 2017 geography"),
        Col("epci_siren_2017", "VARCHAR", f"{_EPCI} of the commune on 1 January 2017 (fixed perimeter of the merger study)"),
        Col("unjoined_reason_2017", "VARCHAR", "Why epci_siren_2017 is NULL (same values as unjoined_reason)"),
        Col("latest_year", "INTEGER", "Latest year of the territorial reference (the 'latest' perimeters)", "year"),
        Col("code_commune_latest", "VARCHAR", "Commune code in the latest geography"),
        Col("epci_siren_latest", "VARCHAR", f"{_EPCI} of the commune in the latest geography"),
        Col("code_departement_latest", "VARCHAR", "Département in the latest geography"),
        Col("code_region_latest", "VARCHAR", "Région in the latest geography"),
        Col("unjoined_reason_latest", "VARCHAR", "Why epci_siren_latest is NULL (same values as unjoined_reason)"),
        Col(
            "places",
            "DOUBLE",
            "Estimated places: CAF EAJE places of the commune in December of annee - 1 shared among the commune's in-scope facilities on 1 January of annee (a micro-crèche gets at most its legal maximum, 10 places, 12 from annee 2022 = CAF year 2021; the others, without legal maximum, share the rest equally; places a cap leaves over stay unallocated and are counted in the asset metadata); NULL (unknown, never 0) when the CAF does not publish the commune",
            "places",
        ),
        Col("places_method", "VARCHAR", "How places was obtained: observed, estimated or none"),
    ),
)

ESS_MARKET_SHARE = TableSpec(
    "marts.ess_market_share",
    "Market shares of operator sectors and classes among EAJE, by territory (EPCI, département, région, France) "
    "and year, in the geography of each year and on the latest perimeters. Every territory of the reference "
    "appears, with every category: a territory without facility has n_facilities_total = 0 and NULL shares "
    "(undefined, not zero). Shares sum to 1 per territory, year and breakdown.",
    ("geography", "annee", "territory_level", "territory_code", "breakdown", "category"),
    (
        _GEO,
        _GEO_Y,
        _Y,
        Col("territory_level", "VARCHAR", "epci, departement, region or france"),
        Col(
            "territory_code",
            "VARCHAR",
            "EPCI SIREN, département code, région code, or 'FR'; 'hors_epci' (EPCI level): facilities in communes that belonged "
            "to no EPCI that year, so that the EPCI rows add up to France; 'non_localise' (any level below France): facilities that cannot be placed",
        ),
        Col(
            "territory_name",
            "VARCHAR",
            "Name of the territory (EPCI name, département name, région name of the year's COG, France, 'Communes hors EPCI', 'Non localisé'); never NULL, '?' never left",
        ),
        Col("breakdown", "VARCHAR", "'sector' (public, ess, lucratif, autre_prive, indetermine) or 'operator_class' (fine classes)"),
        Col("category", "VARCHAR", "The sector or operator class counted in this row"),
        Col("n_facilities", "BIGINT", "In-scope EAJE of this category active on 1 January", "establishments"),
        Col("n_facilities_total", "BIGINT", "In-scope EAJE of all categories in the territory that year", "establishments"),
        Col("share_facilities", "DOUBLE", "n_facilities / n_facilities_total; NULL when the territory has no facility", "share (0-1)"),
        Col(
            "small_count",
            "BOOLEAN",
            f"n_facilities_total < {SMALL_COUNT}: the shares of this row rest on fewer than {SMALL_COUNT} facilities (grey them out)",
        ),
        Col(
            "places",
            "DOUBLE",
            "Estimated places of this category's facilities whose places are known (see places_coverage); 0 when the category has no facility; NULL (unknown, never 0) when it has facilities and none with known places",
            "places",
        ),
        Col(
            "places_coverage",
            "DOUBLE",
            "Share of this category's facilities whose places are known (places sums only those); NULL when the category has no facility",
            "share (0-1)",
        ),
        Col(
            "places_total",
            "DOUBLE",
            "Estimated places of all the territory's facilities whose places are known; NULL when none is known",
            "places",
        ),
        Col(
            "share_places",
            "DOUBLE",
            "places / places_total. NULL when no place is known, for a category with facilities but no known places, and for every category "
            f"when such unknown categories hold more than {UNKNOWN_TOLERANCE:.0%} of the territory's facilities (below that, e.g. 3 'indetermine' facilities in France, "
            "the other shares are kept)",
            "share (0-1)",
        ),
        Col(
            "places_method",
            "VARCHAR",
            "observed (a source gives capacities), estimated (CAF commune places shared among the commune's facilities) or none",
        ),
        Col(
            "places_coverage_total",
            "DOUBLE",
            "Share of the territory's facilities (all categories) whose places are known: the part of the territory the places describe",
            "share (0-1)",
        ),
        Col(
            "places_scope",
            "VARCHAR",
            "Which part of the territory the places cover: all_facilities, communes_published_by_caf (only facilities in communes the CAF publishes, above 10,000 inhabitants: "
            "a France, région or département total of places is NOT the territory's supply), none (no place known) or no_facility",
        ),
        FACILITY_SOURCE,
    ),
)

CHILDCARE_SUPPLY = TableSpec(
    "marts.childcare_supply",
    "Childcare supply by EPCI and year (geography of that year) from CAF open data, next to our own facility "
    "counts. CAF publishes communes above 10,000 inhabitants only: CAF columns cover only those communes "
    "(caf_population_coverage says which share of the EPCI population), never a complete EPCI total. "
    "CAF figures describe December of caf_annee and are shown on 1 January of annee = caf_annee + 1. "
    "A year without CAF data has caf_status = 'caf_year_missing' and NULL CAF columns.",
    ("annee", "epci_siren"),
    (
        _Y,
        Col("caf_annee", "INTEGER", "CAF reference year (supply in December of that year) = annee - 1", "year"),
        Col("epci_siren", "VARCHAR", _EPCI),
        Col("epci_nom", "VARCHAR", "EPCI name"),
        Col(
            "caf_status",
            "VARCHAR",
            "published (some communes of the EPCI are published), no_commune_published (CAF year exists, no commune of the EPCI above the threshold) or caf_year_missing",
        ),
        Col("n_communes", "BIGINT", "Member communes of the EPCI on 1 January of annee", "communes"),
        Col("n_communes_caf", "BIGINT", "Member communes published by the CAF", "communes"),
        Col("population", "DOUBLE", "Population of the EPCI (sum of its communes, stg.communes)", "inhabitants"),
        Col("population_communes_caf", "DOUBLE", "Population of the member communes published by the CAF", "inhabitants"),
        Col(
            "caf_population_coverage",
            "DOUBLE",
            "population_communes_caf / population: how much of the EPCI the CAF columns describe",
            "share (0-1)",
        ),
        Col("places_psu", "DOUBLE", "Places in EAJE funded by the PSU (prestation de service unique), published communes only", "places"),
        Col(
            "places_hors_psu",
            "DOUBLE",
            "Places in EAJE outside the PSU (mostly for-profit micro-crèches funded through the CMG/PAJE), published communes only",
            "places",
        ),
        Col("places_eaje", "DOUBLE", "All EAJE places (PSU + outside PSU), published communes only", "places"),
        Col("share_places_hors_psu", "DOUBLE", "places_hors_psu / places_eaje: the market-based segment indicator", "share (0-1)"),
        Col(
            "enfants_moins_3_ans",
            "DOUBLE",
            "Children under 3 in the published communes whose number is derivable (places / coverage rate x 100)",
            "children",
        ),
        Col(
            "taux_couverture_eaje",
            "DOUBLE",
            "EAJE places per 100 children under 3, over the communes where children are derivable",
            "places per 100 children",
        ),
        Col("taux_couverture_psu", "DOUBLE", "PSU EAJE places per 100 children under 3, same communes", "places per 100 children"),
        Col(
            "taux_couverture_hors_psu",
            "DOUBLE",
            "EAJE places outside PSU per 100 children under 3, same communes",
            "places per 100 children",
        ),
        Col("n_facilities", "BIGINT", "Our count: in-scope EAJE of the EPCI on 1 January of annee (all communes)", "establishments"),
        Col(
            "n_facilities_communes_caf",
            "BIGINT",
            "Our count restricted to the communes published by the CAF (comparable with the CAF columns)",
            "establishments",
        ),
        Col("n_facilities_lucratif", "BIGINT", "Our count of in-scope EAJE run by for-profit operators", "establishments"),
        Col(
            "share_facilities_lucratif", "DOUBLE", "n_facilities_lucratif / n_facilities; NULL when the EPCI has no facility", "share (0-1)"
        ),
        Col(
            "facility_source",
            "VARCHAR",
            "Where our facility counts (n_facilities, n_facilities_communes_caf, n_facilities_lucratif, "
            "share_facilities_lucratif) come from: the label of the SIRENE row of marts.sources (see marts.ess_market_share); "
            "the CAF columns come from the CAF row of marts.sources",
        ),
    ),
)

_COHORT = Col("cohort", "INTEGER", "Merger year: EPCIs formed by fusion on 1 January of this year are treated", "year")
MERGER_EFFECT = TableSpec(
    "marts.merger_effect",
    "Effect of EPCI fusions on associative EAJE: Callaway & Sant'Anna event study on the fixed perimeters of the "
    "merger year (library differences, doubly robust on base-year covariates: log facilities, log population, "
    "region), with diagnostics beside every estimate. Treated = EPCIs formed by fusion on 1 January of the cohort "
    "year; control = never treated (perimeter unchanged from the previous year and no later fusion). Effects are "
    "changes since 1 January of the cohort year (base_year, the merger day); 95 % intervals from a multiplier "
    "bootstrap clustered by EPCI (seeded). A cohort whose diagnostics fail is 'fragile' (note says why); one with too "
    "few EPCIs is 'not_estimable'. See docs/methodology.md, 'The merger study'.",
    ("cohort", "outcome", "estimand", "weighting", "estimator", "annee", "dropped_epci"),
    (
        _COHORT,
        Col(
            "outcome",
            "VARCHAR",
            "n_associations (in-scope EAJE run by associations), share_ess (ESS share of facilities), "
            "places_associations (estimated places of associative EAJE), public_takeovers / closures (2017 cohort: associative "
            "EAJE taken over by a public body / closed without successor during the year before annee, marts.facility_transitions)",
        ),
        Col(
            "estimand",
            "VARCHAR",
            "ecart_relatif_pct: effect in % of the base-year level (facility weighting: of the treated stock, "
            "the national-stock estimand); ecart_relatif_pct_epci: the same for the average treated EPCI; ecart_par_epci: "
            "facilities per average EPCI; ecart_share: ESS share, 0-1 scale (0.01 = one percentage point); taux_pour_100_2017: "
            "yearly takeovers or closures per 100 associative EAJE of the EPCI on 1 January 2017",
        ),
        Col(
            "weighting",
            "VARCHAR",
            "facility (EPCIs weighted by their base-year count: the effect on the stock of associative "
            "EAJE) or unit (every EPCI counts once: the effect for the average EPCI)",
        ),
        Col("row_kind", "VARCHAR", "event_time, pooled, diagnostic, sensitivity or not_estimable (estimate_panel's row kinds)"),
        Col(
            "estimator",
            "VARCHAR",
            "event_study (one row per year), did (pooled: mean of the post-merger years' effects, "
            "event_time >= 1), pre_test_joint, pre_trend_slope, placebo, leave_one_out, max_weight_share (diagnostics), "
            "trend_adjusted (sensitivity: did minus the extrapolated linear pre-trend)",
        ),
        Col(
            "annee", "INTEGER", "Year of the event-study coefficient; for pooled and diagnostic rows the last year of their period", "year"
        ),
        Col("event_time", "INTEGER", "annee - cohort (event_study rows; 0 = the merger day, the reference); NULL otherwise", "years"),
        Col("period_start", "INTEGER", "First year of the period (pooled, placebo, sensitivity rows) or annee (event_study)", "year"),
        Col("dropped_epci", "VARCHAR", "leave_one_out: the EPCI left out; max_weight_share: the heaviest treated EPCI; NULL otherwise"),
        Col("estimate", "DOUBLE", "Point estimate in the unit of the estimand (max_weight_share: a 0-1 share; pre_trend_slope: per year)"),
        Col("ci_low", "DOUBLE", "Lower bound of the 95 % interval (estimate - 1.96 x std_error)"),
        Col("ci_high", "DOUBLE", "Upper bound of the 95 % interval (estimate + 1.96 x std_error)"),
        Col("std_error", "DOUBLE", "Standard error: multiplier bootstrap clustered by EPCI (slope: influence functions)"),
        Col(
            "statistic",
            "DOUBLE",
            "Test statistic of a diagnostic: Wald chi2 (pre_test_joint), z (slope, placebo), shift in standard errors (leave_one_out)",
        ),
        Col("p_value", "DOUBLE", "p-value of the diagnostic's test (pre_test_joint, pre_trend_slope)"),
        Col("n_treated", "INTEGER", "Treated EPCIs in the estimation", "EPCIs"),
        Col("n_control", "INTEGER", "Control EPCIs in the estimation", "EPCIs"),
        Col("n_bootstrap", "INTEGER", "Bootstrap replications", "replications"),
        Col("seed", "BIGINT", "Seed of the bootstrap draws (Settings.seed)"),
        Col(
            "base_year",
            "INTEGER",
            "Reference year (= cohort: the count of 1 January of the merger day): effects are changes since then",
            "year",
        ),
        Col(
            "control_group",
            "VARCHAR",
            "never_treated: controls are EPCIs whose perimeter did not change and that take part in no later fusion",
        ),
        Col("method", "VARCHAR", "dr: doubly robust (outcome regression + propensity score, Sant'Anna & Zhao 2020)"),
        Col("covariates", "VARCHAR", "Base-year covariates conditioned on (a constant one is not used: see note)"),
        Col(
            "status",
            "VARCHAR",
            "estimated, fragile (a diagnostic failed: note says which), reference (base year, 0 by "
            "construction), not_estimable (note says why); diagnostics: pass or fail",
        ),
        Col("note", "VARCHAR", "Why a row is fragile or not estimable, EPCIs left out (no base-year facility, missing covariate), caveats"),
        Col(
            "planted_effect",
            "DOUBLE",
            "On the SYNTHETIC sample only: the effect planted by the generator for this row "
            "(headline estimand, event_study, did and trend_adjusted rows), from the sample manifest; NULL on real data",
            "%",
        ),
        FACILITY_SOURCE,
    ),
)

MERGER_EFFECT_EPCI = TableSpec(
    "marts.merger_effect_epci",
    "Per-EPCI panel behind marts.merger_effect, for dashboards: each EPCI of the cohort year's perimeters, its "
    "group (treated, control or excluded with the reason) and its outcomes each year, indexed on base_year.",
    ("cohort", "epci_siren", "annee"),
    (
        _COHORT,
        Col("epci_siren", "VARCHAR", f"{_EPCI}, perimeter of 1 January of the cohort year"),
        Col("epci_nom", "VARCHAR", "EPCI name"),
        Col("groupe", "VARCHAR", "traite (formed by fusion that year), controle (perimeter unchanged from the previous year) or exclu"),
        Col(
            "exclusion_reason",
            "VARCHAR",
            "Why an EPCI is excluded (perimeter changed otherwise: extension, transfer, split, creation); NULL otherwise",
        ),
        Col("n_predecessors", "INTEGER", "EPCIs of the previous year whose communes it contains", "EPCIs"),
        Col("base_year", "INTEGER", "Reference year (= cohort: 1 January of the merger day)", "year"),
        _Y,
        Col(
            "n_associations", "BIGINT", "In-scope EAJE run by associations (operator_class ess_association) on 1 January", "establishments"
        ),
        Col("n_facilities", "BIGINT", "All in-scope EAJE on 1 January", "establishments"),
        Col("n_ess", "BIGINT", "In-scope EAJE run by ESS operators", "establishments"),
        Col("share_ess", "DOUBLE", "n_ess / n_facilities; NULL without facility", "share (0-1)"),
        Col(
            "places_associations",
            "DOUBLE",
            "Estimated places of associative EAJE (NULL where no place of the EPCI is known, or where it has associations and none with known places; 0 only when places are known and it has no association)",
            "places",
        ),
        Col(
            "index_associations",
            "DOUBLE",
            "n_associations / n_associations in base_year x 100; NULL when the base is 0 (such an EPCI is left out of the relative estimands)",
            "index (base_year = 100)",
        ),
        FACILITY_SOURCE,
    ),
)

OPERATORS = TableSpec(
    "marts.operators",
    "One row per operator (legal unit) that ran at least one in-scope EAJE since 2010: its classification in "
    "the last year it ran one, and its facilities and territories that year.",
    ("siren",),
    (
        Col("siren", "VARCHAR", "Operator SIREN (9 digits)"),
        Col("denomination", "VARCHAR", "Operator name (SIRENE), as of classification_year"),
        Col("operator_class", "VARCHAR", "Operator class on 1 January of classification_year"),
        Col("sector", "VARCHAR", "Operator sector on 1 January of classification_year"),
        Col("rule", "VARCHAR", "Classification rule that decided (see docs/methodology)"),
        Col("categorie_juridique", "VARCHAR", "Legal category (4 characters) on 1 January of classification_year"),
        Col("ess_flag", "VARCHAR", "SIRENE ESS flag (O, N or NULL = not determined) on 1 January of classification_year"),
        Col("classification_year", "INTEGER", "Last year the operator ran an in-scope EAJE (= last_year)", "year"),
        Col("first_year", "INTEGER", "First year (1 January) the operator ran an in-scope EAJE, from 2010", "year"),
        Col("last_year", "INTEGER", "Last year (1 January) the operator ran an in-scope EAJE", "year"),
        Col("is_active", "BOOLEAN", "True if it runs an in-scope EAJE in the latest year"),
        Col("n_facilities", "BIGINT", "In-scope EAJE it ran on 1 January of last_year", "establishments"),
        Col("n_facilities_ever", "BIGINT", "In-scope EAJE it ran at any time since 2010", "establishments"),
        Col("n_epci", "BIGINT", "EPCIs (latest perimeters) of its facilities in last_year", "EPCIs"),
        Col("n_departements", "BIGINT", "Départements of its facilities in last_year", "départements"),
        Col("departements", "VARCHAR", "Comma-separated départements of its facilities in last_year"),
        FACILITY_SOURCE,
    ),
)

FACILITIES = TableSpec(
    "marts.facilities",
    "Current stock: every in-scope EAJE active on 1 January of the latest year, with its operator's class and "
    "its commune, EPCI, département and région in that year's geography.",
    ("siret",),
    (
        Col("siret", "VARCHAR", "Establishment SIRET (14 digits)"),
        Col("siren", "VARCHAR", "Operator SIREN"),
        Col("nom", "VARCHAR", "Establishment name or sign"),
        Col("denomination", "VARCHAR", "Operator name"),
        Col("operator_class", "VARCHAR", "Operator class on 1 January of annee"),
        Col("sector", "VARCHAR", "Operator sector on 1 January of annee"),
        Col("operator_rule", "VARCHAR", "Classification rule that decided"),
        Col("type_structure", "VARCHAR", "Kind of structure as derived by the SIRENE stage"),
        _SCOPE_REASON,
        Col("date_creation", "DATE", "Establishment creation date", "date"),
        Col("first_year", "INTEGER", "First year (1 January, from 2010) it is seen in the EAJE scope", "year"),
        _Y,
        Col("code_commune", "VARCHAR", "Commune in the geography of annee"),
        Col("nom_commune", "VARCHAR", "Commune name"),
        Col("epci_siren", "VARCHAR", f"{_EPCI} in the geography of annee"),
        Col("epci_nom", "VARCHAR", "EPCI name"),
        Col("code_departement", "VARCHAR", "Département"),
        Col("code_region", "VARCHAR", "Région"),
        Col("unjoined_reason", "VARCHAR", "Why the EPCI is NULL, if it is"),
        Col("places", "DOUBLE", "Estimated places (see int.facility_territory_years); NULL when unknown", "places"),
        Col("places_method", "VARCHAR", "observed, estimated or none"),
        FACILITY_SOURCE,
    ),
)

EPCI_INDICATORS = TableSpec(
    "marts.epci_indicators",
    "One row per EPCI of the latest perimeters with its latest indicators, the attribute table of the map "
    "GeoParquet (data/marts/geo/epci_indicators_<zone>.parquet).",
    ("epci_siren",),
    (
        Col("epci_siren", "VARCHAR", _EPCI),
        Col("epci_nom", "VARCHAR", "EPCI name"),
        Col("geography_year", "INTEGER", "Year of the perimeters", "year"),
        _Y,
        Col("n_facilities", "BIGINT", "In-scope EAJE on 1 January of annee", "establishments"),
        Col("share_public", "DOUBLE", "Share of facilities run by public operators; NULL without facility", "share (0-1)"),
        Col("share_ess", "DOUBLE", "Share run by ESS operators", "share (0-1)"),
        Col("share_lucratif", "DOUBLE", "Share run by for-profit operators", "share (0-1)"),
        Col("share_autre", "DOUBLE", "Share run by other private or undetermined operators", "share (0-1)"),
        Col("n_associations", "BIGINT", "In-scope EAJE run by associations", "establishments"),
        Col("n_facilities_2015", "BIGINT", "In-scope EAJE on 1 January 2015, same perimeter", "establishments"),
        Col("share_lucratif_2015", "DOUBLE", "Share run by for-profit operators on 1 January 2015, same perimeter", "share (0-1)"),
        Col("change_share_lucratif_since_2015", "DOUBLE", "share_lucratif - share_lucratif_2015", "share points (0-1 scale)"),
        Col("caf_annee", "INTEGER", "Latest CAF year with data for the EPCI", "year"),
        Col(
            "places_eaje_caf",
            "DOUBLE",
            "CAF EAJE places of its published communes (communes above 10,000 inhabitants), latest CAF year, communes brought to the latest perimeters",
            "places",
        ),
        Col("share_places_hors_psu", "DOUBLE", "Share of those places outside PSU", "share (0-1)"),
        Col("taux_couverture_eaje", "DOUBLE", "EAJE places per 100 children under 3 (published communes)", "places per 100 children"),
        Col("caf_population_coverage", "DOUBLE", "Share of the EPCI population in communes published by the CAF", "share (0-1)"),
        Col("has_geometry", "BOOLEAN", "True if the EPCI has a polygon in the published GeoParquet"),
        FACILITY_SOURCE,
    ),
)

#: One file of marts.sources.files.
FILE_TYPE = "STRUCT(file VARCHAR, sha256 VARCHAR, size BIGINT, origin VARCHAR, url VARCHAR)"

SOURCES = TableSpec(
    "marts.sources",
    "One row per source of the observatory: what this run read (mode, files with their sha256, data date), whether "
    "it is SYNTHETIC, its publisher and licence, and the published marts that depend on it. Every mart built from "
    "SIRENE facilities repeats the SIRENE row's label in its facility_source column.",
    ("source",),
    (
        Col("source", "VARCHAR", "Source name (folders assets/<source>/ and data/raw/<source>/)"),
        Col("title", "VARCHAR", "Title of the source"),
        Col("publisher", "VARCHAR", "Publisher (and republisher of the embedded copy, where there is one)"),
        Col("licence", "VARCHAR", "Licence of the data"),
        Col("homepage", "VARCHAR", "Publisher's page of the source"),
        Col("cadence", "VARCHAR", "How often the publisher updates it and the observatory refreshes it: monthly or yearly"),
        Col(
            "mode",
            "VARCHAR",
            "How this run obtained the files: embedded (compact copy committed in data/raw/<source>/embedded/, "
            "checked against its manifest.json), official (the publisher's files under data/raw/<source>/<millesime>/, downloaded "
            "with a manifest or saved by hand) or local directory (the publisher's files in a directory given at run time, "
            "OBSERVATORY_SIRENE_DIR for SIRENE)",
        ),
        Col(
            "read_by",
            "VARCHAR",
            "Which run read the files this row describes: 'this run' (the run that built this table read and verified "
            "them), or 'an earlier run' (a run that refreshed other sources only: this source's tables were not rebuilt, "
            "so its row is the one recorded when they were)",
        ),
        Col(
            "synthetic",
            "BOOLEAN",
            "True when the files are SYNTHETIC (generated, not real data): every figure derived from them is illustrative",
        ),
        Col(
            "data_date",
            "VARCHAR",
            "Date the data describe: a date (YYYY-MM-DD) or, for official files dated by vintage only, "
            "'millesime ...'; NULL when nothing records it",
        ),
        Col(
            "data_date_basis",
            "VARCHAR",
            "Where data_date comes from: manifest.json, official millesimes, or the SQL "
            "expression and build table it was derived from (e.g. the SIRENE stock's latest processing date)",
        ),
        Col(
            "label",
            "VARCHAR",
            "Short provenance label: source, then SYNTHETIC sample / embedded copy / official files / files of "
            "a local directory, then data date; the SIRENE label is the facility_source of the facility-derived marts",
        ),
        Col(
            "files",
            f"{FILE_TYPE}[]",
            "Files read, one struct each: file (name; <millesime>/<name> for official files), sha256, "
            "size (bytes), origin (embedded: the manifest's origin; official: when downloaded, or saved by hand; local "
            "directory: the path), url (the publisher's URL)",
        ),
        Col(
            "used_by",
            "VARCHAR[]",
            "Published marts that depend on this source, derived from the Dagster asset graph (lineage upstream of each marts.* asset)",
        ),
    ),
)

#: Marts that carry facility_source (derived from SIRENE facilities).
TRANSITIONS = (
    "still_open",
    "same_operator",
    "public_takeover",
    "for_profit_takeover",
    "other_ess_takeover",
    "other_takeover",
    "closed",
    "left_scope",
)
TRANSITION_METHODS = ("same_siret", "succession_link", "fallback_name_commune", "none")
FACILITY_TRANSITIONS = TableSpec(
    "marts.facility_transitions",
    "What became of each EAJE: every in-scope facility active on 1 January from_year (2016), followed to 1 January "
    "to_year (2018, 2020 and the latest year): still open, taken over (same operator under a new establishment, a "
    "public body, a for-profit operator, another ESS operator), closed without successor, or out of scope, with its "
    "2017 EPCI and merger group. Successors come from the SIRENE succession links, else from the documented "
    "name-and-commune fallback (method). See docs/methodology.md, 'What became of each crèche'.",
    ("from_year", "to_year", "siret"),
    (
        Col("from_year", "INTEGER", "Year of origin: the facility is active on 1 January from_year", "year"),
        Col("to_year", "INTEGER", "Year it is followed to (1 January)", "year"),
        Col("siret", "VARCHAR", "SIRET of the facility of origin"),
        Col("siren", "VARCHAR", "SIREN of its operator in from_year"),
        Col("nom", "VARCHAR", "Name of the facility of origin"),
        Col("operator_class_from", "VARCHAR", "Operator class in from_year (int.operator_years)"),
        Col("sector_from", "VARCHAR", "Operator sector in from_year"),
        Col("epci_siren_2017", "VARCHAR", f"{_EPCI} of its commune on 1 January 2017 (the merger study's fixed perimeters)"),
        Col("groupe_2017", "VARCHAR", "Merger group of that EPCI for the 2017 cohort: traite, controle, exclu (NULL outside any EPCI)"),
        Col(
            "transition",
            "VARCHAR",
            "still_open (same establishment active), same_operator (successor under the same SIREN), "
            "public_takeover (successor run by a commune, CCAS, EPCI or other public body), for_profit_takeover, "
            "other_ess_takeover, other_takeover, closed (closed, no successor found), left_scope (not closed but no longer an "
            "in-scope EAJE: activity code or type changed)",
        ),
        Col(
            "method",
            "VARCHAR",
            "How the successor was found, first that applies: same_siret (still open); succession_link: a SIRENE "
            "succession link (stg.sirene_successions) from the facility, dated before 1 January to_year, to an in-scope "
            "EAJE active then (a link to any other siret is ignored, the facility keeps the fallback's outcome); "
            "fallback_name_commune: successor in the same commune (2017 geography) with the same "
            "normalised name, opened 92 days before to 183 days after the closure; none",
        ),
        Col("successor_siret", "VARCHAR", "The establishment active in to_year (the same siret when still open); NULL without successor"),
        Col("successor_siren", "VARCHAR", "Its operator's SIREN"),
        Col("successor_operator_class", "VARCHAR", "Its operator class in to_year"),
        Col("date_fermeture", "DATE", "Closure date of the facility of origin (NULL if not closed)", "date"),
        Col("successor_date_creation", "DATE", "Opening date of the successor (NULL when still open or without successor)", "date"),
        Col("date_lien", "DATE", "Date of the succession link (method succession_link; NULL otherwise)", "date"),
        Col(
            "continuite_economique",
            "BOOLEAN",
            "INSEE's economic-continuity flag of that link (method succession_link; NULL otherwise): reported, not used to "
            "select links, since a takeover by another operator may lack it while the crèche carries on",
        ),
        FACILITY_SOURCE,
    ),
)

#: The year-on-year transitions behind the merger study's takeover and closure rates: the mart's columns
#: without facility_source (the same macro builds both, see transitions.py).
FACILITY_TRANSITIONS_YEARLY = TableSpec(
    "int.facility_transitions_yearly",
    "Year-on-year transitions of every in-scope EAJE: active on 1 January from_year, classified on 1 January "
    "to_year = from_year + 1 (same rules and columns as marts.facility_transitions). Read by the merger study.",
    FACILITY_TRANSITIONS.key,
    tuple(c for c in FACILITY_TRANSITIONS.columns if c is not FACILITY_SOURCE),
)

FACILITY_DERIVED = (
    ESS_MARKET_SHARE,
    CHILDCARE_SUPPLY,
    MERGER_EFFECT,
    MERGER_EFFECT_EPCI,
    OPERATORS,
    FACILITIES,
    EPCI_INDICATORS,
    FACILITY_TRANSITIONS,
)

SPECS: dict[str, TableSpec] = {
    s.table: s
    for s in (
        FACILITY_TERRITORY_YEARS,
        ESS_MARKET_SHARE,
        CHILDCARE_SUPPLY,
        MERGER_EFFECT,
        MERGER_EFFECT_EPCI,
        OPERATORS,
        FACILITIES,
        EPCI_INDICATORS,
        FACILITY_TRANSITIONS,
        SOURCES,
    )
}
# int.facility_transitions_yearly has its spec above (found by assets.catalog) but no suite of its own: it is
# checked through marts.facility_transitions, built by the same macro, so it is not in SPECS (the checked tables).


def select_list(spec: TableSpec) -> str:
    """``col1, col2, ...`` in spec order, cast to the spec types (so the SQL's final projection is the contract)."""
    return ",\n    ".join(f'cast("{c.name}" as {c.type}) as "{c.name}"' for c in spec.columns)


def markdown(specs: Iterable[TableSpec]) -> str:
    out = []
    for s in specs:
        out.append(f"## `{s.table}`\n\n{s.description}\n\nKey: ({', '.join(s.key)})\n")
        out.append("| column | type | meaning | unit |\n|---|---|---|---|")
        for c in s.columns:
            out.append(f"| `{c.name}` | {c.type} | {c.meaning.replace('|', '/')} | {c.unit} |")
        out.append("")
    return "\n".join(out)
