"""Invariants of the territory tables built from the real embedded data (checks included).

Read from the session's one embedded run (``embedded_world``, tests/conftest.py).
"""

import dagster as dg
import pytest

from assets.insee_epci.checks import ISLANDS, OFFICIAL_EPCI_COUNT
from test_territory_graph import TERRITORY_CHECKS
from tests.readme import readme_queries


@pytest.fixture(scope="module")
def built(embedded_world):
    """The session's one embedded run (tests/conftest.py), as (result, build database)."""
    return embedded_world.result, embedded_world.build


def _meta(result, step: str, key: str):
    return result.asset_materializations_for_node(step)[0].metadata[key].value


def test_graph_and_every_blocking_check_pass(built):
    result, _ = built
    failed_steps = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failed_steps == []
    territory_keys = {k for c in TERRITORY_CHECKS for k in c.check_keys}
    evaluations = [e for e in result.get_asset_check_evaluations() if dg.AssetCheckKey(e.asset_key, e.check_name) in territory_keys]
    assert len(evaluations) == len(territory_keys)
    assert [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed] == []


def test_epci_count_per_year_is_the_official_count_plus_lyon(built):
    _, con = built
    rows = con.execute(
        "select annee, count(*) filter (where epci_a_fiscalite_propre), count(*) from stg.epci group by 1 order by 1"
    ).fetchall()
    assert rows == [(y, n, n + 1) for y, n in sorted(OFFICIAL_EPCI_COUNT.items())]


def test_every_commune_belongs_to_one_epci_or_is_a_known_exception(built):
    _, con = built
    assert con.execute("select count(*) from stg.communes c anti join stg.epci_membership m using (annee, code_commune)").fetchall() == [
        (0,)
    ]
    outside = dict(con.execute("select annee, count(*) from stg.epci_membership where epci_siren is null group by 1").fetchall())
    assert outside == {2015: 70, 2016: 27, 2017: 5, **{y: 4 for y in range(2018, 2027)}}
    islands = con.execute(
        "select distinct code_commune from stg.epci_membership where annee >= 2018 and epci_siren is null order by 1"
    ).fetchall()
    assert [c for (c,) in islands] == sorted(ISLANDS)


def test_2019_reconciliation_and_dgcl_cross_check(built):
    result, _ = built
    rec = _meta(result, "stg__epci_membership", "reconciliation")
    assert list(rec) == ["2019"]  # the one year both INSEE and Etalab cover in the embedded plans
    rec = rec["2019"]
    assert (rec["different_epci"], rec["only_in_insee"], rec["only_in_etalab"]) == (0, 4, 0)
    assert sorted(rec["only_in_insee_examples"]) == sorted(ISLANDS)
    dgcl = _meta(result, "stg__epci_membership", "dgcl_cross_check")
    assert dgcl["2017"]["different_epci"] == 0 and dgcl["2017"]["communes_compared"] == 35411
    assert dgcl["2016"]["different_epci"] <= 1
    fixes = _meta(result, "stg__dgcl_epci_membership", "fixes")
    assert fixes["insee: zero-padded to 5 characters"]["count"] > 3000  # départements 01-09 in every year
    code_fixes = _meta(result, "stg__epci_membership", "code_fixes")
    assert [(f["annee"], f["code_source"], f["code_commune"]) for f in code_fixes] == [(2015, "14697", "14472")]


def test_pays_basque_is_a_2017_fusion_of_ten_epci(built):
    _, con = built
    row = con.execute(
        "select n_predecessors, n_communes, perimetre_identique, list_contains(predecessors, '246400030') "
        "from marts.epci_mergers where annee = 2017 and type_evenement = 'fusion' and epci_siren = '200067106'"
    ).fetchall()
    assert row == [(10, 158, True, True)]
    assert con.execute("select count(*) from marts.epci_mergers where annee = 2017 and type_evenement = 'fusion'").fetchall()[0][0] > 400


def test_commune_mergers_alone_are_not_epci_changes(built):
    _, con = built
    # 2018 -> 2019: 626 passage rows (communes nouvelles). A commune nouvelle inside one EPCI leaves no event:
    # every commune named by a 2019 event changed EPCI (or came from none).
    rows = con.execute("""
        select count(*) from marts.epci_mergers m, unnest(m.communes) c(code)
        where m.annee = 2019 and m.type_evenement in ('transfert', 'extension')
          and exists (select 1 from marts.commune_epci x join stg.epci_membership p on p.annee = 2018 and p.code_commune = x.code_commune_annee
                      where x.code_commune = c.code and x.annee = 2018 and p.epci_siren = m.epci_siren and x.method = 'identique')
    """).fetchall()
    assert rows == [(0,)]


def test_commune_x_in_year_y_for_every_year(built):
    _, con = built
    bayonne = con.execute("select annee, epci_siren from marts.commune_epci where code_commune = '64102' order by annee").fetchall()
    assert bayonne == [(y, "246400030" if y <= 2016 else "200067106") for y in range(2015, 2027)]
    parves = con.execute(
        "select annee, code_commune_annee, method, estimated from marts.commune_epci where code_commune = '01340' order by annee"
    ).fetchall()
    assert parves[0] == (2015, "01340", "identique", False)
    assert all(r[1:] == ("01015", "fusion", False) for r in parves[1:])
    # restored on 1 January 2025 out of Neussargues en Pinatelle (15141): inside it before
    assert con.execute(
        "select code_commune_annee, method, estimated from int.commune_code_map where code_commune = '15171' and annee = 2024"
    ).fetchall() == [("15141", "scission_origine", False)]


