"""`make ui` driven from Python: start it on a private DAGSTER_HOME, data directory and free port, talk
GraphQL to it, launch a job and wait for its run, stop the whole process group.

Shared by the UI smoke test (tests/integration/test_ui.py) and the UI-run benchmark (benchmarks/ui_run.py),
so that both exercise the real Makefile target, webserver and daemon rather than a look-alike.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from observatory.settings import REPO_ROOT

STARTUP_S = 90

WORKSPACE_QUERY = """
{
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        locationOrLoadError {
          __typename
          ... on PythonError { message }
          ... on RepositoryLocation {
            name
            repositories {
              name
              schedules { name cronSchedule }
              assetNodes { assetKey { path } groupName hasAssetChecks }
            }
          }
        }
      }
    }
  }
}
"""

LAUNCH_MUTATION = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""

RUN_QUERY = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status startTime endTime }
  }
}
"""

#: Statuses after which a run never changes again.
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, data: bytes | None = None, timeout_s: float = 5) -> bytes:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:
        return resp.read()


def start_ui(port: int, home: Path, data_dir: Path, **popen: Any) -> subprocess.Popen:
    """``make ui`` on ``port`` with ``home`` as DAGSTER_HOME and ``data_dir`` as the data directory, in its own
    process group (so :func:`stop` reaches the webserver, the daemon and their run workers). ``-o`` keeps the
    venv as it is: never reinstall it from a test or a benchmark."""
    env = {**os.environ, "PORT": str(port), "OBSERVATORY_DATA_DIR": str(data_dir)}
    env.pop("DAGSTER_HOME", None)
    return subprocess.Popen(
        ["make", "--no-print-directory", "-o", ".venv/.installed-stamp", "ui", f"DAGSTER_HOME={home}"],
        cwd=REPO_ROOT,
        env=env,
        start_new_session=True,
        **{"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, **popen},
    )


class UI:
    """A GraphQL client of the webserver at ``http://127.0.0.1:<port>``."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        # A launch builds the run's execution plan in the code server: seconds on a busy machine.
        answer = json.loads(get(f"{self.base}/graphql", body, timeout_s=120))
        if answer.get("errors"):
            raise RuntimeError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    def server_info(self, proc: subprocess.Popen, deadline: float) -> dict[str, Any] | None:
        """The webserver's /server_info once it answers, or None if ``proc`` exits or ``deadline`` passes."""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                return json.loads(get(f"{self.base}/server_info"))
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(1)
        return None

    def location(self, deadline: float) -> dict[str, Any] | None:
        """The first code location once it has loaded (a ``RepositoryLocation`` or a ``PythonError``)."""
        while time.monotonic() < deadline:
            entries = self.graphql(WORKSPACE_QUERY)["workspaceOrError"]["locationEntries"]
            location = entries[0]["locationOrLoadError"] if entries else None
            if location is not None:
                return location
            time.sleep(1)
        return None

    def launch(
        self, location: str, repository: str, job: str, tags: dict[str, str] | None = None, assets: list[list[str]] | None = None
    ) -> str:
        """Launch ``job`` (only ``assets``, as key paths, if given) as the UI's Launchpad does (the run is queued,
        then started by the daemon); its run id."""
        selector: dict[str, Any] = {"repositoryLocationName": location, "repositoryName": repository, "jobName": job}
        if assets is not None:
            selector["assetSelection"] = [{"path": path} for path in assets]
        params = {
            "selector": selector,
            "runConfigData": {},
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]},
        }
        result = self.graphql(LAUNCH_MUTATION, {"params": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(f"launchRun {job}: {result}")
        return result["run"]["runId"]

    def wait(self, run_id: str, timeout_s: float, poll_s: float = 1.0) -> dict[str, Any]:
        """The run (status, startTime, endTime) once it has finished; TimeoutError after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            run = self.graphql(RUN_QUERY, {"runId": run_id})["runOrError"]
            if run.get("status") in FINISHED:
                return run
            time.sleep(poll_s)
        raise TimeoutError(f"run {run_id} not finished after {timeout_s:.0f} s")


def stop(proc: subprocess.Popen) -> list[int]:
    """SIGTERM the whole process group, give it 30 s, then SIGKILL what is left (only our pids)."""
    family = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)] if proc.poll() is None else []
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    deadline = time.monotonic() + 30
    alive = [p for p in family if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    while alive and time.monotonic() < deadline:
        time.sleep(0.5)
        alive = [p for p in alive if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return alive
