"""Alerts on failure: a failed run, or a failed asset check, becomes one message sent to the configured destinations.

Destinations come from :class:`observatory.settings.Settings` (never from the environment here):

* a log file, always (``alert_file``, by default ``$DAGSTER_HOME/observatory_alerts.log`` or
  ``data/build/observatory_alerts.log``): a failure at 06:00 on the 3rd is still there to read at 09:00;
* a webhook (``alert_webhook``): the message is POSTed as JSON ``{"text": ...}`` (the shape Slack, Mattermost and
  Teams incoming webhooks accept);
* an e-mail (``alert_email`` through ``alert_smtp``), with the standard library's SMTP client.

A destination that fails (webhook down, SMTP refused) must not hide the alert: the error is appended to the log file
instead, and the other destinations are still tried.
"""

from __future__ import annotations

import datetime as dt
import json
import smtplib
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import dagster as dg

from observatory.settings import Settings

SENSOR_NAME = "alert_on_run_failure"
CHECK_SENSOR_NAME = "alert_on_check_failure"


@dataclass(frozen=True)
class Alert:
    run_id: str
    job: str
    what: str
    failed: list[str]
    cause: str
    todo: str

    @property
    def subject(self) -> str:
        return f"[observatory] {self.what}: {self.job} (run {self.run_id[:8]})"

    def text(self) -> str:
        failed = "\n".join(f"  - {f}" for f in self.failed) or "  - (no step named by Dagster)"
        return f"{self.subject}\nrun id: {self.run_id}\njob: {self.job}\nfailed:\n{failed}\ncause: {self.cause}\nwhat to do: {self.todo}\n"


def _first_line(message: str | None, limit: int = 400) -> str:
    """The message on one line (a blocking check's error puts the check names on the lines after the first), without
    Dagster's module path, cut at ``limit`` characters."""
    text = " ".join(line.strip() for line in (message or "").splitlines() if line.strip())
    text = text.replace("dagster._core.errors.", "")
    if not text:
        return "(no message)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _root_cause(error) -> str | None:
    """The first line of the innermost error: Dagster wraps the asset's own exception in a step execution error
    whose message names only the op."""
    if error is None:
        return None
    while error.cause is not None:
        error = error.cause
    return _first_line(error.message)


def failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str, str]]:
    """(asset, check, severity) of every check evaluated in the run that did not pass."""
    out = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if not evaluation.passed:
            out.append((evaluation.asset_key.to_user_string(), evaluation.check_name, evaluation.severity.value))
    return out


#: What to do after a failed `make run` / `python -m observatory run` (its last line names the cause).
CLI_TODO = (
    "read the run's last line (asset, file, column, expectation); fix the input or the code and run again; nothing was "
    "published. See docs/operations.md, 'When a run fails'."
)
#: Runs launched by the CLI carry this tag and deliver their own alert (observatory/__main__.py).
CLI_TAG = ("observatory/launched_by", "cli")


def _launched_by_cli(run: dg.DagsterRun) -> bool:
    return run.tags.get(CLI_TAG[0]) == CLI_TAG[1]


def run_failure_alert(context: dg.RunFailureSensorContext) -> Alert:
    run = context.dagster_run
    steps = context.get_step_failure_events()
    failed = [f"step {e.step_key}: {_root_cause(e.event_specific_data.error) or '(no error message)'}" for e in steps]
    checks = failed_checks(context.instance, run.run_id)
    failed += [f"check {asset} / {check} ({severity})" for asset, check, severity in checks]
    cause = (_root_cause(steps[0].event_specific_data.error) if steps else None) or _first_line(context.failure_event.message)
    todo = (
        "open the run in the UI (Runs > this run id), read the failed step's error; fix the input or the code, then "
        "re-execute from failure. See docs/operations.md, 'When a run fails'."
    )
    return Alert(run.run_id, run.job_name, "run failed", failed, cause, todo)


def check_failure_alert(run: dg.DagsterRun, checks: list[tuple[str, str, str]]) -> Alert:
    failed = [f"check {asset} / {check} ({severity})" for asset, check, severity in checks]
    return Alert(
        run.run_id,
        run.job_name,
        "check failed",
        failed,
        f"{len(checks)} asset check(s) did not pass in a run that otherwise succeeded",
        "open the asset's Checks tab in the UI: the check's metadata lists the failing rows. A WARN check does not "
        "block publication; fix the source or the rule. See docs/operations.md, 'When a check fails'.",
    )


def deliver(alert: Alert, settings: Settings, *, smtp_factory=smtplib.SMTP, timeout: float = 10.0) -> list[str]:
    """Send ``alert`` to every configured destination; returns the destinations reached (the file first)."""
    path = Path(settings.alert_file_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    problems: list[str] = []
    reached = [str(path)]
    if settings.alert_webhook:
        try:
            request = urllib.request.Request(
                settings.alert_webhook,
                data=json.dumps({"text": alert.text()}).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
            reached.append(settings.alert_webhook)
        except Exception as e:  # noqa: BLE001 - any failure of a destination is reported in the file
            problems.append(f"webhook {settings.alert_webhook} not reached: {e}")
    if settings.alert_email:
        try:
            message = EmailMessage()
            message["Subject"] = alert.subject
            message["From"] = settings.alert_email_from
            message["To"] = settings.alert_email
            message.set_content(alert.text())
            host, _, port = settings.alert_smtp.partition(":")
            with smtp_factory(host, int(port or 25), timeout=timeout) as smtp:
                smtp.send_message(message)
            reached.append(f"mailto:{settings.alert_email}")
        except Exception as e:  # noqa: BLE001
            problems.append(f"e-mail to {settings.alert_email} via {settings.alert_smtp} not sent: {e}")
    with path.open("a", encoding="utf-8") as f:
        f.write(f"--- {stamp}\n{alert.text()}")
        for p in problems:
            f.write(f"alert delivery problem: {p}\n")
    return reached


def alert_sensors(settings: Settings) -> list[dg.SensorDefinition]:
    """The run-failure sensor and the check-failure sensor of ``settings`` (both running by default)."""

    @dg.run_failure_sensor(
        name=SENSOR_NAME,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Writes an alert (run id, job, failed steps and checks, cause, what to do) to {settings.alert_destinations}.",
    )
    def _on_failure(context: dg.RunFailureSensorContext) -> None:
        if _launched_by_cli(context.dagster_run):
            return
        alert = run_failure_alert(context)
        reached = deliver(alert, settings)
        context.log.info(f"alert for run {alert.run_id} written to {', '.join(reached)}")

    @dg.run_status_sensor(
        name=CHECK_SENSOR_NAME,
        run_status=dg.DagsterRunStatus.SUCCESS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"After a successful run, writes an alert for every asset check that did not pass to "
        f"{settings.alert_destinations} (a failed blocking check fails the run: see {SENSOR_NAME}).",
    )
    def _on_check_failure(context: dg.RunStatusSensorContext) -> None:
        if _launched_by_cli(context.dagster_run):
            return
        checks = failed_checks(context.instance, context.dagster_run.run_id)
        if checks:
            alert = check_failure_alert(context.dagster_run, checks)
            reached = deliver(alert, settings)
            context.log.info(f"alert for run {alert.run_id} written to {', '.join(reached)}")

    return [_on_failure, _on_check_failure]