def test_polygons_years_zones_and_crs(built):
    _, con = built
    rows = con.execute("select annee, zone, any_value(crs), count(*) from int.epci_polygons group by all order by all").fetchall()
    assert {(y, z) for y, z, _, _ in rows} == {
        (y, z) for y in (2016, 2017, 2018, 2021, 2024) for z in ("metro", "971", "972", "973", "974", "976")
    }
    assert {z: c for _, z, c, _ in rows} == {"metro": 2154, "971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}
    metro = dict(con.execute("select annee, sum(area_km2) from int.epci_polygons where zone = 'metro' group by 1").fetchall())
    assert all(540_000 < a < 552_000 for a in metro.values())  # metropolitan France, about 549,000 km2


def test_epci_mergers_natural_key_and_one_predecessor_count(built):
    _, con = built
    assert con.execute(
        "select count(*) from (select annee, type_evenement, epci_siren from marts.epci_mergers group by all having count(*) > 1)"
    ).fetchall() == [(0,)]
    # Grand Reims (2017): nine absorbed EPCI; the CC de la Champagne Picarde gave one commune (a transfer), not a predecessor
    reims = con.execute(
        "select type_evenement, n_predecessors from marts.epci_mergers where annee = 2017 and epci_siren = '200067213' order by 1"
    ).fetchall()
    assert reims == [("fusion", 9), ("transfert", 1)]
    absorbed = con.execute(
        "select count(*) filter (where absorbed), count(*) from marts.epci_lineage where annee = 2017 and epci_siren_apres = '200067213'"
    ).fetchall()
    assert absorbed == [(9, 10)]


def test_the_2017_wave_reconciles_with_bis_113(built):
    _, con = built
    ops = con.execute(
        "select item, n_official, n_observed, n_compatible_min, n_compatible_max, status from marts.epci_mergers_reconciliation "
        "where annee = 2017 and kind = 'operation' order by item"
    ).fetchall()
    assert ops == [
        ("dissolution", 76, 3, 3, 155, "compatible"),
        ("fusion", 493, 463, 420, 533, "compatible"),
        ("total", 573, 472, 428, 694, "compatible"),
        ("transformation", 4, 6, 5, 6, "documented_difference"),
    ]
    # The closure in the reference notes: 1,220 EPCI of 2016 gone, 424 new SIRENs (420 fusions + 4 identifier changes)
    gone = con.execute(
        "select count(*) from stg.epci a where annee = 2016 and not exists (select 1 from stg.epci b where b.annee = 2017 and b.epci_siren = a.epci_siren)"
    ).fetchall()
    new = con.execute(
        "select count(*) from stg.epci a where annee = 2017 and not exists (select 1 from stg.epci b where b.annee = 2016 and b.epci_siren = a.epci_siren)"
    ).fetchall()
    assert (gone, new) == ([(1220,)], [(424,)])
    kept = con.execute(
        "select count(*) from marts.epci_mergers_reconciliation_epci where annee = 2017 and item = 'fusion' and not certain "
        "and type_evenement not like '%changement_identifiant%'"
    ).fetchall()
    assert kept == [(109,)]
    # the five same-perimeter transformations: the four of BIS n°113 and the CA de Longwy
    certain = con.execute(
        "select epci_siren from marts.epci_mergers_reconciliation_epci where annee = 2017 and item = 'transformation' and certain order by 1"
    ).fetchall()
    assert [s for (s,) in certain] == ["243700754", "244500468", "245400262", "245400676", "246300701"]


def test_counts_by_nature_match_the_official_figures_every_year(built):
    _, con = built
    rows = con.execute(
        "select annee, item, n_official, n_observed, status from marts.epci_mergers_reconciliation where kind = 'nature' "
        "and status <> 'equal' order by 1, 2"
    ).fetchall()
    assert rows == [
        (2017, "CA", 218, 219, "documented_difference"),
        (2017, "CC", 1019, 1018, "documented_difference"),
        (2026, "CA", None, 230, "no_official_figure"),
        (2026, "CC", None, 989, "no_official_figure"),
        (2026, "CU", None, 14, "no_official_figure"),
        (2026, "ME", None, 21, "no_official_figure"),
    ]
    equal = con.execute(
        "select count(distinct annee) from marts.epci_mergers_reconciliation where kind = 'nature' and item = 'CC' and status = 'equal'"
    ).fetchall()
    assert equal == [(10,)]  # 2015-2025 but 2017


def test_the_readme_reconciliation_query_answers(built):
    _, con = built
    rows = con.execute(readme_queries()["reconciliation_2017"]).fetchall()
    assert [(r[0], r[1], r[2], r[3], r[6]) for r in rows if r[0] == "operation"] == [
        ("operation", "dissolution", 76, 3, "compatible"),
        ("operation", "fusion", 493, 463, "compatible"),
        ("operation", "total", 573, 472, "compatible"),
        ("operation", "transformation", 4, 6, "documented_difference"),
    ]
    assert {r[1]: r[2:4] for r in rows if r[0] == "nature"} == {
        "CA": (218, 219),
        "CC": (1019, 1018),
        "CU": (15, 15),
        "ME": (14, 14),
        "MET69": (1, 1),
        "SA": (0, 0),
    }
    assert all(r[7].startswith("DGCL, Bulletin d'information statistique n°113") for r in rows if r[1] != "MET69")
