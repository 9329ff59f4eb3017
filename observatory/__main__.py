"""Command line: ``python -m observatory run`` materializes every asset and publishes the marts.

Runs in-process against the persistent Dagster instance (``DAGSTER_HOME``, set by the Makefile),
so the run also appears in the UI's run history. Exit status 1 if any step or blocking check failed
(in which case nothing was published).

The yearly-partitioned assets (``observatory.partitions``) get every year in this one run: the run
carries the partition range tags first year..last year, so each of them writes all its years at
once and Dagster records every partition as materialized; unpartitioned assets run as usual.
"""

from __future__ import annotations

import argparse
import sys

import dagster as dg

from observatory.definitions import build_definitions
from observatory.partitions import all_years_tags
from observatory.publish import PUBLICATION_KEY, SITE_KEY, rollback
from observatory.runs import RunInProgress, exclusive_run, failure_line, guarded_run
from observatory.settings import Settings


def execute(defs: dg.Definitions, instance: dg.DagsterInstance, selection: str | None = None, *,
            run_id: str | None = None, tags: dict[str, str] | None = None) -> dg.ExecuteInProcessResult:
    """The whole graph (or ``selection``) in one in-process run, every year of the partitioned assets."""
    job = defs.resolve_implicit_global_asset_job_def()
    graph = defs.resolve_asset_graph()
    # a key of a multi-asset that cannot be subset brings its siblings (`--select stg/sirene_etablissements`)
    keys = list(dg.AssetSelection.from_coercible(selection).required_multi_asset_neighbors().resolve(graph)) if selection else None
    partitioned = {graph.get(k).partitions_def for k in (keys or graph.get_all_asset_keys()) if graph.get(k).partitions_def}
    if len(partitioned) > 1:
        raise dg.DagsterInvalidDefinitionError("the partitioned assets must share observatory.partitions.YEARS")
    return job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        asset_selection=keys,
        run_id=run_id,
        tags={**(all_years_tags(next(iter(partitioned))) if partitioned else {}), **(tags or {})} or None,
    )


def run(settings: Settings, selection: str | None = None) -> bool:
    defs = build_definitions(settings)
    # The Makefile sets DAGSTER_HOME so that runs appear in the UI's history.
    instance = dg.DagsterInstance.get() if settings.dagster_home else dg.DagsterInstance.ephemeral()
    # One run per data directory, after recovering what a killed run left; Ctrl-C / SIGTERM stop it (observatory.runs).
    try:
        result = guarded_run(settings, instance, lambda run_id, tags: execute(defs, instance, selection, run_id=run_id, tags=tags))
    except RunInProgress as exc:
        print(f"REFUSED: {exc}", file=sys.stderr)
        return False
    failed = [e for e in result.all_events if e.event_type_value in ("STEP_FAILURE",)]
    checks_failed = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
    ]
    for e in failed:
        print(f"FAILED step {e.step_key}: {e.event_specific_data.error.message.strip()}", file=sys.stderr)
    for ev in checks_failed:
        print(f"FAILED check {ev.asset_key.to_user_string()}:{ev.check_name} -> {getattr(dict(ev.metadata).get('failures'), 'value', '')}", file=sys.stderr)
    ok = result.success and not failed and not checks_failed
    materialized = {e.asset_key for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}
    if not ok:
        print("FAILED: nothing was published; the previous marts are untouched.", file=sys.stderr)
        if failed:  # the last line names the asset and the cause (file, column, expectation), not Dagster's wrapper
            ops = {a.op.name: ", ".join(k.to_user_string() for k in sorted(a.keys, key=str))
                   for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition) and a.is_executable}
            step = failed[0].step_key
            print(failure_line(ops.get(step, step), failed[0].event_specific_data.error), file=sys.stderr)
    elif PUBLICATION_KEY in materialized:
        print(f"OK: every selected asset materialized and the marts are published in {settings.marts_dir}")
    elif SITE_KEY not in materialized:
        print("OK: every selected asset materialized (publication was not in the selection).")
    if ok and SITE_KEY in materialized:
        print(f"Site: open {(settings.marts_dir / 'site' / 'index.html').absolute().as_uri()} in a browser (works offline)")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m observatory")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="materialize every asset and publish the marts")
    p_run.add_argument("--select", default=None, help="Dagster asset selection (default: everything)")
    sub.add_parser("rollback", help="make the previous publication current again (data/marts/current)")
    args = parser.parse_args(argv)
    if args.command == "run":
        return 0 if run(Settings.from_env(), args.select) else 1
    if args.command == "rollback":
        settings = Settings.from_env()
        with exclusive_run(settings):
            print(f"OK: {settings.marts_dir / 'current'} -> {rollback(settings.marts_dir)}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
