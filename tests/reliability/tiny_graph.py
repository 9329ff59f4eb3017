"""A two-asset graph for the run-level reliability tests, runnable as a script in a child process.

``python tests/reliability/tiny_graph.py <data_dir> <mode>`` runs it through ``observatory.runs.guarded_run`` (the
same path as ``python -m observatory run``) against the Dagster instance of ``DAGSTER_HOME``:

* ``hang``: the writer step takes the ``duckdb`` slot, writes ``<data_dir>/step-started`` and then hangs (the test
  kills the process there);
* ``ok``: the writer step finishes at once and the run publishes;
* ``floats``: as ``ok``, the mart summing fractions over rows in a new random order each run, grouped (rows out in
  no fixed order), as the real marts' parallel aggregations do: the determinism test publishes it twice.
"""

import sys
import time
from pathlib import Path

import dagster as dg

from observatory.definitions import resources_for
from observatory.publish import publication_asset
from observatory.quality import RowCount, table_check
from observatory.resources import Warehouse
from observatory.runs import guarded_run
from observatory.settings import Settings

MART = dg.AssetKey(["marts", "tiny"])
STARTED = "step-started"


def definitions(settings: Settings, mode: str) -> dg.Definitions:
    @dg.asset(key=MART, group_name="marts", kinds={"duckdb"}, owners=["team:data"], pool="duckdb")
    def tiny(warehouse: Warehouse) -> dg.MaterializeResult:
        """One row."""
        with warehouse.connect() as con:
            if mode == "floats":  # summed exactly, as assets/marts/*.sql sum fractional quantities
                con.execute(
                    "create or replace table marts.tiny as "
                    "with facts as (select i % 5 as k, 1.0 / (3 + i % 11) as share from range(100000) t(i) order by random()) "
                    "select 1 as v, k, cast(sum(share::decimal(38, 18)) as double) as total, count(*) as n from facts group by k"
                )
            else:
                con.execute("create or replace table marts.tiny as select 1 as v")
        (Path(settings.data_dir) / STARTED).write_text("started")
        if mode == "hang":
            time.sleep(600)
        return dg.MaterializeResult()

    check = table_check("marts.tiny", [RowCount(min_value=1)])
    return dg.Definitions(
        assets=[tiny, publication_asset([MART], checks={"marts.tiny": [c.name for c in check.check_specs]})],
        asset_checks=[check],
        resources=resources_for(settings),
    )


def run(settings: Settings, instance: dg.DagsterInstance, mode: str, say=print) -> dg.ExecuteInProcessResult:
    job = definitions(settings, mode).resolve_implicit_global_asset_job_def()
    return guarded_run(
        settings,
        instance,
        lambda run_id, tags: job.execute_in_process(instance=instance, run_id=run_id, tags=tags, raise_on_error=False),
        say=say,
    )


if __name__ == "__main__":
    data_dir, mode = Path(sys.argv[1]), sys.argv[2]
    with dg.DagsterInstance.get() as instance:
        result = run(Settings(data_dir=data_dir), instance, mode)
    sys.exit(0 if result.success else 1)
