"""Yearly partitions of the territory on the tiny France of test_territory_graph: a backfill of a
year range replaces exactly those years in one run, the yearly schedule's refresh rebuilds every year
of what is stale, and the blocking checks read the whole table, so a bad year outside the range still
stops everything below it.

Each test starts from a full build (every year, as ``python -m observatory run``) and marks every
row ``stale``; what a later run rebuilds loses the mark, what it must not touch keeps it.
"""

import datetime as dt

import dagster as dg
import duckdb
import pytest

from observatory.__main__ import execute
from observatory.automation import cadence_automation
from observatory.definitions import resources_for
from assets.common.years import YEARS as PARTITIONS
from observatory.partitions import range_tags
from observatory.publish import publication_asset
from observatory.settings import Settings
from test_territory_graph import MART_KEYS, PARTITIONED, TERRITORY_CHECKS, TERRITORY_GRAPH, YEARS, build_tiny_france, codes

COMMUNES, MEMBERSHIP, EPCI = PARTITIONED
#: The suites that hold on the tiny France (the EPCI suite checks the national counts).
CHECKS = [c for c in TERRITORY_CHECKS if next(iter(c.check_keys)).asset_key in (COMMUNES, MEMBERSHIP)]


def _defs(settings: Settings) -> dg.Definitions:
    base = dg.Definitions(assets=[*TERRITORY_GRAPH, publication_asset(MART_KEYS)], asset_checks=CHECKS, resources=resources_for(settings))
    return dg.Definitions.merge(base, cadence_automation(base))


