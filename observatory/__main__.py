"""Command line: ``python -m observatory run`` materializes every asset and publishes the marts.

Runs in-process against the persistent Dagster instance (``DAGSTER_HOME``, set by the Makefile),
as the named job ``build_everything`` tagged ``observatory/launched_by=cli``, so the run also appears
in the UI's run history and Overview timeline with its Target. Exit status 1 if any step or blocking
check failed (in which case nothing was published); the failure is then also delivered as an alert
(``observatory.alerts``: the log file, webhook, e-mail of the settings), since the daemon's alert sensors skip
runs tagged ``observatory/launched_by=cli`` and a terminal run may have no daemon beside it.

The terminal is for a person: Dagster's log at INFO (what the assets say: progress of long steps,
check outcomes), then one line per asset with its rows and seconds, then a summary (marts published,
rows, total time, where the DuckDB file, the Parquet folder and the site are). ``-v`` shows Dagster's
DEBUG event log as well.

The yearly-partitioned assets (``observatory.partitions``) get every year in this one run: the run
carries the partition range tags first year..last year, so each of them writes all its years at
once and Dagster records every partition as materialized; unpartitioned assets run as usual.
"""

from __future__ import annotations

import os

# Before numpy is first imported (through dagster): one BLAS thread, as the Makefile sets, for a direct
# `python -m observatory run` too; the merger study's small least-squares fits are 2 x slower with more.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import sys
import time
from typing import Sequence

import dagster as dg

from observatory.alerts import CLI_TAG, CLI_TODO, Alert, deliver
from observatory.automation import ALL_JOB
from observatory.definitions import build_definitions
from observatory.incremental import PHASE_TAG, Plan, is_raw, stale
from observatory.partitions import selection_tags
from observatory.publish import PUBLICATION_KEY, SITE_KEY, published_outputs, rollback
from observatory.runs import RunInProgress, exclusive_run, failure_line, guarded_run
from observatory.settings import Settings

#: Tag of the runs launched from the command line (filter on it in the UI's run list).
LAUNCHED_BY_TAG = CLI_TAG[0]


def selected_keys(defs: dg.Definitions, selection: str | Sequence[dg.AssetKey] | None) -> list[dg.AssetKey]:
    """The asset keys of ``selection`` (every asset when None); a key of a multi-asset that cannot be subset
    brings its siblings (``--select stg/sirene_etablissements``)."""
    graph = defs.resolve_asset_graph()
    if selection is None:
        return sorted(graph.materializable_asset_keys, key=lambda k: k.to_user_string())
    chosen = dg.AssetSelection.assets(*selection) if not isinstance(selection, str) else dg.AssetSelection.from_coercible(selection)
    return sorted(chosen.required_multi_asset_neighbors().resolve(graph), key=lambda k: k.to_user_string())


def execute(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    selection: str | Sequence[dg.AssetKey] | None = None,
    *,
    log_level: str = "INFO",
    run_id: str | None = None,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """The whole graph (or ``selection``) in one in-process run of the ``build_everything`` job, every year
    of the partitioned assets; Dagster's console log at ``log_level``."""
    # A hand-made Definitions (tests) has no build_everything job: the implicit asset job then.
    named = any(getattr(j, "name", None) == ALL_JOB for j in defs.jobs or [])
    job = defs.resolve_job_def(ALL_JOB) if named else defs.resolve_implicit_global_asset_job_def()
    graph = defs.resolve_asset_graph()
    keys = selected_keys(defs, selection) if selection is not None else None
    tags = {LAUNCHED_BY_TAG: CLI_TAG[1], **selection_tags(graph, keys or graph.get_all_asset_keys()), **(tags or {})}
    return job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        asset_selection=keys,
        run_id=run_id,
        tags=tags,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )


def asset_lines(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, int | None, float | None, int]]:
    """(asset, rows, seconds of its step, partitions written) for every asset the run materialized, in order:
    one line per asset, however many yearly partitions its step wrote."""
    started: dict[str, float] = {}
    ended: dict[str, float] = {}
    materialized: dict[str, list] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            ended[event.step_key] = entry.timestamp
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            m = event.event_specific_data.materialization
            rows = getattr(m.metadata.get("dagster/row_count"), "value", None)
            line = materialized.setdefault(m.asset_key.to_user_string(), [rows, event.step_key, 0])
            line[2] += 1
    out = []
    for key, (rows, step, count) in materialized.items():
        seconds = ended[step] - started[step] if step in started and step in ended else None
        out.append((key, rows, seconds, count))
    return out


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def summary(
    settings: Settings,
    defs: dg.Definitions,
    results: Sequence[dg.ExecuteInProcessResult],
    instance: dg.DagsterInstance,
    elapsed: float,
    plan: Plan | None = None,
) -> tuple[bool, list[str]]:
    """Whether the run succeeded, and the lines a person reads at the end of it."""
    events = [e for r in results for e in r.all_events]
    failed = [e for e in events if e.event_type_value == "STEP_FAILURE"]
    checks_failed = [
        e.event_specific_data for e in events if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
    ]
    lines = [
        f"{key:<45} {'' if rows is None else f'{rows:,} rows':>15} {'' if s is None else f'{s:.1f} s':>9}"
        f"{f'  ({n} years)' if n > 1 else ''}".rstrip()
        for r in results
        for key, rows, s, n in asset_lines(instance, r.run_id)
    ]
    for e in failed:
        lines.append(f"FAILED step {e.step_key}: {e.event_specific_data.error.message.strip()}")
    for ev in checks_failed:
        lines.append(
            f"FAILED check {ev.asset_key.to_user_string()}:{ev.check_name} -> {getattr(dict(ev.metadata).get('failures'), 'value', '')}"
        )
    ok = all(r.success for r in results) and not failed and not checks_failed
    materialized = {e.asset_key for e in events if e.event_type_value == "ASSET_MATERIALIZATION"}
    marts = settings.marts_dir.absolute()
    where = [f"  DuckDB:  {marts / 'observatory.duckdb'}", f"  Parquet: {marts / 'parquet'}/"]
    if ok and plan is not None and plan.skip:
        lines.append(
            f"Up to date: {len(plan.skip)} asset(s) skipped, their code and inputs unchanged since their last "
            f"materialization; {len(plan.run)} recomputed. `make run FULL=1` rebuilds everything."
        )
    if not ok:
        lines.append(f"FAILED after {duration(elapsed)}: nothing was published; the previous marts are untouched.")
        if failed:  # the last line names the asset and the cause (file, column, expectation), not Dagster's wrapper
            ops = {
                a.op.name: ", ".join(k.to_user_string() for k in sorted(a.keys, key=str))
                for a in defs.assets or []
                if isinstance(a, dg.AssetsDefinition) and a.is_executable
            }
            step = failed[0].step_key
            lines.append(failure_line(ops.get(step, step), failed[0].event_specific_data.error))
    elif PUBLICATION_KEY in materialized:
        rows = next(
            (
                dict(e.event_specific_data.materialization.metadata)["row_counts"].value
                for e in events
                if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key == PUBLICATION_KEY
            ),
            {},
        )
        lines += [f"OK: {len(rows)} marts published ({sum(rows.values()):,} rows) in {duration(elapsed)}", *where]
    elif plan is not None and PUBLICATION_KEY in plan.skip:
        lines += [f"OK: the published marts are current (nothing they depend on changed), checked in {duration(elapsed)}", *where]
    elif plan is not None and not plan.run:
        lines.append(f"OK: every selected asset is up to date, checked in {duration(elapsed)}.")
    else:
        lines.append(f"OK: every selected asset materialized in {duration(elapsed)} (publication was not in the selection).")
    if ok and (SITE_KEY in materialized or (plan is not None and SITE_KEY in plan.skip)):
        lines.append(f"  Site:    {(marts / 'site' / 'index.html').as_uri()} (open in a browser; works offline)")
    return ok, lines


def build(
    settings: Settings,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    selection: str | None,
    *,
    full: bool,
    log_level: str,
    run_id: str,
    tags: dict[str, str],
) -> tuple[list[dg.ExecuteInProcessResult], Plan | None]:
    """The run(s) of a command-line build. ``full``: one run of the whole selection. Otherwise
    (``observatory.incremental``): a run of the selection's raw assets (verify or download the files), then one
    run of what is stale; nothing more when everything is up to date."""
    if full:
        return [execute(defs, instance, selection, log_level=log_level, run_id=run_id, tags=tags)], None
    keys = selected_keys(defs, selection)
    raw = [k for k in keys if is_raw(k)]
    results = []
    if raw:
        results.append(execute(defs, instance, raw, log_level=log_level, tags={**tags, PHASE_TAG: "inputs"}))
        if not results[-1].success:
            return results, None
    plan = stale(defs, instance, keys, build_db=settings.build_db, present=published_outputs(settings.marts_dir))
    if plan.run:
        results.append(execute(defs, instance, sorted(plan.run, key=str), log_level=log_level, run_id=run_id, tags=tags))
    return results, plan


def run(settings: Settings, selection: str | None = None, *, verbose: bool = False, full: bool = False) -> bool:
    started = time.monotonic()
    defs = build_definitions(settings)
    # The Makefile sets DAGSTER_HOME so that runs appear in the UI's history.
    instance = dg.DagsterInstance.get() if settings.dagster_home else dg.DagsterInstance.ephemeral()
    level = "DEBUG" if verbose else "INFO"
    # One run per data directory, after recovering what a killed run left; Ctrl-C / SIGTERM stop it (observatory.runs).
    try:
        results, plan = guarded_run(
            settings,
            instance,
            lambda run_id, tags: build(settings, defs, instance, selection, full=full, log_level=level, run_id=run_id, tags=tags),
        )
    except RunInProgress as exc:
        print(f"REFUSED: {exc}", file=sys.stderr)
        return False
    ok, lines = summary(settings, defs, results, instance, time.monotonic() - started, plan)
    if not ok:  # the daemon's sensors skip CLI runs (observatory.alerts): the CLI alerts for itself, once
        last = results[-1]
        failed = [line.removeprefix("FAILED ") for line in lines if line.startswith(("FAILED step", "FAILED check"))]
        reached = deliver(Alert(last.run_id, last.job_def.name, "run failed", failed, lines[-1], CLI_TODO), settings)
        lines.insert(-1, f"alert written to {', '.join(reached)}")  # the last line stays the cause
    print("\n".join(lines), file=sys.stdout if ok else sys.stderr)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m observatory")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="materialize every asset and publish the marts")
    p_run.add_argument("--select", default=None, help="Dagster asset selection (default: everything)")
    p_run.add_argument("-v", "--verbose", action="store_true", help="show Dagster's DEBUG event log too")
    p_run.add_argument(
        "--full",
        action="store_true",
        help="rebuild every selected asset, even those whose code and inputs did not change (make run FULL=1)",
    )
    sub.add_parser("rollback", help="make the previous publication current again (data/marts/current)")
    args = parser.parse_args(argv)
    if args.command == "run":
        return 0 if run(Settings.from_env(), args.select, verbose=args.verbose, full=args.full) else 1
    if args.command == "rollback":
        settings = Settings.from_env()
        with exclusive_run(settings):
            print(f"OK: {settings.marts_dir / 'current'} -> {rollback(settings.marts_dir)}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
