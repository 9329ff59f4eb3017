"""Alerts: a run that fails on purpose, and a run whose check fails, leave a message in each configured destination."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest

from observatory.alerts import CHECK_SENSOR_NAME, CLI_TAG, SENSOR_NAME, Alert, alert_sensors, deliver
from observatory.settings import Settings


@dg.asset
def broken_input() -> int:
    raise ValueError("raw/broken_input: column 'siret' missing from broken.csv")


@dg.asset(deps=[broken_input])
def never_built() -> int:
    return 1


@dg.asset
def counted() -> int:
    return 3


@dg.asset_check(asset=counted, name="counts_match_source")
def counts_match_source() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN, metadata={"missing": 2})


failing_job = dg.define_asset_job("failing_job", selection=[broken_input, never_built])
checked_job = dg.define_asset_job("checked_job", selection=dg.AssetSelection.assets(counted))
DEFS = dg.Definitions(assets=[broken_input, never_built, counted], asset_checks=[counts_match_source], jobs=[failing_job, checked_job])


def _sensors(settings: Settings) -> dict[str, dg.SensorDefinition]:
    return {s.name: s for s in alert_sensors(settings)}


def _failure_context(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> dg.RunFailureSensorContext:
    """What the daemon hands the run-failure sensor for this failed run."""
    return dg.build_run_status_sensor_context(
        sensor_name=SENSOR_NAME,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()


def _success_context(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> dg.RunStatusSensorContext:
    """What the daemon hands the check-failure sensor for this successful run."""
    return dg.build_run_status_sensor_context(
        sensor_name=CHECK_SENSOR_NAME,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_success_event(),
    )


def test_a_failed_run_writes_its_alert_to_the_default_log_file(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    instance = dg.DagsterInstance.ephemeral()
    result = DEFS.resolve_job_def("failing_job").execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    context = _failure_context(instance, result)
    _sensors(settings)[SENSOR_NAME](context)

    log = tmp_path / "data" / "build" / "observatory_alerts.log"
    text = log.read_text()
    assert f"run id: {result.run_id}" in text
    assert "job: failing_job" in text
    assert "step broken_input: ValueError: raw/broken_input: column 'siret' missing from broken.csv" in text
    assert "cause: ValueError: raw/broken_input: column 'siret' missing from broken.csv" in text
    assert "what to do: open the run in the UI" in text
    assert text.count("--- ") == 1


def test_the_alert_file_follows_dagster_home_then_the_setting(tmp_path):
    assert Settings(data_dir=tmp_path, dagster_home=tmp_path / "dh").alert_file_path == tmp_path / "dh" / "observatory_alerts.log"
    env = {"OBSERVATORY_ALERT_FILE": str(tmp_path / "a.log"), "OBSERVATORY_ALERT_WEBHOOK": "http://127.0.0.1:1/h"}
    s = Settings.from_env(env)
    assert s.alert_file_path == tmp_path / "a.log"
    assert s.alert_destinations == f"{tmp_path / 'a.log'}, http://127.0.0.1:1/h"


def test_a_failed_check_in_a_successful_run_writes_an_alert(tmp_path):
    settings = Settings(data_dir=tmp_path, alert_file=tmp_path / "alerts.log")
    instance = dg.DagsterInstance.ephemeral()
    result = DEFS.resolve_job_def("checked_job").execute_in_process(instance=instance)
    assert result.success
    context = _success_context(instance, result)
    _sensors(settings)[CHECK_SENSOR_NAME](context)
    text = (tmp_path / "alerts.log").read_text()
    assert "check failed: checked_job" in text
    assert "check counted / counts_match_source (WARN)" in text


def test_a_passing_run_writes_no_alert(tmp_path):
    settings = Settings(data_dir=tmp_path, alert_file=tmp_path / "alerts.log")
    instance = dg.DagsterInstance.ephemeral()
    job = dg.define_asset_job("ok_job", selection=[counted]).resolve(asset_graph=dg.Definitions(assets=[counted]).resolve_asset_graph())
    result = job.execute_in_process(instance=instance)
    context = _success_context(instance, result)
    _sensors(settings)[CHECK_SENSOR_NAME](context)
    assert not (tmp_path / "alerts.log").exists()


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class _FakeSMTP:
    sent: list = []

    def __init__(self, host, port, timeout):
        self.where = (host, port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_message(self, message):
        self.sent.append((self.where, message))


ALERT = Alert("0123456789abcdef", "refresh_monthly", "run failed", ["step x: boom"], "boom", "fix it")


def test_webhook_and_email_receive_the_message(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    settings = Settings(data_dir=tmp_path, alert_webhook=url, alert_email="team@example.org", alert_smtp="mail.local:2525")
    reached = deliver(ALERT, settings, smtp_factory=_FakeSMTP)
    thread.join(5)
    server.server_close()
    assert reached == [str(settings.alert_file_path), url, "mailto:team@example.org"]
    assert _Hook.received == [{"text": ALERT.text()}]
    ((where, message),) = _FakeSMTP.sent
    assert where == ("mail.local", 2525)
    assert message["Subject"] == "[observatory] run failed: refresh_monthly (run 01234567)"
    assert message["To"] == "team@example.org"


def test_an_unreachable_webhook_is_reported_in_the_log_file(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    port = server.server_port
    server.server_close()  # nobody listens there any more
    settings = Settings(data_dir=tmp_path, alert_webhook=f"http://127.0.0.1:{port}/hook")
    assert deliver(ALERT, settings, timeout=2) == [str(settings.alert_file_path)]
    text = settings.alert_file_path.read_text()
    assert "run failed: refresh_monthly" in text
    assert f"alert delivery problem: webhook http://127.0.0.1:{port}/hook not reached" in text


@pytest.mark.parametrize("name", [SENSOR_NAME, CHECK_SENSOR_NAME])
def test_the_project_definitions_carry_the_alert_sensors(name):
    from observatory.definitions import defs

    assert defs.get_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING


@dg.asset(check_specs=[dg.AssetCheckSpec("unique_key", asset="guarded", blocking=True)])
def guarded():
    yield dg.Output(1)
    yield dg.AssetCheckResult(check_name="unique_key", passed=False, metadata={"duplicates": 2})


@dg.asset(deps=[guarded])
def published() -> int:
    return 1


def test_a_failed_blocking_check_fails_the_run_and_its_alert_names_the_check(tmp_path):
    settings = Settings(data_dir=tmp_path, alert_file=tmp_path / "alerts.log")
    instance = dg.DagsterInstance.ephemeral()
    defs = dg.Definitions(assets=[guarded, published], jobs=[dg.define_asset_job("gated", selection=[guarded, published])])
    result = defs.resolve_job_def("gated").execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    context = _failure_context(instance, result)
    _sensors(settings)[SENSOR_NAME](context)
    text = (tmp_path / "alerts.log").read_text()
    assert "job: gated" in text
    assert "check guarded / unique_key (ERROR)" in text
    assert "unique_key" in text.split("cause: ")[1].splitlines()[0]


@pytest.mark.parametrize("tagged", [False, True])
def test_a_run_launched_by_the_cli_is_left_to_the_cli_by_both_sensors(tmp_path, tagged):
    """`python -m observatory run` delivers its own alert (observatory/__main__.py): the daemon's sensors must not send
    a second one for a run tagged observatory/launched_by=cli, and must still alert for every other run."""
    settings = Settings(data_dir=tmp_path, alert_file=tmp_path / "alerts.log")
    instance = dg.DagsterInstance.ephemeral()
    tags = dict([CLI_TAG]) if tagged else {}
    failed = DEFS.resolve_job_def("failing_job").execute_in_process(instance=instance, raise_on_error=False, tags=tags)
    checked = DEFS.resolve_job_def("checked_job").execute_in_process(instance=instance, tags=tags)
    assert not failed.success and checked.success
    on_failure = _failure_context(instance, failed)
    on_check = _success_context(instance, checked)
    sensors = _sensors(settings)
    sensors[SENSOR_NAME](on_failure)
    sensors[CHECK_SENSOR_NAME](on_check)
    log = tmp_path / "alerts.log"
    if tagged:
        assert not log.exists()
    else:
        text = log.read_text()
        assert text.count("--- ") == 2
        assert "run failed: failing_job" in text and "check failed: checked_job" in text


def test_the_cli_tags_its_runs_with_the_tag_the_sensors_skip():
    from observatory.__main__ import LAUNCHED_BY_TAG, execute

    result = execute(DEFS, dg.DagsterInstance.ephemeral(), "counted")
    assert result.dagster_run.tags[LAUNCHED_BY_TAG] == CLI_TAG[1]
    assert (LAUNCHED_BY_TAG, result.dagster_run.tags[LAUNCHED_BY_TAG]) == CLI_TAG
