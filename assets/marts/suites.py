"""Quality suites of the marts tables (used by the blocking checks in defs.py and by the tests).

Beyond types, keys and code formats, the ``Sql`` rules state the invariants an analyst relies on:
shares sum to 1, a territory without facility has undefined (NULL) shares, totals agree across
territorial levels, nothing is dropped between int.facility_years and the marts.
"""

from assets.marts import columns as C
from assets.marts.provenance import FACILITY_SOURCE
from assets.sirene.classification import SCOPE_IN
from assets.common.identifiers import COMMUNE_RE, DEPARTEMENT_RE, EPCI_RE, SIREN_RE, SIRET_RE
from observatory.quality import Between, Columns, InSet, Matches, NotNull, RowCount, Sql, Unique
from observatory.resources import sql_literal

#: Every facility-derived mart: its facility_source is the SIRENE label of marts.sources, on every row.
FACILITY_SOURCE_RULE = Sql(
    "facility_source is the SIRENE label of marts.sources",
    "select facility_source from {table} where facility_source is distinct from "
    f"(select label from marts.sources where source = {sql_literal(FACILITY_SOURCE)}) group by all",
)

FACILITY_TERRITORY_YEARS = [
    Columns(C.FACILITY_TERRITORY_YEARS.types),
    Unique("siret", "annee"),
    Matches("siret", SIRET_RE),
    Matches("siren", SIREN_RE),
    NotNull("sector"),
    NotNull("operator_class"),
    InSet("sector", C.SECTORS),
    InSet("places_method", C.PLACES_METHODS),
    NotNull("scope_reason"),
    InSet("scope_reason", SCOPE_IN),
    Matches("code_commune", COMMUNE_RE),
    Matches("epci_siren", EPCI_RE),
    Matches("epci_siren_2017", EPCI_RE),
    Matches("epci_siren_latest", EPCI_RE),
    Matches("code_departement", DEPARTEMENT_RE),
    InSet("unjoined_reason", C.UNJOINED_REASONS),
    InSet("unjoined_reason_2017", C.UNJOINED_REASONS),
    InSet("unjoined_reason_latest", C.UNJOINED_REASONS),
    Sql(
        "no facility-year dropped or duplicated from int.facility_years",
        "select a, b from (select (select count(*) from {table}) as a, (select count(*) from int.facility_years) as b) where a <> b",
    ),
    Sql(
        "an EPCI or a reason, never both, never neither (year, 2017 and latest geographies)",
        "select siret, annee from {table} where (epci_siren is null) = (unjoined_reason is null) "
        "or (epci_siren_2017 is null) = (unjoined_reason_2017 is null) or (epci_siren_latest is null) = (unjoined_reason_latest is null)",
    ),
    Sql(
        "places known exactly when places_method is not 'none'",
        "select siret, annee from {table} where (places is null) <> (places_method = 'none')",
    ),
    Sql(
        "no micro-crèche above its legal maximum (10 places, 12 from annee 2022 = CAF year 2021)",
        "select siret, annee, places from {table} where type_structure = 'micro_creche' "
        "and places > case when annee >= 2022 then 12 else 10 end + 1e-9",
    ),
    Sql("no facility with negative places", "select siret, annee, places from {table} where places < 0"),
]

_LEVEL_FORMATS = (
    "select territory_level, territory_code from {table} where not ("
    f"(territory_level = 'epci' and regexp_full_match(territory_code, {sql_literal(EPCI_RE[1:-1])})) or "
    f"(territory_level = 'departement' and regexp_full_match(territory_code, {sql_literal(DEPARTEMENT_RE[1:-1])})) or "
    "(territory_level = 'region' and regexp_full_match(territory_code, '[0-9]{2}')) or "
    "(territory_level = 'france' and territory_code = 'FR') or "
    "(territory_level = 'epci' and territory_code = 'hors_epci') or "
    "(territory_level <> 'france' and territory_code = 'non_localise'))"
)

