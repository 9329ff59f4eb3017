"""Schedules, refresh jobs and sensors, yearly partitions and freshness, derived from the sources' cadences, on a
tiny self-contained graph: two embedded sources (monthly, yearly) -> staging -> mart -> publication."""

import datetime as dt
import json
import textwrap
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from observatory.__main__ import execute
from observatory.automation import cadence_automation
from observatory.definitions import resources_for
from observatory.incremental import PHASE_TAG, with_code_versions
from assets.common.years import YEARS
from observatory.partitions import all_years_tags, range_tags, replace_years, yearly_partitions, years_to_build
from observatory.publish import publication_asset
from observatory.quality import RowCount, table_check
from observatory.resources import Warehouse, sha256_of
from observatory.settings import REPO_ROOT, Settings
from observatory.sources import PlanFile, SourceSpec, raw_asset


def embed(raw_dir: Path, name: str, rows: str) -> SourceSpec:
    """A source with one embedded Parquet file and its manifest."""
    directory = raw_dir / name / "embedded"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.parquet"
    with duckdb.connect() as con:
        con.execute(f"copy (select * from (values {rows}) v(annee, code)) to '{path}' (format parquet)")
    manifest = {
        "synthetic": False,
        "data_date": "2025-01-01",
        "files": {path.name: {"sha256": sha256_of(path), "size": path.stat().st_size, "origin": "test", "url": "https://example.org"}},
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    cadence = "monthly" if name == "monthly_src" else "yearly"
    return SourceSpec(
        name=name,
        title=name,
        publisher="test",
        licence="Licence Ouverte",
        homepage="https://example.org",
        cadence=cadence,
        description="A test source.",
        plan=(PlanFile("data", embedded=path.name),),
    )


def build(tmp_path: Path, *, partitions: dg.PartitionsDefinition | None = None) -> tuple[dg.Definitions, Settings]:
    settings = Settings(data_dir=tmp_path / "data")
    monthly = embed(settings.raw_dir, "monthly_src", "(2024, 'a'), (2025, 'b')")
    yearly = embed(settings.raw_dir, "yearly_src", "(2024, 'x'), (2025, 'y'), (2026, 'z')")
    raws = [raw_asset(monthly), raw_asset(yearly)]

    def stg_for(spec: SourceSpec, partitioned: bool):
        @dg.asset(
            key=["stg", spec.name],
            deps=[spec.raw_key],
            group_name=spec.name,
            kinds={"duckdb"},
            owners=["team:data"],
            pool="duckdb",
            partitions_def=partitions if partitioned else None,
            backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        )
        def _stg(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
            """Rows of the source."""
            path = str(settings.raw_dir / spec.name / "embedded" / f"{spec.name}.parquet")
            with warehouse.connect() as con:
                if partitioned:
                    years = years_to_build(context, [2024, 2025, 2026])
                    replace_years(
                        con,
                        f"stg.{spec.name}",
                        years,
                        "select * from read_parquet($p) where list_contains($y, annee)",
                        {"p": path, "y": years},
                    )
                else:
                    con.execute(f"create or replace table stg.{spec.name} as select * from read_parquet($p)", {"p": path})
                return dg.MaterializeResult(metadata=warehouse.table_metadata(con, f"stg.{spec.name}"))

        return _stg

    stgs = [stg_for(monthly, False), stg_for(yearly, partitions is not None)]

    @dg.asset(
        key=["marts", "combined"], deps=[s.key for s in stgs], group_name="marts", kinds={"duckdb"}, owners=["team:data"], pool="duckdb"
    )
    def combined(warehouse: Warehouse) -> dg.MaterializeResult:
        """Both sources side by side."""
        with warehouse.connect() as con:
            con.execute(
                "create or replace table marts.combined as select annee, code from stg.monthly_src "
                "union all select annee, code from stg.yearly_src"
            )
            return dg.MaterializeResult(metadata=warehouse.table_metadata(con, "marts.combined"))

    base = dg.Definitions.merge(
        with_code_versions(
            dg.Definitions(
                assets=[*raws, *stgs, combined, publication_asset([combined.key])],
                asset_checks=[table_check("marts.combined", [RowCount(1)])],
            ),
            "1",
        ),
        dg.Definitions(resources=resources_for(settings)),
    )
    return dg.Definitions.merge(base, cadence_automation(base)), settings


def test_one_job_schedule_and_sensor_per_cadence_with_their_crons(tmp_path):
    defs, _ = build(tmp_path)
    schedules = {s.name: s for s in defs.schedules}
    assert {n: s.cron_schedule for n, s in schedules.items()} == {
        "refresh_monthly_schedule": "0 6 3 * *",
        "refresh_yearly_schedule": "0 6 15 1 *",
    }
    sensors = {s.name: s for s in defs.sensors}
    assert set(sensors) == {"refresh_monthly_stale", "refresh_yearly_stale"}
    running = dg.DefaultScheduleStatus.RUNNING, dg.DefaultSensorStatus.RUNNING
    assert {s.default_status for s in schedules.values()} | {s.default_status for s in sensors.values()} == set(running)
    jobs = {
        name: {k.to_user_string() for k in defs.resolve_job_def(name).asset_layer.selected_asset_keys}
        for name in ("refresh_monthly", "refresh_yearly", "rebuild_marts")
    }
    assert jobs["refresh_monthly"] == {"raw/monthly_src", "stg/monthly_src", "marts/combined", "publish/observatory"}
    assert jobs["refresh_yearly"] == {"raw/yearly_src", "stg/yearly_src", "marts/combined", "publish/observatory"}
    assert jobs["rebuild_marts"] == {"marts/combined", "publish/observatory"}


def tick(defs: dg.Definitions, cadence: str, instance: dg.DagsterInstance, when: dt.datetime) -> dg.ExecuteInProcessResult:
    """The schedule's tick, and its run as the daemon would launch it."""
    with dg.build_schedule_context(scheduled_execution_time=when, repository_def=defs.get_repository_def(), instance=instance) as context:
        (request,) = defs.resolve_schedule_def(f"refresh_{cadence}_schedule").evaluate_tick(context).run_requests
    return launch(defs, cadence, instance, request)


def launch(defs: dg.Definitions, cadence: str, instance: dg.DagsterInstance, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(f"refresh_{cadence}").execute_in_process(
        instance=instance, asset_selection=request.asset_selection, tags=request.tags, partition_key=request.partition_key
    )


def after(defs: dg.Definitions, cadence: str, instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult):
    """What the refresh sensor of ``cadence`` answers to the successful run ``result``."""
    assert result.success
    sensor = defs.resolve_sensor_def(f"refresh_{cadence}_stale")
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=result.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        resources={"warehouse": defs.resources["warehouse"]},
        repository_def=defs.get_repository_def(),
    )
    return sensor(context)


def names(result: dg.ExecuteInProcessResult) -> list[str]:
    """The assets the run materialized, in order, once each (a ranged run writes a partitioned asset once per year)."""
    return list(dict.fromkeys(e.asset_key.to_user_string() for e in result.get_asset_materialization_events()))


def test_monthly_tick_checks_the_files_then_recomputes_only_what_changed(tmp_path):
    defs, settings = build(tmp_path)
    with dg.DagsterInstance.ephemeral() as instance:
        assert execute(defs, instance).success  # the first build (make run)
        inputs = tick(defs, "monthly", instance, dt.datetime(2026, 3, 3, 6))
        assert names(inputs) == ["raw/monthly_src"] and inputs.dagster_run.tags[PHASE_TAG] == "inputs"
        skip = after(defs, "monthly", instance, inputs)
        assert isinstance(skip, dg.SkipReason) and skip.skip_message.startswith("Up to date: 3 asset(s) unchanged")

        embed(settings.raw_dir, "monthly_src", "(2024, 'a'), (2025, 'b'), (2026, 'c')")  # INSEE's new month
        request = after(defs, "monthly", instance, tick(defs, "monthly", instance, dt.datetime(2026, 4, 3, 6)))
        assert isinstance(request, dg.RunRequest)
        assert sorted(k.to_user_string() for k in request.asset_selection) == ["marts/combined", "publish/observatory", "stg/monthly_src"]
        stale_run = launch(defs, "monthly", instance, request)
        assert names(stale_run) == ["stg/monthly_src", "marts/combined", "publish/observatory"]
        # its own success is not followed by another run, and the next tick finds everything up to date
        assert isinstance(after(defs, "monthly", instance, stale_run), dg.SkipReason)
        assert isinstance(after(defs, "monthly", instance, tick(defs, "monthly", instance, dt.datetime(2026, 5, 3, 6))), dg.SkipReason)
    with duckdb.connect(str(settings.marts_dir / "observatory.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.combined").fetchone()[0] == 6


def test_a_full_refresh_job_run_is_not_followed_by_the_sensor(tmp_path):
    defs, _ = build(tmp_path)
    with dg.DagsterInstance.ephemeral() as instance:
        assert execute(defs, instance).success
        full = defs.resolve_job_def("refresh_monthly").execute_in_process(instance=instance)
        assert names(full) == ["raw/monthly_src", "stg/monthly_src", "marts/combined", "publish/observatory"]
        skip = after(defs, "monthly", instance, full)
        assert isinstance(skip, dg.SkipReason) and "not the inputs phase" in skip.skip_message


def test_yearly_tick_after_a_changed_file_rebuilds_every_year_of_its_descendants(tmp_path):
    pdef = yearly_partitions([2024, 2025, 2026])
    defs, settings = build(tmp_path, partitions=pdef)
    with dg.DagsterInstance.ephemeral() as instance:
        assert execute(defs, instance).success
        assert isinstance(after(defs, "yearly", instance, tick(defs, "yearly", instance, dt.datetime(2027, 1, 15, 6))), dg.SkipReason)

        embed(settings.raw_dir, "yearly_src", "(2024, 'x'), (2025, 'y2'), (2026, 'z2')")
        request = after(defs, "yearly", instance, tick(defs, "yearly", instance, dt.datetime(2028, 1, 15, 6)))
        assert sorted(k.to_user_string() for k in request.asset_selection) == ["marts/combined", "publish/observatory", "stg/yearly_src"]
        assert request.tags == {"cadence": "yearly", **all_years_tags(pdef)}
        assert names(launch(defs, "yearly", instance, request)) == ["stg/yearly_src", "marts/combined", "publish/observatory"]
        assert instance.get_materialized_partitions(dg.AssetKey(["stg", "yearly_src"])) == {"2024", "2025", "2026"}
        assert isinstance(after(defs, "yearly", instance, tick(defs, "yearly", instance, dt.datetime(2029, 1, 15, 6))), dg.SkipReason)
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        assert con.execute("select annee, code from stg.yearly_src order by 1").fetchall() == [(2024, "x"), (2025, "y2"), (2026, "z2")]


def test_a_failed_blocking_check_in_the_stale_run_stops_publication(tmp_path):
    defs, settings = build(tmp_path)
    with dg.DagsterInstance.ephemeral() as instance:
        assert execute(defs, instance).success
        published = (settings.marts_dir / "current").resolve()
        with duckdb.connect(str(settings.build_db)) as con:  # with the yearly table emptied...
            con.execute("delete from stg.yearly_src")
        embed(settings.raw_dir, "monthly_src", "(2024, 'a') limit 0")  # ...a monthly file without rows empties the mart
        request = after(defs, "monthly", instance, tick(defs, "monthly", instance, dt.datetime(2026, 4, 3, 6)))
        result = defs.resolve_job_def("refresh_monthly").execute_in_process(
            instance=instance, asset_selection=request.asset_selection, tags=request.tags, raise_on_error=False
        )
    assert not result.success
    assert names(result) == ["stg/monthly_src", "marts/combined"]  # publication did not run
    assert (settings.marts_dir / "current").resolve() == published


def test_backfill_of_several_years_fills_each_year_once(tmp_path):
    """Partitions materialized one run at a time (in any order, one twice) or as one single-run
    range: replace_years makes each run write its years only, and re-running a year replaces it."""
    defs, settings = build(tmp_path, partitions=yearly_partitions([2024, 2025, 2026]))
    stg = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a.key == dg.AssetKey(["stg", "yearly_src"])]
    raw = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a.key == dg.AssetKey(["raw", "yearly_src"])]
    resources = resources_for(settings)
    instance = dg.DagsterInstance.ephemeral()
    for year in ("2026", "2024", "2025", "2024"):
        assert dg.materialize(
            [*raw, *stg], partition_key=year, resources=resources, instance=instance, selection=[dg.AssetKey(["stg", "yearly_src"])]
        ).success
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        assert con.execute("select annee, code from stg.yearly_src order by annee").fetchall() == [(2024, "x"), (2025, "y"), (2026, "z")]
    status = instance.get_status_by_partition(
        dg.AssetKey(["stg", "yearly_src"]), ["2024", "2025", "2026"], yearly_partitions([2024, 2025, 2026])
    )
    assert set(status.values()) == {dg.AssetPartitionStatus.MATERIALIZED}

    # The UI's backfill of a range with the single-run policy: one run, tagged with the range.
    with duckdb.connect(str(settings.build_db)) as con:
        con.execute("update stg.yearly_src set code = 'stale'")
    fresh = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [*raw, *stg],
        resources=resources,
        instance=fresh,
        selection=[dg.AssetKey(["stg", "yearly_src"])],
        tags=range_tags(2025, 2026, yearly_partitions([2024, 2025, 2026])),
    )
    assert result.success
    assert sorted(e.materialization.partition for e in result.get_asset_materialization_events()) == ["2025", "2026"]
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        assert con.execute("select annee, code from stg.yearly_src order by annee").fetchall() == [
            (2024, "stale"),
            (2025, "y"),
            (2026, "z"),
        ]
    assert fresh.get_materialized_partitions(dg.AssetKey(["stg", "yearly_src"])) == {"2025", "2026"}


