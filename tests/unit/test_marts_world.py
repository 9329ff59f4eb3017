"""Exact values of every mart on the hand-made world of tests/fixtures/marts/world.sql.

The world (territory 2015-2018, facilities 2012-2018): EPCIs 200000001 {01001, 01002} and 200000002
{01003} merge on 1 January 2017 into 200000011; 200000003 {01004}; 200000004 {02001, 02002} where 02002
is absorbed by 02001 in 2017 (a commune merger, not an EPCI change); 200000005 {75056, facilities
recorded by arrondissement}; 29083 outside any EPCI. Operators: 100000001 association, 100000002
commune, 100000003 company, 100000004 SCIC, 100000005 missing from the classification. SIRENE is the
embedded synthetic sample (tests/sources_fixture.py), so every facility figure is labelled SYNTHETIC.
"""

from pathlib import Path

import duckdb
import pytest

from assets.marts import build, merger, suites
from assets.marts import columns as C
from assets.sirene.source import SPEC as SIRENE
from observatory.quality import run_suite
from observatory.resources import Downloader
from observatory.sources import read_source
from tests.sources_fixture import SIRENE_DATA_DATE, embed

WORLD = Path(__file__).resolve().parents[1] / "fixtures" / "marts" / "world.sql"
F01, F02, F03, F04, F05 = "10000000100011", "10000000200012", "10000000300013", "10000000100024", "10000000300025"
F06, F07, F08, F09, F10 = "10000000100036", "10000000200047", "10000000400018", "10000000500019", "10000000400020"


class World:
    """The connection and the builders' summaries."""

    def __init__(self, raw_dir: Path):
        self.db = duckdb.connect()
        self.db.execute(WORLD.read_text())
        embed(raw_dir, SIRENE, synthetic=True, data_date=SIRENE_DATA_DATE)
        sirene = read_source(Downloader(raw_dir=str(raw_dir)), SIRENE)
        self.stats = build.rebuild_marts(self.db, seed=3, n_boot=50, sources=[sirene], used_by={"sirene": ["marts.facilities"]})

    def execute(self, *args):
        return self.db.execute(*args)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("raw"))
    yield w
    w.db.close()