ESS_MARKET_SHARE = [
    Columns(C.ESS_MARKET_SHARE.types),
    FACILITY_SOURCE_RULE,
    RowCount(min_value=1),
    Unique(*C.ESS_MARKET_SHARE.key),
    InSet("geography", C.GEOGRAPHIES),
    InSet("territory_level", C.LEVELS),
    InSet("breakdown", ("sector", "operator_class")),
    InSet("places_method", C.PLACES_METHODS),
    Between("share_facilities", 0, 1),
    Between("share_places", 0, 1),
    Between("places_coverage", 0, 1),
    Sql("territory codes match their level", _LEVEL_FORMATS),
    Sql(
        "shares of facilities sum to 1 per territory, year and breakdown",
        "select geography, annee, territory_level, territory_code, breakdown, sum(share_facilities) as s from {table} "
        "where n_facilities_total > 0 group by all having abs(sum(share_facilities) - 1) > 1e-9",
    ),
    Sql(
        "shares of places sum to 1 where they are published",
        "select geography, annee, territory_level, territory_code, breakdown, sum(share_places) as s from {table} "
        "where share_places is not null group by all having abs(sum(share_places) - 1) > 1e-9",
    ),
    Sql(
        "places are never 0 when unknown: a category with facilities and no known place has NULL places and share of places",
        "select geography, annee, territory_level, territory_code, breakdown, category, n_facilities, places, share_places from {table} "
        "where n_facilities > 0 and places_coverage = 0 and (places is not null or share_places is not null)",
    ),
    Sql(
        "places are 0, not NULL, for a category without facility; places_coverage NULL there",
        "select * from {table} where n_facilities = 0 and (places is distinct from 0 or places_coverage is not null)",
    ),
    Sql(
        f"share_places is NULL when categories with unknown places hold more than {C.UNKNOWN_TOLERANCE:.0%} of the territory's facilities",
        "select geography, annee, territory_level, territory_code, breakdown from {table} group by all "
        f"having sum(n_facilities) filter (where places_coverage = 0) > {C.UNKNOWN_TOLERANCE} * any_value(n_facilities_total) "
        "and count(share_places) > 0",
    ),
    Sql(
        f"small_count says whether the shares rest on fewer than {C.SMALL_COUNT} facilities",
        f"select * from {{table}} where small_count is distinct from (n_facilities_total < {C.SMALL_COUNT})",
    ),
    Sql(
        "places_scope and places_coverage_total agree",
        "select * from {table} where places_scope is distinct from case when n_facilities_total = 0 then 'no_facility' "
        "when places_coverage_total = 0 then 'none' when places_coverage_total = 1 then 'all_facilities' else 'communes_published_by_caf' end",
    ),
    NotNull("territory_name"),
    Sql(
        "no '?' left in a territory name (a character lost by a source)",
        "select distinct annee, territory_level, territory_code, territory_name from {table} where contains(territory_name, '?')",
    ),
    Sql(
        "a territory without facility has NULL shares (undefined), one with facilities has shares",
        "select * from {table} where (n_facilities_total = 0) <> (share_facilities is null)",
    ),
    Sql(
        "category counts add up to the territory total",
        "select geography, annee, territory_level, territory_code, breakdown from {table} "
        "group by all having sum(n_facilities) <> any_value(n_facilities_total) or min(n_facilities_total) <> max(n_facilities_total)",
    ),
    Sql(
        "France = sum of départements = sum of régions, for every category",
        "select geography, annee, breakdown, category, "
        "sum(n_facilities) filter (where territory_level = 'france') as fr, "
        "sum(n_facilities) filter (where territory_level = 'departement') as dep, "
        "sum(n_facilities) filter (where territory_level = 'region') as reg "
        "from {table} group by all having fr <> dep or fr <> reg",
    ),
    Sql(
        "EPCI rows (hors_epci and non_localise included) add up to France, every year and category",
        "select geography, annee, breakdown, category, "
        "sum(n_facilities) filter (where territory_level = 'france') as fr, "
        "sum(n_facilities) filter (where territory_level = 'epci') as epci "
        "from {table} group by all having fr <> epci",
    ),
    Sql(
        "the hors_epci row counts the facilities in communes outside any EPCI",
        "with h as (select geography, annee, n_facilities_total as n from {table} where territory_code = 'hors_epci' and breakdown = 'sector' and category = 'public'), "
        "outside as ("
        "  select 'year' as geography, annee, count(*) as n from int.facility_territory_years where code_departement is not null and epci_siren is null group by all"
        "  union all select 'latest', annee, count(*) from int.facility_territory_years where code_departement_latest is not null and epci_siren_latest is null group by all) "
        "select * from h full join outside using (geography, annee) where coalesce(h.n, 0) <> coalesce(outside.n, 0) and h.annee is not null",
    ),
    Sql(
        "France = every facility-year of that geography's years (the territory grid loses nothing)",
        "with fr as (select geography, annee, n_facilities_total as n from {table} where territory_level = 'france' and breakdown = 'sector' and category = 'public'), "
        "facilities as (select 'year' as geography, annee, count(*) as n from int.facility_territory_years "
        "  where annee in (select annee from {table} where geography = 'year') group by all "
        "  union all select 'latest', annee, count(*) from int.facility_territory_years group by all) "
        "select * from fr full join facilities using (geography, annee) where fr.n is distinct from facilities.n and coalesce(fr.n, facilities.n) > 0",
    ),
]