def test_mixed_partitions_definitions_are_refused_with_the_assets_named():
    @dg.asset(key=["raw", "src"], tags={"cadence": "yearly"})
    def raw():
        """Raw."""

    @dg.asset(key=["stg", "a"], deps=[raw], partitions_def=YEARS)
    def a():
        """A."""

    @dg.asset(key=["stg", "b"], deps=[raw], partitions_def=yearly_partitions([2017, 2018]))
    def b():
        """B."""

    with pytest.raises(dg.DagsterInvalidDefinitionError, match=r"2 different partitions definitions \(stg/a; stg/b\)"):
        cadence_automation(dg.Definitions(assets=[raw, a, b]))


def test_unknown_cadence_is_refused_when_the_spec_is_written():
    with pytest.raises(ValueError, match=r"cadence 'weekly': expected one of \['monthly', 'yearly'\]"):
        SourceSpec(name="x", title="x", publisher="x", licence="x", homepage="https://x", cadence="weekly", description="x")


def test_raw_asset_metadata_shows_files_sha256_rows_schema_and_data_date(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    spec = embed(settings.raw_dir, "yearly_src", "(2024, 'x'), (2025, 'y')")
    result = dg.materialize([raw_asset(spec)], resources=resources_for(settings))
    (mat,) = result.get_asset_materialization_events()
    meta = mat.materialization.metadata
    path = settings.raw_dir / "yearly_src" / "embedded" / "yearly_src.parquet"
    assert meta["sha256"].value == sha256_of(path)
    assert meta["data_date"].value == "2025-01-01"
    assert meta["dagster/row_count"].value == 2
    assert [c.name for c in meta["dagster/column_schema"].schema.columns] == ["annee", "code"]
    assert {k: meta["files"].value["yearly_src.parquet"][k] for k in ("rows", "columns", "origin")} == {
        "rows": 2,
        "columns": 2,
        "origin": "test",
    }
    preview = meta["preview"].value
    assert preview.startswith("**yearly_src.parquet**")
    assert [line.split("|")[1:3] for line in preview.splitlines()[-2:]] == [["    2024 ", " x      "], ["    2025 ", " y      "]]
    assert meta["licence"].value == "Licence Ouverte" and meta["source_url"].value == "https://example.org"
    assert meta["mode"].value == "embedded" and meta["synthetic"].value is False


FRESHNESS_DEFS = textwrap.dedent(
    """
    import dagster as dg
    from observatory.automation import freshness_policy

    @dg.asset(key=["raw", "monthly_src"], freshness_policy=freshness_policy("monthly"))
    def raw():
        '''A monthly source.'''

    defs = dg.Definitions(assets=[raw])
    """
)


def test_freshness_daemon_flags_a_monthly_source_as_it_ages(tmp_path):
    """The daemon `dagster dev` runs evaluates the policies: PASS, then WARN after 33 days, FAIL after 40.
    (Dagster's own test utilities: the daemon loop is run once per frozen date.)"""
    from dagster._core.definitions.freshness import FreshnessState
    from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time, instance_for_test
    from dagster._core.workspace.load_target import PythonFileTarget
    from dagster._daemon.freshness import FreshnessDaemon

    module = tmp_path / "freshness_defs.py"
    module.write_text(FRESHNESS_DEFS)
    key = dg.AssetKey(["raw", "monthly_src"])
    t0 = dt.datetime(2026, 1, 3, 6, tzinfo=dt.timezone.utc)
    states = {}
    with instance_for_test() as instance:
        target = PythonFileTarget(python_file=str(module), attribute="defs", working_directory=str(REPO_ROOT), location_name="t")
        with create_test_daemon_workspace_context(target, instance) as workspace:
            repo = workspace.create_request_context().get_code_location_entries()["t"].code_location
            assert repo is not None, "the test code location did not load"
            with freeze_time(t0):
                instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))
            for days in (1, 34, 41):
                with freeze_time(t0 + dt.timedelta(days=days)):
                    list(FreshnessDaemon().run_iteration(workspace))
                states[days] = instance.get_freshness_state_records([key])[key].freshness_state
    assert states == {1: FreshnessState.PASS, 34: FreshnessState.WARN, 41: FreshnessState.FAIL}