@pytest.fixture
def built(tmp_path):
    """A full build, then every row of the partitioned tables marked stale."""
    settings = Settings(data_dir=tmp_path / "data")
    build_tiny_france(settings.raw_dir)
    defs = _defs(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        assert execute(defs, instance).success
    with duckdb.connect(str(settings.build_db)) as con:
        con.execute("update stg.communes set source = 'stale'")
        con.execute("update stg.epci_membership set source = 'stale'")
        con.execute("update stg.epci set epci_nom = 'stale'")
    return settings, defs


def fresh_rows(settings: Settings) -> dict[str, dict[int, int]]:
    """Rows per year rebuilt since the stale mark, per partitioned table (a year absent: untouched)."""
    queries = {
        "communes": "select annee, count(*) from stg.communes where source <> 'stale' group by 1 order by 1",
        "epci_membership": "select annee, count(*) from stg.epci_membership where source <> 'stale' group by 1 order by 1",
        "epci": "select annee, count(*) from stg.epci where epci_nom <> 'stale' group by 1 order by 1",
    }
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        return {t: dict(con.execute(q).fetchall()) for t, q in queries.items()}


def assert_every_year_complete(settings: Settings) -> None:
    """Nothing lost: every year still has all its rows, rebuilt or stale."""
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        for table in ("communes", "epci_membership"):
            assert con.execute(f"select annee, count(*) from stg.{table} group by 1 order by 1").fetchall() == [
                (y, len(codes(y))) for y in YEARS
            ]
        assert con.execute("select annee, count(*) from stg.epci group by 1 order by 1").fetchall() == [
            (y, 6 if y <= 2016 else 5) for y in YEARS
        ]


def expected(years) -> dict[str, dict[int, int]]:
    return {
        "communes": {y: len(codes(y)) for y in years},
        "epci_membership": {y: len(codes(y)) for y in years},
        "epci": {y: 6 if y <= 2016 else 5 for y in years},
    }


def test_a_backfill_of_a_year_range_replaces_exactly_those_years_in_one_run(built):
    settings, defs = built
    with dg.DagsterInstance.ephemeral() as instance:
        # What the UI launches for a backfill of 2017-2019 of the partitioned assets (single-run policy).
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=PARTITIONED, tags=range_tags(2017, 2019, PARTITIONS), raise_on_error=False
        )
        assert result.success
        assert len(instance.get_runs()) == 1
        for key in PARTITIONED:
            assert instance.get_materialized_partitions(key) == {"2017", "2018", "2019"}, key
    assert_every_year_complete(settings)
    assert fresh_rows(settings) == expected([2017, 2018, 2019])
    # the blocking checks ran once, after the range was written, on the whole table
    evaluations = {e.asset_key: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {COMMUNES, MEMBERSHIP} and all(e.passed for e in evaluations.values())
    meta = result.asset_materializations_for_node("stg__epci_membership")[0].metadata
    assert meta["rows_written_per_annee"].value == {str(y): len(codes(y)) for y in (2017, 2018, 2019)}
    assert meta["dagster/row_count"].value == sum(len(codes(y)) for y in YEARS)  # the table: every year
    assert list(meta["reconciliation"].value) == ["2019"] and meta["reconciliation"].value["2019"]["different_epci"] == 0
    assert set(meta["dgcl_cross_check"].value) == {"2017"}  # DGCL covers 2015-2017: only 2017 is in the range


def test_the_yearly_refresh_rebuilds_every_year_of_what_is_stale_then_the_marts(built):
    """On an instance that never saw them materialized, the refresh sensor finds every asset stale and
    requests ONE run of all of them with every year: each partition is rewritten and recorded."""
    settings, defs = built
    with dg.DagsterInstance.ephemeral() as instance:
        with dg.build_schedule_context(
            scheduled_execution_time=dt.datetime(2027, 1, 15, 6), repository_def=defs.get_repository_def(), instance=instance
        ) as context:
            (request,) = defs.resolve_schedule_def("refresh_yearly_schedule").evaluate_tick(context).run_requests
        job = defs.resolve_job_def("refresh_yearly")
        inputs = job.execute_in_process(instance=instance, asset_selection=request.asset_selection, tags=request.tags)
        sensor = defs.resolve_sensor_def("refresh_yearly_stale")
        stale_request = sensor(
            dg.build_run_status_sensor_context(
                sensor_name=sensor.name,
                dagster_event=inputs.get_run_success_event(),
                dagster_instance=instance,
                dagster_run=instance.get_run_by_id(inputs.run_id),
                resources={"warehouse": defs.resources["warehouse"]},
                repository_def=defs.get_repository_def(),
            )
        )
        result = job.execute_in_process(instance=instance, asset_selection=stale_request.asset_selection, tags=stale_request.tags)
        assert result.success
        for key in PARTITIONED:
            assert instance.get_materialized_partitions(key) == set(PARTITIONS.get_partition_keys()), key
    assert_every_year_complete(settings)
    assert fresh_rows(settings) == expected(YEARS)
    done = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"int/commune_code_map", "marts/commune_epci", "publish/observatory"} <= done
    with duckdb.connect(str(settings.marts_dir / "observatory.duckdb"), read_only=True) as pub:
        assert pub.execute("select annee, count(*) from marts.commune_epci group by 1 order by 1").fetchall() == [(y, 55) for y in YEARS]


def test_a_bad_year_outside_the_range_fails_the_whole_table_check_and_stops_the_run(built):
    settings, defs = built
    with duckdb.connect(str(settings.build_db)) as con:  # 2015, outside the range: a duplicated commune
        con.execute("insert into stg.communes select * from stg.communes where annee = 2015 and code_commune = '01001'")
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=PARTITIONED, tags=range_tags(2017, 2019, PARTITIONS), raise_on_error=False
        )
    assert not result.success
    (check,) = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert check.asset_key == COMMUNES and check.check_name == "unique_key"
    assert "unique (annee, code_commune)" in check.metadata["failures"].value and "2015" in check.metadata["failures"].value
    # stg.communes 2017-2019 were rewritten; nothing below the failed check ran
    assert {e.asset_key for e in result.get_asset_materialization_events()} == {COMMUNES}
    assert fresh_rows(settings) == {**expected([2017, 2018, 2019]), "epci_membership": {}, "epci": {}}
