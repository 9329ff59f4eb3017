"""Runs that recover by themselves, one at a time per data directory, and stop on Ctrl-C / SIGTERM.

``python -m observatory run`` goes through :func:`guarded_run`:

1. **One run per data directory** (:func:`exclusive_run`): an OS lock on ``data/build/run.lock`` (``flock``,
   released by the kernel when the process dies, however it dies). A second run on the same data directory
   refuses at once with a message naming the run that holds it (pid, run id, start time), so it never reads
   the other's staging tables. Steps of runs launched from the UI check the same lock
   (``observatory.resources.Warehouse``).
2. **Recovery** (:func:`recover`), under that lock: runs of this data directory still marked STARTED whose
   process is gone (a ``kill -9``, a crash, a power cut) are marked failed; pool slots held by finished or
   vanished runs are freed (a killed run kept the ``duckdb`` slot for good, so every later run waited on it);
   staging folders left by a dead process are removed. One line says what was done.
3. **Execution** in a worker thread while the main thread waits: Ctrl-C or SIGTERM (Dagster itself defers
   them until a step ends, so a step waiting on a pool slot never stopped) marks the run failed, frees its
   slots and leaves the publication as it was (old or new, never a mix: ``observatory.publish``), then exits
   with 130 / 143.

Every run is tagged with its process (``observatory/pid``, ``observatory/host``) and data directory
(``observatory/data_dir``): that is how recovery knows which STARTED runs are dead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import signal
import socket
import sys
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import dagster as dg

from observatory.publish import OWNER_FILE, STAGING_PREFIX, VERSIONS
from observatory.resources import RUN_LOCK, describe_holder
from observatory.settings import Settings

PID_TAG, HOST_TAG, DATA_TAG = "observatory/pid", "observatory/host", "observatory/data_dir"

T = TypeVar("T")


class RunInProgress(RuntimeError):
    """Another run holds the data directory."""


def run_tags(settings: Settings) -> dict[str, str]:
    """Tags that let a later run recognise this one (and whether its process is alive)."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(), DATA_TAG: str(Path(settings.data_dir).resolve())}


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def lock_path(settings: Settings) -> Path:
    return Path(settings.build_dir) / RUN_LOCK


def holder(settings: Settings) -> dict[str, Any]:
    """What the run holding the data directory wrote into the lock file (pid, run id, start time, command)."""
    try:
        return json.loads(lock_path(settings).read_text() or "{}")
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def exclusive_run(settings: Settings, run_id: str = "") -> Iterator[None]:
    """Hold the data directory for the duration of the block, or raise :class:`RunInProgress` naming the holder."""
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    acquired = False
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            acquired = True
        except BlockingIOError:
            raise RunInProgress(
                f"{settings.data_dir}: another run is using this data directory ({describe_holder(holder(settings))}). "
                "Runs never share the build database: wait for it to finish, or stop it (kill <pid>; the next run "
                "recovers a killed run by itself)."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "run_id": run_id,
                    "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    "command": " ".join(sys.argv),
                }
            )
        )
        fh.flush()
        yield
    finally:
        if acquired:  # never erase the holder's details
            with contextlib.suppress(OSError):
                fh.seek(0)
                fh.truncate()
        fh.close()  # closing releases the lock


def _is_active(status: dg.DagsterRunStatus) -> bool:
    return status in (
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.CANCELING,
        dg.DagsterRunStatus.NOT_STARTED,
    )