BACKFILL_DEFS = textwrap.dedent(
    """
    import dagster as dg
    import duckdb
    from observatory.automation import cadence_automation
    from observatory.partitions import replace_years, yearly_partitions, years_to_build

    DB = {db!r}
    YEARS = yearly_partitions([2024, 2025, 2026])

    @dg.asset(key=["raw", "src"], tags={{"cadence": "yearly"}})
    def raw() -> dg.MaterializeResult:
        '''A yearly source.'''
        return dg.MaterializeResult()

    @dg.asset(key=["stg", "src"], deps=[raw], partitions_def=YEARS, backfill_policy=dg.BackfillPolicy.single_run())
    def stg(context) -> dg.MaterializeResult:
        '''One row per year built, tagged with the run.'''
        years = years_to_build(context)
        with duckdb.connect(DB) as con:
            replace_years(con, "stg.src", years, "select unnest($y)::integer as annee, $run as run_id", {{"y": years, "run": context.run_id}})
        return dg.MaterializeResult()

    @dg.asset(key=["marts", "m"], deps=[stg])
    def mart(context) -> dg.MaterializeResult:
        '''Every year of the staging table.'''
        with duckdb.connect(DB) as con:
            con.execute("create or replace table marts.m as select annee, run_id, $run as mart_run from stg.src", {{"run": context.run_id}})
        return dg.MaterializeResult()

    base = dg.Definitions(assets=[raw, stg, mart])
    defs = dg.Definitions.merge(base, cadence_automation(base))
    """
)


