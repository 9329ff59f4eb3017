"""`make ui` smoke test: the webserver starts on 127.0.0.1, answers, shows our code location with
its schedules and asset checks, and the whole process group stops cleanly.

Runs the real Makefile target with a private DAGSTER_HOME and data dir, a free port, and
``-o .venv/.installed-stamp`` (never reinstall the venv from a test)."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import psutil
import pytest

from observatory.settings import REPO_ROOT

STARTUP_S = 90

QUERY = """
{
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        locationOrLoadError {
          __typename
          ... on PythonError { message }
          ... on RepositoryLocation {
            repositories {
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, data: bytes | None = None) -> bytes:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.read()


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


def test_make_ui_serves_the_asset_graph_and_stops_cleanly(tmp_path):
    port = free_port()
    home = tmp_path / "dagster_home"
    env = {**os.environ, "PORT": str(port), "OBSERVATORY_DATA_DIR": str(tmp_path / "data")}
    env.pop("DAGSTER_HOME", None)
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "-o", ".venv/.installed-stamp", "ui", f"DAGSTER_HOME={home}"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        info = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                info = json.loads(get(f"{base}/server_info"))
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(1)
        assert info is not None, f"no answer from {base}/server_info within {STARTUP_S} s (exit {proc.poll()})"
        assert "dagster_webserver_version" in info

        location = None
        while time.monotonic() < deadline:
            data = json.loads(get(f"{base}/graphql", json.dumps({"query": QUERY}).encode()))["data"]
            entries = data["workspaceOrError"]["locationEntries"]
            location = entries[0]["locationOrLoadError"] if entries else None
            if location is not None:
                break
            time.sleep(1)
        assert location is not None, "the code location did not load in time"
        assert location["__typename"] == "RepositoryLocation", location.get("message")
        (repo,) = location["repositories"]
        assert {s["name"]: s["cronSchedule"] for s in repo["schedules"]} == {
            "refresh_monthly_schedule": "0 6 3 * *",
            "refresh_yearly_schedule": "0 6 15 1 *",
        }
        nodes = {"/".join(n["assetKey"]["path"]): n for n in repo["assetNodes"]}
        assert nodes["publish/observatory"]["groupName"] == "marts"
        assert any(n["hasAssetChecks"] for name, n in nodes.items() if name.startswith("marts/"))
        assert (home / "dagster.yaml").read_text() == (REPO_ROOT / "observatory" / "dagster.yaml").read_text()
    finally:
        left = stop(proc)
        output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    assert left == [], f"processes still alive after stop: {left}"
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        get(f"{base}/server_info")
    assert "Traceback" not in output.split("Shutting down")[0], output[-3000:]