CHILDCARE_SUPPLY = [
    Columns(C.CHILDCARE_SUPPLY.types),
    FACILITY_SOURCE_RULE,
    RowCount(min_value=1),
    Unique("annee", "epci_siren"),
    Matches("epci_siren", EPCI_RE),
    InSet("caf_status", ("published", "no_commune_published", "caf_year_missing")),
    Between("caf_population_coverage", 0, 1),
    Between("share_places_hors_psu", 0, 1),
    Between("share_facilities_lucratif", 0, 1),
    Sql(
        "a missing CAF year has no CAF figure (never a silent 0)",
        "select annee, epci_siren from {table} where caf_status = 'caf_year_missing' and "
        "coalesce(places_eaje, places_psu, places_hors_psu, enfants_moins_3_ans, n_communes_caf, population_communes_caf) is not null",
    ),
    Sql(
        "a published EPCI has places; others have none",
        "select annee, epci_siren from {table} where (caf_status = 'published') <> (places_eaje is not null)",
    ),
    Sql(
        "EAJE places = PSU + outside PSU (to rounding)",
        "select annee, epci_siren from {table} where abs(places_eaje - places_psu - places_hors_psu) > 1",
    ),
    Sql(
        "our counts in CAF communes never exceed our EPCI counts",
        "select annee, epci_siren from {table} where n_facilities_communes_caf > n_facilities or n_facilities_lucratif > n_facilities",
    ),
    Sql(
        "every EPCI of the reference appears every year",
        "select e.annee, e.epci_siren from stg.epci e anti join {table} t using (annee, epci_siren) "
        "where e.annee between (select min(annee) from {table}) and (select max(annee) from {table})",
    ),
]