def test_a_ui_backfill_of_the_yearly_job_is_one_run_over_the_range(tmp_path):
    """What *Materialize* -> partitions 2024-2025 -> *Launch backfill* on the refresh_yearly job page
    submits (a job backfill), run by the daemon's backfill loop: the job's single-run policy makes it
    ONE run tagged with the range, where the partitioned asset writes both years and the unpartitioned
    mart is rebuilt after it (so a failed blocking check there would stop the mart)."""
    import logging
    import time

    from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
    from dagster._core.test_utils import create_test_daemon_workspace_context, instance_for_test
    from dagster._core.workspace.load_target import PythonFileTarget
    from dagster._daemon.backfill import execute_backfill_iteration

    db = tmp_path / "b.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema stg; create schema marts")
        con.execute("create table stg.src as select 2026::integer as annee, 'before' as run_id")
    module = tmp_path / "backfill_defs.py"
    module.write_text(BACKFILL_DEFS.format(db=str(db)))
    overrides = {
        "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"},
        "run_launcher": {"module": "dagster._core.launcher.sync_in_memory_run_launcher", "class": "SyncInMemoryRunLauncher"},
    }
    with instance_for_test(overrides=overrides) as instance:
        target = PythonFileTarget(python_file=str(module), attribute="defs", working_directory=str(REPO_ROOT), location_name="t")
        with create_test_daemon_workspace_context(target, instance) as workspace:
            location = workspace.create_request_context().get_code_location("t")
            (repo,) = location.get_repositories().values()
            partition_set = repo.get_partition_set("refresh_yearly_partition_set")
            instance.add_backfill(
                PartitionBackfill(
                    backfill_id="ui",
                    partition_set_origin=partition_set.get_remote_origin(),
                    status=BulkActionStatus.REQUESTED,
                    partition_names=["2024", "2025"],
                    from_failure=False,
                    reexecution_steps=None,
                    tags={},
                    backfill_timestamp=time.time(),
                )
            )
            for _ in range(3):
                list(execute_backfill_iteration(workspace, logging.getLogger("test")))
            runs = instance.get_runs()
            assert instance.get_backfill("ui").status == BulkActionStatus.COMPLETED_SUCCESS
            assert instance.get_materialized_partitions(dg.AssetKey(["stg", "src"])) == {"2024", "2025"}
    (run,) = runs
    assert (run.job_name, run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"]) == (
        "refresh_yearly",
        "2024",
        "2025",
    )
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select annee, run_id = $r from stg.src order by 1", {"r": run.run_id}).fetchall() == [
            (2024, True),
            (2025, True),
            (2026, False),
        ]
        assert con.execute("select distinct mart_run from marts.m").fetchall() == [(run.run_id,)]


