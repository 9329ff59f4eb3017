"""`make ui` smoke test: the webserver starts on 127.0.0.1, answers, shows our code location with
its schedules and asset checks, and the whole process group stops cleanly.

Runs the real Makefile target with a private DAGSTER_HOME and data dir, a free port, and
``-o .venv/.installed-stamp`` (never reinstall the venv from a test)."""

import time
import urllib.error

import pytest

from benchmarks.webserver import STARTUP_S, UI, free_port, get, start_ui, stop
from observatory.settings import REPO_ROOT


def test_make_ui_serves_the_asset_graph_and_stops_cleanly(tmp_path):
    port = free_port()
    home = tmp_path / "dagster_home"
    proc = start_ui(port, home, tmp_path / "data")
    ui = UI(port)
    base = ui.base
    try:
        deadline = time.monotonic() + STARTUP_S
        info = ui.server_info(proc, deadline)
        assert info is not None, f"no answer from {base}/server_info within {STARTUP_S} s (exit {proc.poll()})"
        assert "dagster_webserver_version" in info

        location = ui.location(deadline)
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