MERGER_EFFECT = [
    Columns(C.MERGER_EFFECT.types),
    FACILITY_SOURCE_RULE,
    RowCount(min_value=1),
    Unique(*C.MERGER_EFFECT.key),
    InSet("outcome", ("n_associations", "share_ess", "places_associations", "public_takeovers", "closures")),
    InSet("estimand", ("ecart_relatif_pct", "ecart_relatif_pct_epci", "ecart_par_epci", "ecart_share", "taux_pour_100_2017")),
    InSet("weighting", ("facility", "unit")),
    InSet("row_kind", ("event_time", "pooled", "diagnostic", "sensitivity", "not_estimable")),
    InSet(
        "estimator",
        ("event_study", "did", "pre_test_joint", "pre_trend_slope", "placebo", "leave_one_out", "max_weight_share", "trend_adjusted"),
    ),
    InSet("status", ("estimated", "fragile", "reference", "not_estimable", "pass", "fail")),
    Sql("the 2017 cohort is reported", "select 1 where not exists (select 1 from {table} where cohort = 2017)"),
    Sql(
        "an estimated row has an estimate and an ordered interval",
        "select * from {table} where status in ('estimated', 'fragile') and (estimate is null or ci_low is null or ci_high is null or ci_low > ci_high)",
    ),
    Sql(
        "a fragile row names the failed diagnostics",
        "select * from {table} where status = 'fragile' and (note is null or note not like 'fragile: %')",
    ),
    Sql("the pooled effect averages post-merger years only", "select * from {table} where estimator = 'did' and period_start <= cohort"),
    Sql(
        "a not-estimable row says why and carries no estimate",
        "select * from {table} where status = 'not_estimable' and (note is null or estimate is not null)",
    ),
    Sql(
        "the reference year is 0 by construction",
        "select * from {table} where status = 'reference' and (estimate <> 0 or annee <> base_year)",
    ),
]

MERGER_EFFECT_EPCI = [
    Columns(C.MERGER_EFFECT_EPCI.types),
    FACILITY_SOURCE_RULE,
    Unique("cohort", "epci_siren", "annee"),
    Matches("epci_siren", EPCI_RE),
    InSet("groupe", ("traite", "controle", "exclu")),
    Sql(
        "one predecessor count everywhere: n_predecessors = the EPCI absorbed in marts.epci_lineage (as marts.epci_mergers)",
        "select m.cohort, m.epci_siren, any_value(m.n_predecessors) as n, any_value(k.n_predecessors) as in_mergers from {table} m "
        "join marts.epci_mergers k on k.annee = m.cohort and k.epci_siren = m.epci_siren and k.type_evenement in ('fusion', 'changement_identifiant') "
        "group by all having any_value(m.n_predecessors) <> any_value(k.n_predecessors)",
    ),
    Between("share_ess", 0, 1),
    Sql(
        "an exclusion reason exactly for excluded EPCIs",
        "select cohort, epci_siren from {table} where (groupe = 'exclu') <> (exclusion_reason is not null)",
    ),
    Sql(
        "balanced panel: every EPCI of a cohort has every year",
        "with n as (select cohort, count(distinct annee) as years from {table} group by 1) "
        "select t.cohort, t.epci_siren, count(*) as n from {table} t join n using (cohort) "
        "group by t.cohort, t.epci_siren, n.years having count(*) <> n.years",
    ),
    Sql(
        "treated and control counts agree with marts.merger_effect (the level estimand leaves no EPCI out)",
        "with m as (select distinct cohort, n_treated, n_control from marts.merger_effect "
        "  where outcome = 'n_associations' and estimand = 'ecart_par_epci' and (status <> 'not_estimable' or n_treated > 0) "
        "  and coalesce(note, '') not like '%left out%'), "
        "e as (select cohort, count(distinct epci_siren) filter (where groupe = 'traite') as t, "
        "  count(distinct epci_siren) filter (where groupe = 'controle') as c from {table} group by 1) "
        "select * from m join e using (cohort) where m.n_treated <> e.t or m.n_control <> e.c",
    ),
]

FACILITY_TRANSITIONS = [
    Columns(C.FACILITY_TRANSITIONS.types),
    FACILITY_SOURCE_RULE,
    RowCount(min_value=1),
    Unique(*C.FACILITY_TRANSITIONS.key),
    InSet("transition", C.TRANSITIONS),
    InSet("method", C.TRANSITION_METHODS),
    Sql(
        "a successor exactly when the facility goes on or was taken over",
        "select * from {table} where (successor_siret is null) <> (transition in ('closed', 'left_scope'))",
    ),
    Sql(
        "the method says how the successor was found",
        "select * from {table} where (method = 'same_siret') <> (transition = 'still_open') "
        "or (method = 'none') <> (successor_siret is null)",
    ),
    Sql(
        "every facility of origin is followed to every target year",
        "select from_year, siret from {table} group by all having count(*) <> (select count(distinct to_year) from {table})",
    ),
]