def _dead_runs(settings: Settings, instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    here, data = socket.gethostname(), str(Path(settings.data_dir).resolve())
    dead = []
    for run in instance.get_runs(filters=dg.RunsFilter(tags={DATA_TAG: data})):
        if not _is_active(run.status) or run.tags.get(HOST_TAG) != here:
            continue
        pid = int(run.tags.get(PID_TAG, "0") or 0)
        if pid and pid != os.getpid() and not pid_alive(pid):
            dead.append(run)
    return dead


def _stale_slot_runs(instance: dg.DagsterInstance) -> dict[str, set[str]]:
    """pool -> run ids holding or queueing for a slot whose run is finished or unknown."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return {}
    out: dict[str, set[str]] = {}
    for key in sorted(storage.get_concurrency_keys()):
        info = storage.get_concurrency_info(key)
        for run_id in {s.run_id for s in info.claimed_slots} | {p.run_id for p in info.pending_steps}:
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                out.setdefault(key, set()).add(run_id)
    return out


def slot_holders(instance: dg.DagsterInstance) -> list[str]:
    """Who holds each pool slot now (run id, job, status, pid), for the line a waiting run prints."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    lines = []
    for key in sorted(storage.get_concurrency_keys()):
        for slot in storage.get_concurrency_info(key).claimed_slots:
            run = instance.get_run_by_id(slot.run_id)
            what = f"{run.job_name}, {run.status.value}, pid {run.tags.get(PID_TAG, '?')}" if run else "unknown run"
            lines.append(f"pool {key}: slot held by run {slot.run_id[:8]} ({what}), step {slot.step_key}")
    return lines


def _stale_folders(settings: Settings) -> list[Path]:
    """Staging folders of publication (and of the layout before it) whose owning process is gone."""
    marts = Path(settings.marts_dir)
    candidates = [
        *marts.glob(f"{VERSIONS}/{STAGING_PREFIX}*"),
        *marts.glob(".staging-*"),
        *marts.glob(".site-staging-*"),
        *marts.glob(".site-previous-*"),
        *marts.glob(".*.link-*"),
        *marts.glob(".*.old-*"),
    ]
    stale = []
    for folder in candidates:
        owner = folder / OWNER_FILE
        try:
            pid = int(json.loads(owner.read_text()).get("pid", 0)) if owner.exists() else 0
        except (OSError, ValueError):
            pid = 0
        if not pid or pid == os.getpid() or not pid_alive(pid):
            stale.append(folder)
    return stale


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def recover(settings: Settings, instance: dg.DagsterInstance, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Mark dead runs failed, free stale pool slots, remove stale staging folders; say so in one line."""
    done: dict[str, Any] = {"runs": [], "slots": {}, "folders": []}
    for run in _dead_runs(settings, instance):
        instance.report_run_failed(run, f"marked failed by a later run: its process (pid {run.tags.get(PID_TAG)}) is gone")
        done["runs"].append(run.run_id)
    storage = instance.event_log_storage
    for key, run_ids in _stale_slot_runs(instance).items():
        for run_id in sorted(run_ids):
            storage.free_concurrency_slots_for_run(run_id)
        done["slots"][key] = sorted(run_ids)
    size = 0
    for folder in _stale_folders(settings):
        size += _size(folder)
        if folder.is_symlink() or folder.is_file():
            folder.unlink(missing_ok=True)
        else:
            shutil.rmtree(folder, ignore_errors=True)
        done["folders"].append(folder.name)
    parts = []
    if done["runs"]:
        parts.append(f"marked failed {len(done['runs'])} run(s) whose process is gone ({', '.join(r[:8] for r in done['runs'])})")
    if done["slots"]:
        parts.append("freed the slots of " + ", ".join(f"{len(v)} finished run(s) in pool {k}" for k, v in done["slots"].items()))
    if done["folders"]:
        parts.append(f"removed {len(done['folders'])} stale staging folder(s) ({size / 1e6:.1f} MB)")
    if parts:
        say("Recovered: " + "; ".join(parts) + ".")
    for line in slot_holders(instance):
        say(f"Waiting: {line}; this run's writers wait for it (Ctrl-C or SIGTERM stops this run).")
    done["line"] = ("Recovered: " + "; ".join(parts) + ".") if parts else ""
    return done


class _Stop(BaseException):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def stop_run(instance: dg.DagsterInstance, run_id: str, reason: str) -> None:
    """Mark ``run_id`` failed (if Dagster did not finish it) and free its pool slots."""
    run = instance.get_run_by_id(run_id)
    if run is not None and not run.is_finished:
        instance.report_run_failed(run, reason)
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)


def guarded_run(
    settings: Settings, instance: dg.DagsterInstance, execute: Callable[[str, dict[str, str]], T], say: Callable[[str], None] = print
) -> T:
    """``execute(run_id, tags)`` as the only run on the data directory, after recovery, stoppable by signals."""
    run_id = str(uuid.uuid4())  # what Dagster itself uses for a run id
    with exclusive_run(settings, run_id):
        recover(settings, instance, say)
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["result"] = execute(run_id, run_tags(settings))
            except BaseException as exc:  # handed to the main thread
                box["error"] = exc

        thread = threading.Thread(target=work, name="observatory-run", daemon=True)
        in_main = threading.current_thread() is threading.main_thread()
        previous = {}

        def _handler(signum: int, _frame: Any) -> None:
            raise _Stop(signum)

        if in_main:
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, _handler)
        try:
            thread.start()
            while thread.is_alive():
                thread.join(0.2)
        except _Stop as stop:
            name = signal.Signals(stop.signum).name
            stop_run(instance, run_id, f"stopped by {name}")
            for folder in _stale_folders(settings):
                shutil.rmtree(folder, ignore_errors=True)
            print(
                f"STOPPED by {name}: run {run_id[:8]} marked failed and its pool slots freed; "
                "data/marts/ is the previous publication or the new one, never a mix.",
                file=sys.stderr,
            )
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + stop.signum)  # the worker thread cannot be interrupted; the kernel releases the lock
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if "error" in box:
            raise box["error"]
        return box["result"]


def root_cause(error: Any) -> str:
    """The message of the innermost cause of a Dagster ``SerializableErrorInfo`` (the user's exception, not
    Dagster's "Error occurred while executing op" wrapper), on one line."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    message = (getattr(error, "message", "") or str(error)).strip()
    cls = getattr(error, "cls_name", "") or ""
    head, sep, rest = message.partition(": ")
    if sep and cls and head.split(".")[-1] == cls:  # "observatory.resources.DownloadError: <text>" -> "<text>"
        message = rest
    return " ".join(message.split())


def failure_line(asset: str, error: Any) -> str:
    """The last line of a failed run: the asset(s) of the failed step (``stg/sirene_etablissements``) and the
    cause (the file, the column and the expectation, as the loaders word it)."""
    return f"FAILED {asset}: {root_cause(error)}"
