"""The real composition root: it loads, and every asset follows the house rules the UI relies on
(description, group, kinds, owners, checks, pool, schedules)."""

import datetime as dt

import dagster as dg
import pytest

from observatory.automation import CADENCE_TAG, CADENCES, MARTS_JOB
from observatory.definitions import defs

GRAPH = defs.resolve_asset_graph()
NODES = {k.to_user_string(): GRAPH.get(k) for k in GRAPH.get_all_asset_keys()}
MATERIALIZABLE = {name: n for name, n in NODES.items() if n.is_materializable}
CHECKED = {}
for ck in GRAPH.asset_check_keys:
    CHECKED.setdefault(ck.asset_key.to_user_string(), []).append(GRAPH.get_check_spec(ck))


def layer(name: str) -> str:
    return name.split("/")[0]


def test_definitions_load_and_include_the_publication():
    dg.Definitions.validate_loadable(defs)
    assert "publish/observatory" in MATERIALIZABLE
    assert any(layer(n) == "raw" for n in MATERIALIZABLE), "no source is defined"


def test_every_asset_has_description_group_kinds_and_owners():
    problems = []
    for name, node in MATERIALIZABLE.items():
        if not (node.description or "").strip():
            problems.append(f"{name}: no description (docstring)")
        if not node.group_name or node.group_name == "default":
            problems.append(f"{name}: no group_name")
        if not node.kinds:
            problems.append(f"{name}: no kinds")
        if "team:data" not in node.owners:
            problems.append(f"{name}: owners {node.owners}, expected team:data")
    assert not problems, "\n".join(problems)


def test_asset_keys_are_layer_and_name():
    bad = [n for n in MATERIALIZABLE if len(n.split("/")) != 2 or layer(n) not in ("raw", "stg", "int", "marts", "publish")]
    assert not bad, bad


def test_every_dependency_is_defined():
    """An asset depending on a key nobody defines cannot run (the UI shows it as an external stub)."""
    missing = sorted(
        f"{name} depends on {p.to_user_string()}"
        for name, node in MATERIALIZABLE.items()
        for p in node.parent_keys
        if p.to_user_string() not in MATERIALIZABLE
    )
    assert not missing, "\n".join(missing)


def test_every_mart_has_a_blocking_check():
    marts = [n for n in MATERIALIZABLE if layer(n) == "marts"]
    lacking = [n for n in marts if not any(spec.blocking for spec in CHECKED.get(n, []))]
    assert not lacking, f"marts without a blocking check: {lacking}"


def test_every_staging_table_has_a_check():
    lacking = [n for n in MATERIALIZABLE if layer(n) == "stg" and not CHECKED.get(n)]
    assert not lacking, f"stg tables without a check: {lacking}"


def test_every_staging_table_declares_its_minimum_rows():
    from observatory.definitions import declared_minimums, source_definitions

    stg = sorted(".".join(n.key.path) for name, n in MATERIALIZABLE.items() if layer(name) == "stg")
    minimums = declared_minimums(dg.Definitions.merge(*source_definitions()))
    assert sorted(minimums) == stg and all(n > 0 for n in minimums.values())
    assert minimums["stg.sirene_etablissements"] == 10_000 and minimums["stg.communes"] == 30_000


def test_raw_assets_carry_a_known_cadence_and_its_freshness_policy():
    raws = {n: node for n, node in MATERIALIZABLE.items() if layer(n) == "raw"}
    for name, node in raws.items():
        cadence = node.tags.get(CADENCE_TAG)
        assert cadence in CADENCES, f"{name}: cadence tag {cadence!r}"
        policy = node.freshness_policy
        assert policy is not None, f"{name}: no freshness policy"
        assert policy.fail_window.to_timedelta() == CADENCES[cadence].fail_after
        assert policy.warn_window.to_timedelta() == CADENCES[cadence].warn_after
        for key in ("source_url", "licence"):
            assert key in node.metadata, f"{name}: no {key} in its definition metadata"