OPERATORS = [
    Columns(C.OPERATORS.types),
    FACILITY_SOURCE_RULE,
    Unique("siren"),
    Matches("siren", SIREN_RE),
    InSet("sector", C.SECTORS),
    Between("n_facilities", 1, None),
    Sql("n_facilities <= n_facilities_ever", "select siren from {table} where n_facilities > n_facilities_ever"),
    Sql(
        "active operators run exactly the current stock (marts.facilities)",
        "select a, b from (select (select sum(n_facilities) from {table} where is_active) as a, "
        "(select count(*) from marts.facilities) as b) where a is distinct from b",
    ),
]

FACILITIES = [
    Columns(C.FACILITIES.types),
    FACILITY_SOURCE_RULE,
    Unique("siret"),
    Matches("siret", SIRET_RE),
    Matches("siren", SIREN_RE),
    Matches("epci_siren", EPCI_RE),
    InSet("sector", C.SECTORS),
    InSet("scope_reason", SCOPE_IN),
    Sql(
        "one stock date, the latest facility year, with all its facilities",
        "select a, b from (select (select count(*) from {table}) as a, (select count(*) from int.facility_territory_years "
        "where annee = (select max(annee) from int.facility_territory_years)) as b) where a <> b "
        "union all select count(distinct annee), null from {table} having count(distinct annee) > 1",
    ),
]

EPCI_INDICATORS = [
    Columns(C.EPCI_INDICATORS.types),
    FACILITY_SOURCE_RULE,
    Unique("epci_siren"),
    Matches("epci_siren", EPCI_RE),
    *[
        Between(c, 0, 1)
        for c in (
            "share_public",
            "share_ess",
            "share_lucratif",
            "share_autre",
            "share_lucratif_2015",
            "share_places_hors_psu",
            "caf_population_coverage",
        )
    ],
    Between("change_share_lucratif_since_2015", -1, 1),
    Sql(
        "sector shares sum to 1 where the EPCI has facilities",
        "select epci_siren from {table} where n_facilities > 0 and abs(share_public + share_ess + share_lucratif + share_autre - 1) > 1e-9",
    ),
    Sql("no share without facility", "select epci_siren from {table} where n_facilities = 0 and share_ess is not null"),
]

_FILES = "select source, f.file, f.sha256, f.size from {table}, unnest(files) as u(f)"

SOURCES = [
    Columns(C.SOURCES.types),
    RowCount(min_value=1),
    Unique("source"),
    *[NotNull(c) for c in ("source", "title", "publisher", "licence", "homepage", "cadence", "mode", "synthetic", "label")],
    InSet("mode", C.MODES),
    InSet("cadence", ("monthly", "yearly")),
    Sql(
        "the facility source is listed",
        f"select 1 where not exists (select 1 from {{table}} where source = {sql_literal(FACILITY_SOURCE)})",
    ),
    Sql("every source lists the files it was read from", "select source from {table} where coalesce(len(files), 0) = 0"),
    Sql(
        "every file has a sha256 (64 hex digits) and a size",
        f"select * from ({_FILES}) where not coalesce(regexp_full_match(sha256, '[0-9a-f]{{64}}'), false) or size is null or size < 0",
    ),
    Sql(
        "a synthetic source says SYNTHETIC in its label, a real one does not",
        "select source, synthetic, label from {table} where synthetic <> contains(label, 'SYNTHETIC')",
    ),
    Sql(
        "used_by names marts tables",
        "select source, m from (select source, unnest(used_by) as m from {table}) "
        "where not regexp_full_match(m, 'marts[.][a-z][a-z0-9_]*') or m = 'marts.sources'",
    ),
]