DAEMON_DEFS = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    sys.path.insert(0, {tests!r})
    from test_definitions_automation import build

    defs, _ = build(Path({folder!r}))
    """
)


def test_the_daemon_ticks_then_its_sensor_runs_only_what_changed(tmp_path):
    """What `make ui`'s daemon does with the schedule and the sensor RUNNING by default, no switch touched: the
    monthly tick runs raw/monthly_src; on unchanged files the sensor's tick skips, after a new file it launches one
    run of exactly stg/monthly_src and its descendants."""
    import logging
    from zoneinfo import ZoneInfo

    from dagster._core.scheduler.instigation import TickStatus
    from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time, instance_for_test
    from dagster._core.workspace.load_target import PythonFileTarget
    from dagster._daemon.sensor import execute_sensor_iteration
    from dagster._scheduler.scheduler import launch_scheduled_runs

    defs, settings = build(tmp_path)
    module = tmp_path / "daemon_defs.py"
    module.write_text(DAEMON_DEFS.format(tests=str(Path(__file__).parent), folder=str(tmp_path)))
    overrides = {
        "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"},
        "run_launcher": {"module": "dagster._core.launcher.sync_in_memory_run_launcher", "class": "SyncInMemoryRunLauncher"},
    }
    log = logging.getLogger("test")
    paris = ZoneInfo("Europe/Paris")
    with instance_for_test(overrides=overrides) as instance:
        assert execute(defs, instance).success  # the first build (make run)
        target = PythonFileTarget(python_file=str(module), attribute="defs", working_directory=str(REPO_ROOT), location_name="t")
        with create_test_daemon_workspace_context(target, instance) as workspace:

            def daemon_at(when: dt.datetime) -> None:
                with freeze_time(when):
                    list(launch_scheduled_runs(workspace, log, when.astimezone(dt.timezone.utc), {}))
                    list(execute_sensor_iteration(workspace, log, None, None))

            def last_sensor_tick():
                (state,) = [s for s in instance.all_instigator_state() if s.instigator_name == "refresh_monthly_stale"]
                return instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)[0]

            daemon_at(dt.datetime(2026, 3, 3, 5, 59, tzinfo=paris))  # the daemon starts: nothing due yet
            before = {r.run_id for r in instance.get_runs()}
            daemon_at(dt.datetime(2026, 3, 3, 6, 0, 30, tzinfo=paris))  # the tick, then the sensor sees its run's success
            (inputs,) = [r for r in instance.get_runs() if r.run_id not in before]
            assert (inputs.job_name, inputs.tags[PHASE_TAG], inputs.asset_selection) == (
                "refresh_monthly",
                "inputs",
                {dg.AssetKey(["raw", "monthly_src"])},
            )
            tick = last_sensor_tick()
            assert tick.status == TickStatus.SKIPPED and tick.skip_reason.startswith("Up to date: 3 asset(s)")

            embed(settings.raw_dir, "monthly_src", "(2024, 'a'), (2025, 'b'), (2026, 'c')")
            before = {r.run_id for r in instance.get_runs()}
            daemon_at(dt.datetime(2026, 4, 3, 6, 0, 30, tzinfo=paris))
            last, inputs = [r for r in instance.get_runs() if r.run_id not in before]  # newest first
            assert inputs.asset_selection == {dg.AssetKey(["raw", "monthly_src"])} and PHASE_TAG not in last.tags
            assert last.asset_selection == {
                dg.AssetKey.from_user_string(k) for k in ("stg/monthly_src", "marts/combined", "publish/observatory")
            }
            assert instance.get_run_by_id(last.run_id).status == dg.DagsterRunStatus.SUCCESS
            assert last_sensor_tick().status == TickStatus.SUCCESS
