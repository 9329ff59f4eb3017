"""The whole graph on the embedded data, in a private data directory: every asset and check passes,
the marts are published, the merger study recovers the effect planted by the SIRENE sample generator
(its truth is in data/raw/sirene/embedded/manifest.json), and the three README questions are answered
by one query each, run exactly as written in the README.

The run is the session's ``embedded_world`` (tests/conftest.py), shared with the other integration tests.
"""

import json

import geopandas as gpd
import pyarrow.parquet as pq
import pytest

from assets.marts import columns as C
from observatory.settings import REPO_ROOT
from tests.readme import readme_queries

SIRENE_MANIFEST = REPO_ROOT / "data" / "raw" / "sirene" / "embedded" / "manifest.json"
CRS_BY_ZONE = {"metro": 2154, "971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471, "france": 4326}


@pytest.fixture(scope="module")
def published(embedded_world):
    """The session's one embedded run (tests/conftest.py), as (settings, result, failed checks, published db)."""
    w = embedded_world
    return w.settings, w.result, w.failed_checks, w.marts


def test_pipeline_succeeds_with_every_check_passing(published):
    settings, result, failed_checks, _ = published
    failures = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert result.success and not failures, failures
    assert failed_checks == []
    manifest = json.loads((settings.marts_dir / "manifest.json").read_text())
    for table in C.SPECS:
        if table.startswith("marts."):
            assert manifest["row_counts"][table.split(".")[1]] > 0, table


def _planted_pct_of_2017() -> dict[int, float]:
    """The generator's truth, on the headline estimand's scale: the treated stock's loss against its counterfactual,
    in % of the 2017 stock (the manifest's exact actual and counterfactual totals)."""
    by_year = json.loads(SIRENE_MANIFEST.read_text())["planted_effect"]["true_effect_by_year"]
    base = by_year["2017"]["counterfactual_total"]
    return {int(y): 100 * (v["actual_total"] - v["counterfactual_total"]) / base for y, v in by_year.items()}


def test_merger_study_recovers_the_planted_effect(published):
    _, _, _, con = published
    planted = json.loads(SIRENE_MANIFEST.read_text())["planted_effect"]
    truth = _planted_pct_of_2017()
    head = "where cohort = 2017 and outcome = 'n_associations' and estimand = 'ecart_relatif_pct' and weighting = 'facility' "
    rows = con.execute(
        "select estimator, annee, period_start, estimate, ci_low, ci_high, n_treated, status, planted_effect "
        "from marts.merger_effect " + head + "and estimator in ('event_study', 'did')"
    ).fetchall()
    did = next(r for r in rows if r[0] == "did")
    assert did[1:3] == (2026, 2018)  # post years only: 1 January 2017, the merger day, is the reference
    true_did = sum(truth[y] for y in range(2018, 2027)) / 9
    assert did[4] < true_did < did[5] and did[5] < 0, (did, true_did)  # covered and detected
    assert did[8] == pytest.approx(true_did, abs=1e-3)  # the published label is the manifest's truth
    treated = {
        r[0]
        for r in con.execute(
            "select distinct epci_siren from marts.merger_effect_epci where cohort = 2017 and groupe = 'traite'"
        ).fetchall()
    }
    assert treated == set(planted["treated_epci_2017"])  # territory fusions = the generator's treated EPCIs
    yearly = [r for r in rows if r[0] == "event_study" and r[1] >= 2018]
    assert all(r[4] < truth[r[1]] < r[5] for r in yearly), [(r[1], r[3], r[4], r[5], truth[r[1]]) for r in yearly]
    assert all(r[8] == pytest.approx(truth[r[1]], abs=1e-3) for r in yearly)
    pre = dict(
        con.execute(
            "select estimator, status from marts.merger_effect "
            + head
            + "and estimator in ('pre_test_joint', 'pre_trend_slope', 'placebo')"
        ).fetchall()
    )
    assert pre == {"pre_test_joint": "pass", "pre_trend_slope": "pass", "placebo": "pass"}  # no pre-trend is planted
    # the 2016 cohort: the Metropole du Grand Paris is most of its treated stock -> fragile, with the reason
    note = con.execute(
        "select status, note from marts.merger_effect where cohort = 2016 and outcome = 'n_associations' "
        "and estimand = 'ecart_relatif_pct' and estimator = 'did'"
    ).fetchone()
    # 63% (62% before issue 9's scope rule took in the sample's crèche-named periods under other codes)
    assert note[0] == "fragile" and "carries 63% of the treated weight" in note[1]
    # per-EPCI counts: the generator's ATT in facilities per EPCI, averaged over the same years
    att = {int(y): v["att_count_per_epci"] for y, v in planted["true_effect_by_year"].items()}
    lo, hi = con.execute(
        "select ci_low, ci_high from marts.merger_effect where cohort = 2017 and outcome = 'n_associations' "
        "and estimand = 'ecart_par_epci' and estimator = 'did'"
    ).fetchone()
    assert lo < sum(att[y] for y in range(2018, 2027)) / 9 < hi
    comment = con.execute("select comment from duckdb_tables() where schema_name = 'marts' and table_name = 'merger_effect'").fetchone()[0]
    assert "PLANTED" in comment and f"{truth[2018]:+.2f} % in 2018" in comment


def test_the_three_readme_questions_have_one_query_answers(published):
    _, _, _, con = published
    queries = readme_queries()
    assert {"ess_share", "for_profit_growth", "merger_effect"} <= set(queries)
    ess = con.execute(queries["ess_share"]).fetchall()
    assert len(ess) == 1 and ess[0][0] == "Métropole de Lyon" and 0 <= ess[0][3] <= 1 and ess[0][2] > 0
    growth = con.execute(queries["for_profit_growth"]).fetchall()
    changes = [r[-1] for r in growth]
    assert len(growth) == 5 and changes == sorted(changes, reverse=True) and all(r[2] >= 10 and r[3] >= 10 for r in growth)
    best = con.execute(
        "select max(change_share_lucratif_since_2015) from marts.epci_indicators where n_facilities_2015 >= 10 and n_facilities >= 10"
    ).fetchone()[0]
    assert changes[0] == best
    effect = con.execute(queries["merger_effect"]).fetchall()
    assert len(effect) == 1 and effect[0][1] < effect[0][0] < effect[0][2]
    # the facility-weighted estimand counts the treated and control EPCIs with associative EAJE on 1 January 2017
    n = con.execute(
        "select count(distinct epci_siren) filter (where groupe = 'traite'), count(distinct epci_siren) "
        "filter (where groupe = 'controle') from marts.merger_effect_epci where cohort = 2017 and annee = 2017 "
        "and n_associations > 0"
    ).fetchone()
    assert effect[0][3] <= n[0] and effect[0][4] <= n[1] and effect[0][3] >= 0.98 * n[0]  # a few lack a population
    fates = con.execute(queries["transitions"]).fetchall()
    assert {r[0] for r in fates} == {"controle", "traite"} and {r[1] for r in fates} <= set(C.TRANSITIONS)
    for g in ("controle", "traite"):
        assert sum(r[3] for r in fates if r[0] == g) == pytest.approx(1, abs=0.01)
    # the planted extra closures of associative EAJE in the 2017 fusions show as a larger closed share there
    closed = {r[0]: r[3] for r in fates if r[1] == "closed"}
    assert closed["traite"] > closed["controle"]
    diagnostics = con.execute(queries["merger_diagnostics"]).fetchall()
    assert {r[0] for r in diagnostics} == {
        "pre_test_joint",
        "pre_trend_slope",
        "placebo",
        "leave_one_out",
        "max_weight_share",
        "trend_adjusted",
    }
    assert sum(r[0] == "leave_one_out" for r in diagnostics) == 10 and all(r[7] in ("pass", "fail") for r in diagnostics)
    truth = _planted_pct_of_2017()
    assert effect[0][5] in ("estimated", "fragile") and effect[0][6] == pytest.approx(
        sum(truth[y] for y in range(2018, 2027)) / 9, abs=1e-3
    )


def test_published_files_match_the_specifications(published):
    settings, _, _, con = published
    for table, spec in C.SPECS.items():
        if not table.startswith("marts."):
            continue
        name = table.split(".")[1]
        assert pq.read_schema(settings.marts_dir / "parquet" / f"{name}.parquet").names == spec.names
        cols = con.execute(
            "select column_name, data_type, comment from duckdb_columns() where schema_name = 'marts' "
            "and table_name = ? order by column_index",
            [name],
        ).fetchall()
        assert [(c[0], c[1]) for c in cols] == [(c.name, c.type) for c in spec.columns] and all(c[2] for c in cols)
    layers = {p.stem.removeprefix("epci_indicators_"): p for p in (settings.marts_dir / "geo").glob("epci_indicators_*.parquet")}
    assert set(layers) == set(CRS_BY_ZONE)
    for zone, path in layers.items():
        gdf = gpd.read_parquet(path)
        assert gdf.crs.to_epsg() == CRS_BY_ZONE[zone] and gdf.columns[-1] == "geometry" and gdf["n_facilities"].notna().all()
        meta = pq.read_schema(path).metadata
        assert b"geo" in meta and json.loads(meta[b"columns"])["share_ess"] and b"Licence Ouverte" in meta[b"licence"], zone
    # the national layer: every zone in EPSG:4326, DROM at their real positions, also as GeoJSON
    national = gpd.read_parquet(layers["france"])
    assert len(national) == sum(len(gpd.read_parquet(p)) for z, p in layers.items() if z != "france")
    assert set(national.geom_type) <= {"Polygon", "MultiPolygon"} and national.is_valid.all()
    reunion = national[national["zone"] == "974"].total_bounds
    assert 55 < reunion[0] < reunion[2] < 56 and -21.5 < reunion[1] < reunion[3] < -20.8
    assert len(gpd.read_file(settings.marts_dir / "geo" / "epci_indicators_france.geojson")) == len(national)
    # every published Parquet file documents itself: licence, sources, data dates, column descriptions
    for path in (settings.marts_dir / "parquet").glob("*.parquet"):
        meta = {k.decode(): v.decode() for k, v in pq.read_schema(path).metadata.items()}
        columns = json.loads(meta["columns"])
        assert meta["table"] == f"marts.{path.stem}" and list(columns) == pq.read_schema(path).names and meta["description"], path.name
        if path.stem != "sources":
            assert meta["licence"] and json.loads(meta["data_date"]), path.name


def test_embedded_invariants(published):
    _, _, _, con = published
    # every EPCI of the reference, every year 2015-2026, in the CAF mart; CAF 2017-2022 shown 2018-2023
    years = dict(con.execute("select annee, count(*) from marts.childcare_supply group by 1 order by 1").fetchall())
    assert list(years) == list(range(2015, 2027)) and years[2017] == 1267 and years[2026] == 1255
    statuses = {
        r[0]: r[1]
        for r in con.execute(
            "select annee, list(distinct caf_status order by caf_status) from marts.childcare_supply group by 1"
        ).fetchall()
    }
    assert all(statuses[y] == ["caf_year_missing"] for y in (2015, 2016, 2017, 2024, 2025, 2026))
    assert all(statuses[y] == ["no_commune_published", "published"] for y in range(2018, 2024))
    # every current facility placed on today's map, France shares sum to 1
    assert con.execute("select count(*) from marts.facilities where code_departement is null").fetchone()[0] == 0
    total = con.execute(
        "select sum(share_facilities) from marts.ess_market_share where geography = 'latest' "
        "and territory_level = 'france' and breakdown = 'sector' and annee = 2026"
    ).fetchone()[0]
    assert total == pytest.approx(1.0)
    # the map layer covers every EPCI of the latest perimeters
    assert con.execute("select count(*) filter (where not has_geometry) from marts.epci_indicators").fetchone()[0] == 0


def test_supply_counted_right_on_the_embedded_data(embedded_world):
    """Issue 9's invariants on the published marts and the build database."""
    con, build = embedded_world.marts, embedded_world.build
    # EPCI rows (hors_epci included) = France, every year and geography; 2015: Paris and the petite couronne
    sums = con.execute(
        "select geography, annee, sum(n_facilities) filter (where territory_level = 'epci'), "
        "sum(n_facilities) filter (where territory_level = 'france'), sum(n_facilities) filter (where territory_code = 'hors_epci') "
        "from marts.ess_market_share where breakdown = 'sector' group by all order by 1, 2"
    ).fetchall()
    assert all(e == f for _, _, e, f, _ in sums), [r for r in sums if r[2] != r[3]]
    year_2015 = next(r for r in sums if r[:2] == ("year", 2015))
    # 13,107 facilities of the generator's calibration (12,175 under 88.91A, 932 planted under their operator's
    # code, nom_eaje) + 346 nom_eaje: the sample's crèche-named periods of public and associative operators
    # under other codes, which the calibration does not count, taken in by the scope rule
    assert year_2015[3:] == (13453, 1340)
    # no micro-crèche above its cap; places never 0 when unknown
    over = build.execute(
        "select count(*) from int.facility_territory_years where type_structure = 'micro_creche' "
        "and places > case when annee >= 2022 then 12 else 10 end"
    ).fetchone()[0]
    assert over == 0
    assert (
        con.execute(
            "select count(*) from marts.ess_market_share where n_facilities > 0 and places_coverage = 0 "
            "and (places is not null or share_places is not null)"
        ).fetchone()[0]
        == 0
    )
    # France keeps its shares of places (3 'indetermine' facilities without places do not blank it) and says what they cover
    fr = con.execute(
        "select count(share_places), any_value(places_scope) from marts.ess_market_share where geography = 'year' "
        "and territory_level = 'france' and breakdown = 'sector' and annee = 2023"
    ).fetchone()
    assert fr == (5, "communes_published_by_caf")
    # no cooperative-named unit in ess_societe_commerciale
    assert (
        build.execute(
            "select count(*) from int.operator_years where operator_class = 'ess_societe_commerciale' "
            "and regexp_matches(upper(strip_accents(denomination)), '\\b(SCIC|SCOP|COOP|COOPERATIVE)\\b')"
        ).fetchone()[0]
        == 0
    )
    coop = dict(
        build.execute(
            "select annee, count(*) from int.facility_territory_years where operator_class = 'ess_cooperative' "
            "and annee in (2015, 2016) group by 1"
        ).fetchall()
    )
    assert coop[2016] >= 0.9 * coop[2015], coop  # no break the year the ESS flag appears (was 187 -> 87)
    # names: no '?' and no NULL, Mayotte named
    assert (
        con.execute("select count(*) from marts.ess_market_share where territory_name is null or contains(territory_name, '?')").fetchone()[
            0
        ]
        == 0
    )
    assert con.execute("select count(*) from marts.commune_epci where contains(epci_nom, '?')").fetchone()[0] == 0
    assert con.execute("select distinct territory_name from marts.ess_market_share where territory_code = '976'").fetchall() == [
        ("Mayotte",)
    ]
    # one predecessor count: Grand Reims absorbed 9 EPCIs
    assert con.execute(
        "select distinct n_predecessors from marts.merger_effect_epci where cohort = 2017 and epci_siren = '200067213'"
    ).fetchall() == [(9,)]


def test_every_figure_says_where_it_comes_from(published):
    settings, _, _, con = published
    synthetic = "SIRENE SYNTHETIC sample (data date 2026-10-31)"
    for spec in C.FACILITY_DERIVED:
        assert con.execute(f"select distinct facility_source from {spec.table}").fetchall() == [(synthetic,)], spec.table
    for path in (settings.marts_dir / "geo").glob("epci_indicators_*.parquet"):
        assert set(gpd.read_parquet(path)["facility_source"]) == {synthetic}, path.name
    rows = con.execute(
        "select source, mode, synthetic, data_date, data_date_basis, files, used_by from marts.sources order by source"
    ).fetchall()
    assert [r[0] for r in rows] == ["caf", "cog", "contours", "dgcl_epci", "drees", "etalab_epci", "insee_epci", "sirene"]
    for source, mode, is_synthetic, data_date, basis, files, used_by in rows:
        manifest = json.loads((REPO_ROOT / "data" / "raw" / source / "embedded" / "manifest.json").read_text())
        assert (mode, is_synthetic, data_date, basis) == ("embedded", manifest["synthetic"], manifest["data_date"], "manifest.json"), source
        assert {f["file"]: (f["sha256"], f["size"]) for f in files} == {
            name: (e["sha256"], e["size"]) for name, e in manifest["files"].items()
        }, source
        assert used_by, f"{source}: used by no published mart"
    assert [r[0] for r in rows if r[2]] == ["sirene"]
    assert next(r[6] for r in rows if r[0] == "sirene") == sorted(s.table for s in C.FACILITY_DERIVED)


def test_the_one_command_run_builds_every_year_of_every_partitioned_asset(embedded_world):
    result, build = embedded_world.result, embedded_world.build
    years = [str(y) for y in range(2015, 2027)]
    events = result.get_asset_materialization_events()
    partitioned = ["stg/communes", "stg/epci_membership", "stg/epci", "stg/caf_places_commune", "stg/caf_coverage_commune"]
    for key in partitioned:
        assert sorted(e.materialization.partition for e in events if e.asset_key.to_user_string() == key) == years, key
    for table in ("stg.communes", "stg.epci_membership", "stg.epci"):
        assert [r[0] for r in build.execute(f"select distinct annee from {table} order by 1").fetchall()] == list(range(2015, 2027)), table
    # partition annee holds CAF year annee - 1: the embedded CAF 2017-2022 fill partitions 2018-2023
    assert [r[0] for r in build.execute("select distinct caf_annee from stg.caf_places_commune order by 1").fetchall()] == list(
        range(2017, 2023)
    )
    caf = next(e for e in events if e.asset_key.to_user_string() == "stg/caf_places_commune").materialization.metadata
    assert sorted(caf["caf_year_missing"].value) == ["2015", "2016", "2017", "2024", "2025", "2026"]


def test_succession_links_give_2016_facilities_their_successor(embedded_world):
    """The sample's planted links reach the mart: the 2016 -> latest transitions with method succession_link are
    counted again straight from the links and the facility-years (a facility of 2016 gone by the latest year with a
    link, dated before 1 January of that year, to a facility of that year)."""
    con, build = embedded_world.marts, embedded_world.build
    latest = build.execute("select max(annee) from int.facility_years").fetchone()[0]
    expected = build.execute(
        """
        select count(distinct l.siret_predecessor)
        from stg.sirene_successions l
        join int.facility_years o on o.siret = l.siret_predecessor and o.annee = 2016
        join int.facility_years t on t.siret = l.siret_successor and t.annee = $latest
        where l.date_lien < make_date($latest, 1, 1)
          and l.siret_predecessor not in (select siret from int.facility_years where annee = $latest)
        """,
        {"latest": latest},
    ).fetchone()[0]
    linked = con.execute(
        "select count(*), count(date_lien) from marts.facility_transitions "
        "where from_year = 2016 and to_year = ? and method = 'succession_link'",
        [latest],
    ).fetchone()
    assert linked[0] > 0 and linked == (expected, expected)


def test_the_planted_municipalisations_are_recovered(embedded_world):
    """The sample's planted municipalisations (manifest planted_municipalisations) reach the transitions: each is a
    public takeover found by its succession link, the year after the closure; the treated EPCIs' 2016 -> latest
    public-takeover rate exceeds the controls'; the merger study's pooled public_takeovers effect for cohort 2017
    covers the planted truth (per 100 associative EAJE of 2017 and year) and excludes 0."""
    con, build = embedded_world.marts, embedded_world.build
    planted = json.loads(SIRENE_MANIFEST.read_text())["planted_municipalisations"]
    pairs = {p["siret_association"]: p["siret_public"] for p in planted["pairs"]}
    yearly = build.execute(
        "select siret, to_year, transition, method, successor_siret, groupe_2017 from int.facility_transitions_yearly "
        "where siret in (select unnest(?::varchar[])) and transition <> 'still_open'",
        [list(pairs)],
    ).fetchall()
    assert sorted((r[0], r[2:]) for r in yearly) == sorted(
        (a, ("public_takeover", "succession_link", p, "traite")) for a, p in pairs.items()
    )
    by_year = {str(y): sum(r[1] == y for r in yearly) for y in range(2018, 2027)}
    assert by_year == planted["count_by_to_year"]
    latest = con.execute("select max(to_year) from marts.facility_transitions").fetchone()[0]
    of_2016 = build.execute(
        "select count(*) from int.facility_years where annee = 2016 and siret in (select unnest(?::varchar[]))", [list(pairs)]
    ).fetchone()[0]
    fates = con.execute(
        "select siret, transition, method, successor_siret from marts.facility_transitions "
        "where from_year = 2016 and to_year = ? and siret in (select unnest(?::varchar[]))",
        [latest, list(pairs)],
    ).fetchall()
    assert of_2016 > 50 and sorted(fates) == sorted((s, "public_takeover", "succession_link", pairs[s]) for s, *_ in fates)
    assert len(fates) == of_2016
    rate = dict(
        con.execute(
            "select groupe_2017, avg((transition = 'public_takeover')::int) from marts.facility_transitions "
            "where from_year = 2016 and to_year = ? and operator_class_from = 'ess_association' "
            "and groupe_2017 in ('traite', 'controle') group by 1",
            [latest],
        ).fetchall()
    )
    assert rate["traite"] > rate["controle"], rate
    did = con.execute(
        "select estimate, ci_low, ci_high, period_start, annee, status from marts.merger_effect where cohort = 2017 "
        "and outcome = 'public_takeovers' and estimand = 'taux_pour_100_2017' and estimator = 'did'"
    ).fetchone()
    truth = planted["true_effect_pour_100_2017_pooled"]
    assert did[3:5] == (2018, 2026) and did[1] < truth < did[2] and did[1] > 0, (did, truth)