def q(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


# --------------------------------------------------------------------------- int.facility_territory_years


def test_every_facility_year_is_kept_and_placed_or_explained(con):
    assert q(con, "select count(*) from int.facility_territory_years") == [(45,)]
    fty = con.stats["int.facility_territory_years"]
    assert fty["unjoined_by_reason"]["unjoined_reason"] == {"no_year_geography": 13, "commune_outside_epci": 4, "commune_unknown": 2}
    assert fty["epci_year_geography"] == {"rows": 32, "joined": 26, "share_joined": round(26 / 32, 6)}
    assert fty["operator_missing"] == 1


def test_year_geography_fixed_2017_and_latest_perimeters(con):
    row = lambda siret, y: q(
        con,
        "select code_commune, epci_siren, code_departement, unjoined_reason, code_commune_2017, epci_siren_2017, "
        "epci_siren_latest, unjoined_reason_latest from int.facility_territory_years where siret = ? and annee = ?",
        siret,
        y,
    )[0]
    # a commune absorbed in 2017: its 2016 EPCI, then its new code, same EPCI
    assert row(F04, 2016) == ("02002", "200000004", "02", None, "02001", "200000004", "200000004", None)
    assert row(F04, 2017) == ("02001", "200000004", "02", None, "02001", "200000004", "200000004", None)
    # before 2015: no year geography, but the fixed perimeters work
    assert row(F01, 2013) == ("01001", None, None, "no_year_geography", "01001", "200000011", "200000011", None)
    # 2016: the predecessor EPCI in the year geography, the merged EPCI on the 2017 perimeters
    assert row(F02, 2016)[1] == "200000001" and row(F02, 2016)[5] == "200000011"
    # an island commune: département known, no EPCI, with the reason
    assert row(F07, 2017) == ("29083", None, "29", "commune_outside_epci", "29083", None, None, "commune_outside_epci")
    assert row(F08, 2018)[3] == "commune_unknown" and row(F08, 2018)[7] == "commune_unknown"
    # Paris recorded by arrondissement
    assert row(F06, 2014)[4:7] == ("75056", "200000005", "200000005")


def test_operator_classification_joined_and_missing_operator_flagged(con):
    assert q(
        con, "select operator_class, sector, operator_rule from int.facility_territory_years where siret = ? and annee = 2018", F09
    ) == [("indetermine", "indetermine", "unite_legale_absente")]
    assert q(con, "select operator_class, sector from int.facility_territory_years where siret = ? and annee = 2018", F10) == [
        ("ess_cooperative", "ess")
    ]


def test_places_are_caf_commune_places_shared_among_the_communes_facilities(con):
    places = dict(q(con, "select siret || '/' || annee, places from int.facility_territory_years where places_method = 'estimated'"))
    assert places == {
        f"{F01}/2017": 60.0,  # CAF December 2016, 01001: 60 places, one facility
        f"{F05}/2017": 60.0,  # Paris: arrondissements summed upstream
        f"{F01}/2018": 45.0,  # December 2017: 90 places, two facilities (F01, F09)
        f"{F09}/2018": 45.0,
        f"{F05}/2018": 80.0,
        f"{F04}/2018": 30.0,  # CAF 2017 code 02002 brought to the 2018 geography (02001)
    }
    assert con.stats["int.facility_territory_years"]["caf_places_share_allocated"] == 1.0


def test_a_micro_creche_gets_at_most_its_legal_capacity():
    db = duckdb.connect()
    db.execute(WORLD.read_text())
    # 01003 on 1 January 2018: F03 (micro-crèche) plus a new crèche; CAF December 2017: 50 places
    db.execute(
        "insert into int.facility_years select '10000000300099', siren, annee, code_commune_releve, code_commune, "
        "code_commune_method, 'F11 creche Gamma', date_creation, date_fermeture, 'creche', 'nom_eaje' from int.facility_years "
        "where siret = ? and annee = 2018",
        [F03],
    )
    db.execute(
        "insert into stg.caf_places_commune select 2017, '01003', 'GAMMA', '200000011', '01', 40, 10, 50, 0, 0, 0, 0, 50, 1, 'fixture'"
    )
    build.build_facility_territory_years(db)
    places = dict(
        db.execute("select siret, places from int.facility_territory_years where annee = 2018 and code_commune = '01003'").fetchall()
    )
    assert places == {F03: 10.0, "10000000300099": 40.0}  # not 25 / 25
    # the scope reason of each facility-year travels with it (F11 was taken in by its name)
    assert dict(
        db.execute("select siret, scope_reason from int.facility_territory_years where annee = 2018 and code_commune = '01003'").fetchall()
    ) == {F03: "naf_88_91A", "10000000300099": "nom_eaje"}
    # from 2022 the cap is 12 places
    assert build.MICRO_CRECHE_CAP == {"micro_cap_before_2022": 10, "micro_cap_from_2022": 12}


def test_places_a_cap_leaves_over_stay_unallocated_and_are_reported():
    db = duckdb.connect()
    db.execute(WORLD.read_text())
    # 01003 on 1 January 2018: F03, a micro-crèche, alone; CAF December 2017: 50 places -> 10 given, 40 left over
    db.execute(
        "insert into stg.caf_places_commune select 2017, '01003', 'GAMMA', '200000011', '01', 40, 10, 50, 0, 0, 0, 0, 50, 1, 'fixture'"
    )
    stats = build.build_facility_territory_years(db)
    assert db.execute("select places from int.facility_territory_years where siret = ? and annee = 2018", [F03]).fetchall() == [(10.0,)]
    assert stats["caf_places_unallocated_by_cap"] == {"2018": 40.0}
    assert not [o for o in run_suite(db, "int.facility_territory_years", suites.FACILITY_TERRITORY_YEARS) if not o.success]


# --------------------------------------------------------------------------- marts.ess_market_share


def share(con, geography, annee, level, code, category, breakdown="sector"):
    return q(
        con,
        "select n_facilities, n_facilities_total, share_facilities, places, share_places, places_method, places_coverage "
        "from marts.ess_market_share where geography = ? and annee = ? and territory_level = ? and territory_code = ? "
        "and breakdown = ? and category = ?",
        geography,
        annee,
        level,
        code,
        breakdown,
        category,
    )[0]


def test_exact_shares_by_epci_and_france(con):
    assert share(con, "year", 2017, "epci", "200000011", "ess")[:3] == (1, 3, pytest.approx(1 / 3))
    assert share(con, "year", 2017, "epci", "200000011", "lucratif")[:3] == (1, 3, pytest.approx(1 / 3))
    # F08 has no commune: counted in France (and in the 'non_localise' row of each level), never dropped
    assert share(con, "year", 2017, "france", "FR", "ess")[:3] == (4, 8, 0.5)
    assert share(con, "year", 2017, "departement", "non_localise", "ess")[:3] == (1, 1, 1.0)
    assert share(con, "year", 2017, "epci", "non_localise", "ess")[:3] == (1, 1, 1.0)
    assert share(con, "year", 2016, "epci", "200000001", "public")[:3] == (1, 2, 0.5)
    assert share(con, "year", 2018, "epci", "200000011", "indetermine", "sector")[:3] == (1, 4, 0.25)
    assert share(con, "year", 2017, "epci", "200000011", "ess_association", "operator_class")[:3] == (1, 3, pytest.approx(1 / 3))


def test_a_territory_without_facility_has_undefined_shares_not_zero(con):
    # 01003 (EPCI 200000002) has its first facility in 2016
    assert share(con, "year", 2015, "epci", "200000002", "ess")[:3] == (0, 0, None)
    assert share(con, "year", 2016, "epci", "200000002", "lucratif")[:3] == (1, 1, 1.0)
    # a category absent from a territory with facilities is a true 0
    assert share(con, "year", 2017, "epci", "200000003", "lucratif")[:3] == (0, 1, 0.0)


def test_latest_perimeters_give_time_series_before_2015(con):
    assert share(con, "latest", 2013, "epci", "200000011", "public")[:3] == (1, 2, 0.5)  # F01, F02 on today's map
    assert share(con, "latest", 2013, "departement", "75", "ess")[:3] == (1, 1, 1.0)
    assert q(con, "select count(*) from marts.ess_market_share where geography = 'year' and annee < 2015") == [(0,)]


def test_places_shares_and_coverage(con):
    # 1 January 2018: places F01 45 (ess), F04 30 (ess), F05 80 (lucratif), F09 45 (indetermine); 9 facilities,
    # the 2 public ones (F02, F07) without places
    ess = share(con, "year", 2018, "france", "FR", "ess")
    # ess: 4 facilities, 2 with places; public places unknown for 2 of 9 facilities (> 1 %): no share of places
    assert ess[3:] == (75.0, None, "estimated", 0.5)
    assert share(con, "year", 2018, "france", "FR", "public")[3:] == (None, None, "estimated", 0.0)  # unknown, never 0
    assert share(con, "year", 2016, "france", "FR", "ess")[3:] == (None, None, "none", 0.0)  # no CAF year before December 2016
    # a category without facility has 0 places (known), its coverage undefined
    assert share(con, "year", 2018, "france", "FR", "autre_prive")[3:] == (0.0, None, "estimated", None)
    fr = q(
        con,
        "select places_total, places_coverage_total, places_scope from marts.ess_market_share where geography = 'year' "
        "and annee = 2018 and territory_code = 'FR' and breakdown = 'sector' and category = 'ess'",
    )
    assert fr == [(200.0, pytest.approx(4 / 9), "communes_published_by_caf")]


def test_share_of_places_where_every_category_is_known(con):
    # département 75 in 2018: F05 (lucratif, 80 places) alone -> a share of places of 1, all its facilities covered
    row = q(
        con,
        "select n_facilities, places, share_places, places_coverage, places_coverage_total, places_scope, small_count "
        "from marts.ess_market_share where geography = 'year' and annee = 2018 and territory_code = '75' "
        "and breakdown = 'sector' and category = 'lucratif'",
    )
    assert row == [(1, 80.0, 1.0, 1.0, 1.0, "all_facilities", True)]


def test_hors_epci_rows_make_epci_rows_add_up_to_france(con):
    # 29083 belongs to no EPCI: F07 (public) is in the EPCI level's 'hors_epci' row
    assert share(con, "year", 2018, "epci", "hors_epci", "public")[:3] == (1, 1, 1.0)
    totals = q(
        con,
        "select annee, sum(n_facilities) filter (where territory_level = 'epci'), "
        "sum(n_facilities) filter (where territory_level = 'france') from marts.ess_market_share "
        "where geography = 'year' and breakdown = 'sector' group by 1 order by 1",
    )
    assert totals == [(2015, 7, 7), (2016, 8, 8), (2017, 8, 8), (2018, 9, 9)]
    names = dict(
        q(
            con,
            "select territory_code, any_value(territory_name) from marts.ess_market_share "
            "where territory_code in ('hors_epci', 'non_localise') group by 1",
        )
    )
    assert names == {"hors_epci": "Communes hors EPCI", "non_localise": "Non localisé"}
    # not an EPCI: no row in the EPCI indicators
    assert q(con, "select count(*) from marts.epci_indicators where epci_siren in ('hors_epci', 'non_localise')") == [(0,)]


def test_small_count_flags_shares_on_fewer_than_5_facilities(con):
    rows = dict(
        q(
            con,
            "select territory_code, bool_and(small_count) from marts.ess_market_share where geography = 'year' "
            "and annee = 2018 and territory_level in ('epci', 'france') group by 1",
        )
    )
    assert rows == {
        "200000011": True,
        "200000003": True,
        "200000004": True,
        "200000005": True,
        "hors_epci": True,
        "non_localise": True,
        "FR": False,
    }


def test_epci_names_damaged_by_a_source_are_repaired_and_recorded(con):
    names = dict(
        q(
            con,
            "select annee, any_value(territory_name) from marts.ess_market_share where geography = 'year' "
            "and territory_code = '200000003' group by 1",
        )
    )
    assert names == {2015: "CC Trois - Deux", 2016: "CC Trois", 2017: "CC Trois - Rives", 2018: "CC Trois"}
    assert q(con, "select distinct epci_nom from marts.childcare_supply where epci_siren = '200000003' and annee = 2017") == [
        ("CC Trois - Rives",)
    ]
    assert con.stats["marts.ess_market_share"]["epci_name_repairs"] == [
        {
            "annee": 2015,
            "epci_siren": "200000003",
            "epci_nom_source": "CC Trois ? Deux",
            "epci_nom": "CC Trois - Deux",
            "name_repair": "substitution",
        },
        {
            "annee": 2017,
            "epci_siren": "200000003",
            "epci_nom_source": "CC Trois ? Rives",
            "epci_nom": "CC Trois - Rives",
            "name_repair": "stg.dgcl_epci_membership 2017: CC Trois - Rives",
        },
    ]


def test_territory_names(con):
    names = dict(q(con, "select territory_code, any_value(territory_name) from marts.ess_market_share where annee = 2018 group by 1"))
    assert names["200000011"] == "CC Fusion" and names["01"] == "Ain" and names["84"] == "Auvergne-Rhône-Alpes" and names["FR"] == "France"


# --------------------------------------------------------------------------- marts.childcare_supply


def test_childcare_supply_exact_and_missing_caf_years_explicit(con):
    cs = lambda y, e: q(
        con,
        "select caf_status, n_communes, n_communes_caf, caf_population_coverage, places_psu, places_hors_psu, places_eaje, "
        "share_places_hors_psu, enfants_moins_3_ans, taux_couverture_eaje, n_facilities, n_facilities_communes_caf, "
        "n_facilities_lucratif from marts.childcare_supply where annee = ? and epci_siren = ?",
        y,
        e,
    )[0]
    assert cs(2017, "200000011") == (
        "published",
        3,
        1,
        pytest.approx(1000 / 1800),
        50.0,
        10.0,
        60.0,
        pytest.approx(1 / 6),
        200.0,
        30.0,
        3,
        1,
        1,
    )
    assert cs(2018, "200000011")[:2] + cs(2018, "200000011")[10:] == ("published", 3, 4, 2, 1)
    assert cs(2018, "200000004")[:3] + cs(2018, "200000004")[6:7] == ("published", 1, 1, 30.0)  # CAF's 02002 -> 02001
    assert cs(2017, "200000003")[:4] == ("no_commune_published", 1, 0, 0.0)
    assert cs(2016, "200000001")[:5] == ("caf_year_missing", 2, None, None, None)
    assert cs(2018, "200000005")[8:10] == (None, None)  # Paris 2017: children not derivable -> no rate, not 0
    assert con.stats["marts.childcare_supply"]["years_without_caf"] == [2015, 2016]


# --------------------------------------------------------------------------- merger study


def test_merger_groups_treated_control_and_exclusions(con):
    groups = dict(
        q(
            con,
            "select epci_siren, groupe || coalesce(':' || exclusion_reason, '') || ':' || n_predecessors "
            "from marts.merger_effect_epci where cohort = 2017 and annee = 2016",
        )
    )
    # 200000004 keeps its perimeter although one of its communes was absorbed: a control
    assert groups == {"200000011": "traite:2", "200000003": "controle:1", "200000004": "controle:1", "200000005": "controle:1"}
    assert con.stats["marts.merger_effect"]["cohorts"][2016] == {"fusions": 0, "exclu": 2, "controle": 3}


def test_merger_panel_counts_on_fixed_2017_perimeters(con):
    panel = q(
        con,
        "select annee, n_associations, n_facilities, n_ess, index_associations from marts.merger_effect_epci "
        "where cohort = 2017 and epci_siren = '200000011' order by annee",
    )
    assert panel[0] == (2012, 1, 2, 1, 100.0)
    assert panel[4] == (2016, 1, 3, 1, 100.0)
    assert panel[6] == (2018, 1, 4, 1, 100.0)
    paris = q(
        con,
        "select annee, n_associations, index_associations from marts.merger_effect_epci "
        "where cohort = 2017 and epci_siren = '200000005' and annee in (2016, 2017)",
    )
    # F06 closed in 2016: no associative EAJE on the merger day (the base year), so no index (and no relative change)
    assert sorted(paris) == [(2016, 1, None), (2017, 0, None)]


def test_too_few_treated_is_reported_not_estimated(con):
    rows = q(con, "select outcome, estimand, status, n_treated, n_control, note from marts.merger_effect where cohort = 2017")
    assert len(rows) == len(merger.OUTCOMES) and {r[2] for r in rows} == {"not_estimable"}
    assert all(r[3:5] == (1, 3) and "fewer than 10 treated" in r[5] for r in rows)
    no_fusion = q(con, "select note from marts.merger_effect where cohort = 2018")
    assert no_fusion and all(n[0] == "no EPCI formed by fusion on 1 January 2018" for n in no_fusion)


# --------------------------------------------------------------------------- operators, facilities, indicators


def test_operators(con):
    rows = {
        r[0]: r[1:]
        for r in q(
            con,
            "select siren, operator_class, is_active, first_year, last_year, n_facilities, "
            "n_facilities_ever, n_epci, n_departements, departements from marts.operators",
        )
    }
    assert rows["100000001"] == ("ess_association", True, 2012, 2018, 2, 3, 2, 2, "01, 02")
    assert rows["100000005"] == ("indetermine", True, 2018, 2018, 1, 1, 1, 1, "01")
    assert len(rows) == 5


def test_facilities_current_stock(con):
    assert q(con, "select count(*), min(annee), max(annee) from marts.facilities") == [(9, 2018, 2018)]
    assert q(con, "select code_commune, nom_commune, epci_siren, epci_nom, first_year from marts.facilities where siret = ?", F04) == [
        ("02001", "Epsilon", "200000004", "CA Quatre", 2012)
    ]
    assert q(con, "select epci_siren, unjoined_reason from marts.facilities where siret = ?", F07) == [(None, "commune_outside_epci")]


def test_epci_indicators(con):
    row = q(
        con,
        "select n_facilities, share_public, share_ess, share_lucratif, share_autre, n_associations, n_facilities_2015, "
        "share_lucratif_2015, change_share_lucratif_since_2015, caf_annee, places_eaje_caf, share_places_hors_psu, has_geometry "
        "from marts.epci_indicators where epci_siren = '200000011'",
    )[0]
    # 2015 on the same (latest) perimeter: F01 and F02, none for-profit; CAF December 2017 of 01001
    assert row == (4, 0.25, 0.25, 0.25, 0.25, 1, 2, 0.0, 0.25, 2017, 90.0, pytest.approx(20 / 90), False)


# --------------------------------------------------------------------------- provenance


def test_every_facility_mart_says_its_figures_come_from_the_synthetic_sample(con):
    assert q(con, "select source, mode, synthetic, label from marts.sources") == [
        ("sirene", "embedded", True, "SIRENE SYNTHETIC sample (data date 2026-10-31)")
    ]
    for spec in C.FACILITY_DERIVED:
        assert spec.names[-1] == "facility_source"
        assert q(con, f"select distinct facility_source from {spec.table}") == [("SIRENE SYNTHETIC sample (data date 2026-10-31)",)], (
            spec.table
        )
    assert list(con.stats["timings"])[0] == "marts.sources"  # built first: the facility marts read their label there


# --------------------------------------------------------------------------- checks pass here, and catch what they should


SUITES = {
    "int.facility_territory_years": suites.FACILITY_TERRITORY_YEARS,
    "marts.ess_market_share": suites.ESS_MARKET_SHARE,
    "marts.childcare_supply": suites.CHILDCARE_SUPPLY,
    "marts.merger_effect": suites.MERGER_EFFECT,
    "marts.merger_effect_epci": suites.MERGER_EFFECT_EPCI,
    "marts.operators": suites.OPERATORS,
    "marts.facilities": suites.FACILITIES,
    "marts.epci_indicators": suites.EPCI_INDICATORS,
    "marts.sources": suites.SOURCES,
}


def test_every_suite_passes_on_the_world(con):
    failed = [(t, o.name, o.examples[:2]) for t, s in SUITES.items() for o in run_suite(con.db, t, s) if not o.success]
    assert failed == []


def _sql_outcome(con, table, name):
    spec = next(s for s in SUITES[table] if getattr(s, "name", "") == name)
    return run_suite(con.db, table, [spec])[0]


@pytest.mark.parametrize(
    "table, corruption, rule, n_failing",
    [
        (
            "marts.ess_market_share",
            "update {t} set share_facilities = 0.5 where geography = 'year' and annee = 2017 and territory_code = '200000011' and category = 'ess'",
            "shares of facilities sum to 1 per territory, year and breakdown",
            1,
        ),
        (
            "marts.ess_market_share",
            "update {t} set share_facilities = 0 where n_facilities_total = 0 and annee = 2015 and territory_code = '200000002'",
            "a territory without facility has NULL shares (undefined), one with facilities has shares",
            19,
        ),
        (
            "marts.ess_market_share",
            "delete from {t} where territory_level = 'departement' and territory_code = '75' and geography = 'year'",
            # Paris had F05 (lucratif) 2015-2018 and F06 (association) 2015-2016: 6 sector + 6 class rows disagree
            "France = sum of départements = sum of régions, for every category",
            12,
        ),
        (
            "marts.ess_market_share",
            "update {t} set n_facilities = n_facilities + 1, n_facilities_total = n_facilities_total + 1 "
            "where territory_level = 'epci' and territory_code = '200000005' and geography = 'latest' and annee = 2018 "
            "and breakdown = 'sector' and category = 'lucratif'",
            "EPCI rows (hors_epci and non_localise included) add up to France, every year and category",
            1,
        ),
        (
            "marts.ess_market_share",
            "update {t} set places = 0 where geography = 'year' and annee = 2018 and territory_code = 'FR' and breakdown = 'sector' and category = 'public'",
            "places are never 0 when unknown: a category with facilities and no known place has NULL places and share of places",
            1,
        ),
        (
            "marts.ess_market_share",
            "update {t} set small_count = false where geography = 'year' and annee = 2018 and territory_code = 'hors_epci'",
            "small_count says whether the shares rest on fewer than 5 facilities",
            19,
        ),
        (
            "marts.ess_market_share",
            "update {t} set territory_name = 'CC du Val d''Arly ? Com''Arly' where territory_code = '200000011'",
            "no '?' left in a territory name (a character lost by a source)",
            7,
        ),
        (
            "marts.childcare_supply",
            "update {t} set places_eaje = 0, places_psu = 0, places_hors_psu = 0 where annee = 2016",
            "a missing CAF year has no CAF figure (never a silent 0)",
            5,
        ),
        (
            "int.facility_territory_years",
            "delete from {t} where siret = '10000000100011' and annee = 2012",
            "no facility-year dropped or duplicated from int.facility_years",
            1,
        ),
        (
            "int.facility_territory_years",
            "update {t} set unjoined_reason = null where siret = '10000000200047'",
            "an EPCI or a reason, never both, never neither (year, 2017 and latest geographies)",
            4,
        ),
        (
            "marts.operators",
            "update {t} set n_facilities = n_facilities + 1 where siren = '100000002'",
            "active operators run exactly the current stock (marts.facilities)",
            1,
        ),
    ],
)
def test_checks_catch_corrupted_tables(con, table, corruption, rule, n_failing):
    assert _sql_outcome(con, table, rule).success
    con.execute("begin transaction")
    try:
        con.execute(corruption.format(t=table))
        outcome = _sql_outcome(con, table, rule)
        assert not outcome.success and outcome.unexpected_count == n_failing
    finally:
        con.execute("rollback")
