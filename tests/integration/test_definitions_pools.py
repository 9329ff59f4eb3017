"""The `duckdb` pool of observatory/dagster.yaml is honoured by Dagster 1.13: warehouse writers never
run at the same time, whether steps of one run (a multiprocess executor: the pool alone) or
of two runs in two processes (`python -m observatory run` beside the UI: the pool plus the
Warehouse's OS lock, since slot claims on SQLite storage can race between processes). Steps record when they start and end;
the test checks the order of those instants, not a duration."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import yaml

from observatory.settings import REPO_ROOT

JOBS = textwrap.dedent(
    """
    import json, os, time
    from pathlib import Path
    import dagster as dg

    LOG = Path(os.environ["POOL_TEST_LOG"])

    def work(name, lock=False):
        if lock:  # a real warehouse writer: the Warehouse's own lock around the write
            from observatory.resources import Warehouse
            with Warehouse(path=os.environ["POOL_TEST_DB"]).connect():
                return work(name)
        start = time.time()
        time.sleep(0.5)
        with open(LOG, "a") as fh:
            fh.write(json.dumps({"name": name, "start": start, "end": time.time(), "pid": os.getpid()}) + "\\n")

    def make(name, pool):
        @dg.asset(name=name, pool=pool)
        def _a():
            work(name, lock=pool == "duckdb" and "POOL_TEST_DB" in os.environ)
        return _a

    writers = [make(f"writer_{i}", "duckdb") for i in range(3)]
    downloads = [make(f"download_{i}", None) for i in range(2)]

    def job():
        return dg.Definitions(
            assets=[*writers, *downloads],
            jobs=[dg.define_asset_job("all", executor_def=dg.multiprocess_executor.configured({"max_concurrent": 5}))],
        ).resolve_job_def("all")

    if __name__ == "__main__":
        # One in-process run of two writers, started when the parent says go.
        go = Path(os.environ["POOL_TEST_GO"])
        Path(str(go) + "." + str(os.getpid())).touch()
        while not go.exists():
            time.sleep(0.01)
        with dg.DagsterInstance.get() as instance:
            ok = dg.materialize(writers[:2], instance=instance).success
        raise SystemExit(0 if ok else 1)
    """
)


def home_with_our_config(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "observatory" / "dagster.yaml", home / "dagster.yaml")
    return home


def intervals(log: Path, prefix: str) -> list[tuple[float, float]]:
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    return sorted((r["start"], r["end"]) for r in rows if r["name"].startswith(prefix))


def assert_serial(spans: list[tuple[float, float]]) -> None:
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert e1 <= s2, f"two duckdb writers overlapped: {s1:.2f}-{e1:.2f} and {s2:.2f}-{e2:.2f}"


def test_dagster_yaml_sets_one_slot_for_unconfigured_pools():
    config = yaml.safe_load((REPO_ROOT / "observatory" / "dagster.yaml").read_text())
    assert config["concurrency"]["pools"] == {"default_limit": 1, "granularity": "op"}
    assert config["telemetry"] == {"enabled": False}


def test_pool_serializes_writer_steps_of_one_multiprocess_run(tmp_path, monkeypatch):
    home = home_with_our_config(tmp_path)
    log = tmp_path / "steps.jsonl"
    monkeypatch.setenv("POOL_TEST_LOG", str(log))
    (tmp_path / "pool_jobs_multiprocess.py").write_text(JOBS)
    # Each step runs in its own process, which re-imports the job from this module.
    job = dg.build_reconstructable_job("pool_jobs_multiprocess", "job", reconstructor_working_directory=str(tmp_path))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.global_op_concurrency_default_limit == 1
        result = dg.execute_job(job, instance=instance)
        assert result.success
        info = instance.event_log_storage.get_concurrency_info("duckdb")
    assert (info.limit, info.slot_count, info.using_default_limit) == (1, 1, True)
    assert len(intervals(log, "writer_")) == 3 and len(intervals(log, "download_")) == 2
    assert_serial(intervals(log, "writer_"))


def test_writers_of_two_in_process_runs_in_two_processes_never_overlap(tmp_path):
    """Two processes: the pool's slot claims on SQLite storage can race (seen in CI-like runs), so
    the guarantee comes from the pool plus the Warehouse's OS lock; the writers go through it."""
    home = home_with_our_config(tmp_path)
    log, go = tmp_path / "steps.jsonl", tmp_path / "go"
    script = tmp_path / "pool_jobs.py"
    script.write_text(JOBS)
    # The storage of a new DAGSTER_HOME is created by its first user (the UI, in real life), not by
    # two runs racing to create the same tables.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert dg.materialize([dg.asset(name="init")(lambda: None)], instance=instance).success
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "POOL_TEST_LOG": str(log),
        "POOL_TEST_GO": str(go),
        "PYTHONPATH": str(REPO_ROOT),
        "POOL_TEST_DB": str(tmp_path / "warehouse.duckdb"),
    }
    procs = [
        subprocess.Popen([sys.executable, str(script)], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    try:
        # Release both runs together, once both processes have imported Dagster.
        for _ in range(6000):
            if len(list(tmp_path.glob("go.*"))) == 2 or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.02)
        go.touch()
        errors = [p.communicate(timeout=240)[1].decode() for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], [e[e.find("Error") :][:3000] for e in errors]
    spans = intervals(log, "writer_")
    assert len(spans) == 4
    assert_serial(spans)


def test_every_job_runs_in_process_as_the_command_line_does():
    """A UI launch executes as `python -m observatory run` does (observatory.automation.JOB_EXECUTOR): no process
    per step, no slot-wait backoff between writers."""
    from observatory.definitions import defs

    executors = {job.name: job.executor_def.name for job in (defs.resolve_job_def(j.name) for j in defs.jobs or [])}
    assert executors == {
        "rebuild_marts": "in_process",
        "build_everything": "in_process",
        "refresh_monthly": "in_process",
        "refresh_yearly": "in_process",
    }