def test_schedules_exist_with_the_expected_crons():
    schedules = {s.name: s for s in defs.schedules}
    used = {n.tags[CADENCE_TAG] for n in MATERIALIZABLE.values() if CADENCE_TAG in n.tags}
    assert used == {"monthly", "yearly"}  # SIRENE is monthly; territory, CAF and DREES are yearly
    assert {name: s.cron_schedule for name, s in schedules.items()} == {
        "refresh_monthly_schedule": "0 6 3 * *",
        "refresh_yearly_schedule": "0 6 15 1 *",
    }
    for s in schedules.values():
        assert s.execution_timezone == "Europe/Paris"
        assert s.default_status == dg.DefaultScheduleStatus.RUNNING


def test_refresh_jobs_run_sources_then_everything_downstream_to_publication():
    for cadence in ("monthly", "yearly"):
        job = defs.resolve_job_def(f"refresh_{cadence}")
        keys = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
        raws = {n for n, node in MATERIALIZABLE.items() if node.tags.get(CADENCE_TAG) == cadence}
        assert raws <= keys
        assert "publish/observatory" in keys
        others = {n for n, node in MATERIALIZABLE.items() if layer(n) == "raw" and n not in raws}
        assert not (others & keys), f"refresh_{cadence} re-reads sources of another cadence: {others & keys}"
    marts_job = defs.resolve_job_def(MARTS_JOB)
    assert "publish/observatory" in {k.to_user_string() for k in marts_job.asset_layer.selected_asset_keys}


def _pool(definition) -> str | None:
    return definition.op.pool


@pytest.mark.parametrize("kind", ["assets", "checks"])
def test_warehouse_writers_run_in_the_duckdb_pool_and_downloads_in_none(kind):
    problems = []
    items = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)] if kind == "assets" else list(defs.asset_checks or [])
    for item in items:
        name = item.node_def.name
        uses_warehouse = "warehouse" in item.required_resource_keys
        pool = _pool(item)
        if uses_warehouse and pool != "duckdb":
            problems.append(f"{name}: uses the warehouse but runs in pool {pool!r}")
        if not uses_warehouse and pool is not None:
            problems.append(f"{name}: does not touch the warehouse but holds pool {pool!r}")
    assert not problems, "\n".join(problems)


def test_yearly_partitions_are_shared_single_run_and_the_ticks_run_the_raw_assets():
    from assets.common.years import YEARS

    partitioned = {n: node for n, node in MATERIALIZABLE.items() if node.partitions_def is not None}
    assert sorted(partitioned) == ["stg/caf_coverage_commune", "stg/caf_places_commune", "stg/communes", "stg/epci", "stg/epci_membership"]
    for name, node in partitioned.items():
        assert node.partitions_def == YEARS, name
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), name  # a range backfill = one run
    yearly = {k.to_user_string() for k in defs.resolve_job_def("refresh_yearly").asset_layer.selected_asset_keys}
    monthly = {k.to_user_string() for k in defs.resolve_job_def("refresh_monthly").asset_layer.selected_asset_keys}
    assert set(partitioned) <= yearly and not set(partitioned) & monthly
    assert defs.resolve_job_def("refresh_monthly").partitions_def is None  # the SIRENE run takes no partition key
    # a tick runs its cadence's raw assets only, no partition key: the sensor then runs what is stale, every year
    for cadence, when in (("yearly", dt.datetime(2027, 1, 15, 6)), ("monthly", dt.datetime(2026, 3, 3, 6))):
        with dg.build_schedule_context(scheduled_execution_time=when, repository_def=defs.get_repository_def()) as ctx:
            (request,) = defs.resolve_schedule_def(f"refresh_{cadence}_schedule").evaluate_tick(ctx).run_requests
        raw = {k for k, node in MATERIALIZABLE.items() if node.tags.get("cadence") == cadence}
        assert raw and {k.to_user_string() for k in request.asset_selection} == raw, cadence
        assert request.partition_key is None and request.tags["observatory/phase"] == "inputs"
