"""A refresh launched from the UI against the same selection from the command line (docs/performance.md,
"UI-launched runs"; budget: UI ≤ 1.2 × CLI).

On a copy of the repository's data directory (``data/raw``, and ``data/build`` if there is one) and a private
DAGSTER_HOME holding observatory/dagster.yaml, so the repository's own data/marts and run history are untouched:

1. ``python -m observatory run`` (everything), then ``python -m observatory run --select <rebuild_marts' assets>``,
   with no UI running;
2. ``make ui`` on a free port, then each job (``build_everything``, ``rebuild_marts``) launched through GraphQL as
   the Launchpad does, polled until finished.

Times are wall clock, from the command (or the launch) to the end of the run as seen by its caller, so the UI
figure includes the queue, the daemon's dequeue and the run worker's start. Prints both, the ratio and the load
average (1 min) before and after each run: another process on the machine shows up there.

    .venv/bin/python -m benchmarks.ui_run [--repeat N] [--jobs rebuild_marts,build_everything]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.webserver import STARTUP_S, UI, free_port, start_ui, stop
from observatory.automation import ALL_JOB, MARTS_JOB
from observatory.settings import REPO_ROOT, Settings

RUN_TIMEOUT_S = 1800


@dataclass
class Timing:
    job: str
    how: str
    seconds: float
    ok: bool
    load_before: float
    load_after: float


def selection_of(job: str, skip: list[str]) -> tuple[str | None, list[list[str]] | None, dict[str, str]]:
    """The CLI's ``--select`` for ``job``'s assets (None: everything), the same assets for a UI launch (None: the
    whole job), both without ``skip`` and what depends on it, and the partition tags the CLI adds, which a UI
    launch must carry to build the same partitions."""
    import dagster as dg

    from observatory.definitions import build_definitions
    from observatory.partitions import all_years_tags

    defs = build_definitions(Settings.from_env())
    graph = defs.resolve_asset_graph()
    keys = set(defs.resolve_job_def(job).asset_layer.selected_asset_keys)
    if skip:
        keys -= dg.AssetSelection.from_coercible(skip).required_multi_asset_neighbors().downstream().resolve(graph)
    pdefs = {graph.get(k).partitions_def for k in keys if graph.get(k).partitions_def}
    tags = all_years_tags(next(iter(pdefs))) if pdefs else {}
    if job == ALL_JOB and not skip:
        return None, None, tags
    ordered = sorted(keys, key=lambda k: k.to_user_string())
    return " or ".join(f'key:"{k.to_user_string()}"' for k in ordered), ([list(k.path) for k in ordered] if skip else None), tags


def cli_run(job: str, selection: str | None, env: dict[str, str]) -> Timing:
    cmd = [sys.executable, "-m", "observatory", "run", "--full", *(["--select", selection] if selection else [])]
    before = os.getloadavg()[0]
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
    return Timing(job, "cli", seconds, done.returncode == 0, before, os.getloadavg()[0])


def ui_run(ui: UI, location: str, repository: str, job: str, assets: list[list[str]] | None, tags: dict[str, str]) -> Timing:
    before = os.getloadavg()[0]
    started = time.monotonic()
    run_id = ui.launch(location, repository, job, tags, assets)
    run = ui.wait(run_id, RUN_TIMEOUT_S, poll_s=0.5)
    seconds = time.monotonic() - started
    return Timing(job, "ui", seconds, run["status"] == "SUCCESS", before, os.getloadavg()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ui_run")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--jobs", default=f"{ALL_JOB},{MARTS_JOB}", help="comma-separated jobs, in the order run")
    parser.add_argument(
        "--data",
        type=Path,
        default=REPO_ROOT / "data",
        help="data directory copied for the runs (its raw/ and build/, if any): a built one lets --jobs rebuild_marts alone",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        help="asset key (e.g. marts/merger_effect) left out with everything downstream of it, from both the CLI and "
        "the UI runs: the executor's overhead without a long CPU-bound step",
    )
    args = parser.parse_args(argv)
    jobs = args.jobs.split(",")
    timings: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="observatory-ui-bench-") as tmp:
        tmp_path = Path(tmp)
        data, home = tmp_path / "data", tmp_path / "dagster_home"
        shutil.copytree(args.data / "raw", data / "raw", symlinks=True)
        if (args.data / "build").is_dir():
            shutil.copytree(args.data / "build", data / "build", symlinks=True, ignore=shutil.ignore_patterns("*.lock"))
        home.mkdir()
        shutil.copy(REPO_ROOT / "observatory" / "dagster.yaml", home / "dagster.yaml")
        env = {**os.environ, "DAGSTER_HOME": str(home), "OBSERVATORY_DATA_DIR": str(data), "GX_ANALYTICS_ENABLED": "false"}
        os.environ.update(env)  # selection_of builds the definitions of this data directory
        plans = {job: selection_of(job, args.skip) for job in jobs}
        # A rebuild_marts needs the tables of a full build: the first CLI run of everything (if selected) makes them.
        for _ in range(args.repeat):
            for job in jobs:
                timings.append(cli_run(job, plans[job][0], env))
                print(_line(timings[-1]), flush=True)
        port = free_port()
        proc = start_ui(port, home, data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            ui = UI(port)
            deadline = time.monotonic() + STARTUP_S
            if ui.server_info(proc, deadline) is None:
                raise SystemExit(f"make ui did not answer within {STARTUP_S} s")
            location = ui.location(deadline)
            if not location or location["__typename"] != "RepositoryLocation":
                raise SystemExit(f"code location did not load: {location}")
            repository = location["repositories"][0]["name"]
            for _ in range(args.repeat):
                for job in jobs:
                    timings.append(ui_run(ui, location["name"], repository, job, plans[job][1], plans[job][2]))
                    print(_line(timings[-1]), flush=True)
        finally:
            stop(proc)
    print(f"\n{'job':<18} {'CLI':>9} {'UI':>9} {'UI/CLI':>7}   (best of {args.repeat}; load 1 min before→after)")
    failed = [t for t in timings if not t.ok]
    for job in jobs:
        cli = min(t.seconds for t in timings if t.job == job and t.how == "cli")
        ui_s = min(t.seconds for t in timings if t.job == job and t.how == "ui")
        loads = ", ".join(f"{t.how} {t.load_before:.2f}→{t.load_after:.2f}" for t in timings if t.job == job)
        print(f"{job:<18} {cli:>8.1f}s {ui_s:>8.1f}s {ui_s / cli:>7.2f}   {loads}")
    print(f"CPUs: {os.cpu_count()}")
    if failed:
        print(f"FAILED runs: {', '.join(f'{t.how} {t.job}' for t in failed)}", file=sys.stderr)
        return 1
    return 0


def _line(t: Timing) -> str:
    return f"{t.how:<3} {t.job:<18} {t.seconds:7.1f} s  {'ok' if t.ok else 'FAILED'}  load {t.load_before:.2f}→{t.load_after:.2f}"


if __name__ == "__main__":
    sys.exit(main())
