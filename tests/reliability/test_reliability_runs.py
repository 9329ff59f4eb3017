"""A killed run never blocks the next one, two runs never share a data directory, and a waiting run stops on
SIGTERM. Child processes run the tiny graph of ``tiny_graph.py`` through ``observatory.runs.guarded_run`` (the
path of ``python -m observatory run``) against a persistent Dagster instance in ``tmp_path``."""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRun

import tiny_graph
from observatory.publish import published_files
from observatory.resources import Warehouse, WarehouseBusy
from observatory.runs import DATA_TAG, HOST_TAG, PID_TAG, RunInProgress, exclusive_run, guarded_run
from observatory.settings import REPO_ROOT, Settings

HERE = Path(__file__).parent


@pytest.fixture
def home(tmp_path) -> Path:
    """A DAGSTER_HOME with the project's instance configuration (pool limit 1)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "observatory" / "dagster.yaml", home / "dagster.yaml")
    return home


def child(home: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{HERE}"}
    return subprocess.Popen(
        [sys.executable, "-u", str(HERE / "tiny_graph.py"), *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(predicate, proc: subprocess.Popen, what: str, limit: float = 120) -> None:
    """Poll until ``predicate()``; a child that exits first fails the test with its output (a safety limit only)."""
    deadline = time.monotonic() + limit
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"child exited ({proc.returncode}) before {what}: {proc.stdout.read()} {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"child never reached: {what}")
        time.sleep(0.2)


def slots(instance: dg.DagsterInstance) -> list[str]:
    return [s.run_id for s in instance.event_log_storage.get_concurrency_info("duckdb").claimed_slots]


def test_a_run_killed_holding_the_slot_is_recovered_by_the_next_run_without_help(tmp_path, home):
    settings = Settings(data_dir=tmp_path / "data")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert tiny_graph.run(settings, instance, "ok").success  # a first publication
    before = published_files(settings.marts_dir)
    (settings.data_dir / tiny_graph.STARTED).unlink()

    proc = child(home, str(settings.data_dir), "hang")
    wait_for(lambda: (settings.data_dir / tiny_graph.STARTED).exists(), proc, "the writer step")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # a staging folder as a publication killed half-way leaves it
    stale = settings.marts_dir / "versions" / ".staging-dead0000"
    stale.mkdir()
    (stale / "observatory.duckdb").write_bytes(b"half")
    (stale / ".owner").write_text(f'{{"pid": {proc.pid}}}')

    with dg.DagsterInstance.from_config(str(home)) as instance:
        (killed,) = [r for r in instance.get_runs() if r.status == dg.DagsterRunStatus.STARTED]
        assert slots(instance) == [killed.run_id]  # the dead run kept the duckdb slot: before, every later run hung
        lines: list[str] = []
        result = tiny_graph.run(settings, instance, "ok", say=lines.append)
        assert result.success
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
        assert slots(instance) == []
    assert lines == [
        f"Recovered: marked failed 1 run(s) whose process is gone ({killed.run_id[:8]}); "
        f"freed the slots of 1 finished run(s) in pool duckdb; removed 1 stale staging folder(s) (0.0 MB)."
    ]
    assert not stale.exists()
    after = published_files(settings.marts_dir)
    assert after.keys() == before.keys() and after["run.json"] != before["run.json"]  # a new, whole set


def test_sigterm_stops_a_run_waiting_on_a_slot_held_by_a_live_run_and_names_the_holder(tmp_path, home):
    settings = Settings(data_dir=tmp_path / "data")
    holder = str(uuid.uuid4())
    with dg.DagsterInstance.from_config(str(home)) as instance:
        # a live run (this test process) of another data directory holds the slot
        instance.add_run(
            DagsterRun(
                job_name="ui_job",
                run_id=holder,
                status=dg.DagsterRunStatus.STARTED,
                tags={PID_TAG: str(os.getpid()), HOST_TAG: "elsewhere", DATA_TAG: "/elsewhere"},
            )
        )
        instance.event_log_storage.initialize_concurrency_limit_to_default("duckdb")  # limit 1, from dagster.yaml
        instance.event_log_storage.claim_concurrency_slot("duckdb", holder, "writer")
        assert slots(instance) == [holder]
    proc = child(home, str(settings.data_dir), "ok")
    seen: list[str] = []

    def waiting() -> bool:
        seen.append(proc.stdout.readline())
        return seen[-1].startswith("Waiting:")

    wait_for(waiting, proc, "the waiting line")
    assert seen[-1].strip() == (
        f"Waiting: pool duckdb: slot held by run {holder[:8]} (ui_job, STARTED, pid {os.getpid()}), "
        "step writer; this run's writers wait for it (Ctrl-C or SIGTERM stops this run)."
    )
    time.sleep(1)  # let it reach the pool
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "STOPPED by SIGTERM" in err
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (stopped,) = [r for r in instance.get_runs() if r.run_id != holder]
        assert stopped.status == dg.DagsterRunStatus.FAILURE
        assert slots(instance) == [holder]  # the live holder keeps its slot
    assert not (settings.data_dir / tiny_graph.STARTED).exists()  # its writer never ran


def test_a_second_run_on_the_same_data_directory_refuses_naming_the_first(tmp_path, home):
    settings = Settings(data_dir=tmp_path / "data")
    proc = child(home, str(settings.data_dir), "hang")
    try:
        wait_for(lambda: (settings.data_dir / tiny_graph.STARTED).exists(), proc, "the writer step")
        with dg.DagsterInstance.from_config(str(home)) as instance:
            with pytest.raises(RunInProgress, match=rf"another run is using this data directory \(pid {proc.pid} on .*tiny_graph.py"):
                guarded_run(settings, instance, lambda run_id, tags: pytest.fail("must not run"))
        with pytest.raises(RunInProgress, match=f"pid {proc.pid}"):
            with exclusive_run(settings):
                pass
        # a step of another run (e.g. launched from the UI) refuses to touch the build database meanwhile
        with pytest.raises(WarehouseBusy, match=rf"in use by another run \(pid {proc.pid} .*would mix its tables"):
            with Warehouse(path=str(settings.build_db)).connect():
                pass
    finally:
        proc.kill()
        proc.wait()
    with Warehouse(path=str(settings.build_db)).connect() as con:  # free again once it is gone
        assert con.execute("select v from marts.tiny").fetchall() == [(1,)]


def test_the_cli_refuses_a_second_run_with_exit_code_1(tmp_path, home, monkeypatch, capsys):
    from observatory.__main__ import main

    settings = Settings(data_dir=tmp_path / "data")
    proc = child(home, str(settings.data_dir), "hang")
    try:
        wait_for(lambda: (settings.data_dir / tiny_graph.STARTED).exists(), proc, "the writer step")
        monkeypatch.setenv("OBSERVATORY_DATA_DIR", str(settings.data_dir))
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
        assert main(["run", "--select", "raw/cog"]) == 1
    finally:
        proc.kill()
        proc.wait()
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"REFUSED: {settings.data_dir}: another run is using this data directory (pid {proc.pid}")
