"""Progress lines in the run logs for long downloads and extractions.

Dagster shows a step's log lines live in the run view; that is where progress goes:

* :func:`report` - one line now: ``sirene establishments: 1,234,567 of 44,100,000 rows (2.8 %)``;
* :class:`Progress` - a counter that logs at most every ``every_s`` seconds (plus the first and the
  last update), with the rate and the elapsed time; for loops over blocks, batches, files;
* :func:`watch_query` - a context manager that polls DuckDB's own progress of the statement
  running on a connection, from a side thread, while it runs (DuckDB extractions are one long
  ``create table ... as select``: no loop to hook a counter into).

``log`` is anything with ``.info``: ``context.log`` in an asset, a ``logging.Logger`` elsewhere,
or ``None`` (silent). Progress is for people watching a run: it never changes a result.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Callable, Iterator

UNITS = ("rows", "bytes", "files")


def _log_of(target: Any) -> Any:
    """Accept a Dagster context (uses ``.log``) or a logger."""
    if target is None:
        return None
    log = getattr(target, "log", None)
    return log if log is not None and hasattr(log, "info") else target


def format_amount(value: float, unit: str) -> str:
    if unit == "bytes":
        for size, suffix in ((1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "kB")):
            if value >= size:
                return f"{value / size:.1f} {suffix}"
        return f"{int(value)} B"
    return f"{int(value):,} {unit}"


def format_line(label: str, done: float, total: float | None = None, unit: str = "rows", elapsed_s: float | None = None) -> str:
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r}: expected one of {UNITS}")
    if unit == "bytes":
        text = format_amount(done, unit) + (f" of {format_amount(total, unit)}" if total else "")
    else:
        text = f"{int(done):,}" + (f" of {int(total):,}" if total else "") + f" {unit}"
    if total:
        text += f" ({100.0 * done / total:.1f} %)"
    if elapsed_s is not None and elapsed_s > 0:
        text += f", {format_amount(done / elapsed_s, unit)}/s, {elapsed_s:.0f} s elapsed"
    return f"{label}: {text}"


def report(target: Any, label: str, done: float, total: float | None = None, unit: str = "rows") -> str:
    """Log one progress line now; returns it."""
    line = format_line(label, done, total, unit)
    log = _log_of(target)
    if log is not None:
        log.info(line)
    return line


class Progress:
    """A throttled counter: ``update(done)`` as work advances, ``finish()`` at the end."""

    def __init__(
        self,
        target: Any,
        label: str,
        *,
        total: float | None = None,
        unit: str = "rows",
        every_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if unit not in UNITS:
            raise ValueError(f"unit {unit!r}: expected one of {UNITS}")
        self.log = _log_of(target)
        self.label, self.total, self.unit, self.every_s, self.clock = label, total, unit, every_s, clock
        self.started = clock()
        self.done: float = 0
        self.lines: list[str] = []
        self._last: float | None = None

    def _emit(self) -> None:
        line = format_line(self.label, self.done, self.total, self.unit, self.clock() - self.started)
        self.lines.append(line)
        if self.log is not None:
            self.log.info(line)

    def update(self, done: float) -> None:
        """Set the amount done so far; logs if ``every_s`` passed since the last line."""
        self.done = done
        now = self.clock()
        if self._last is None or now - self._last >= self.every_s:
            self._last = now
            self._emit()

    def advance(self, amount: float) -> None:
        self.update(self.done + amount)

    def finish(self, done: float | None = None) -> None:
        if done is not None:
            self.done = done
        self._emit()


@contextlib.contextmanager
def watch_query(con: Any, target: Any, label: str, *, every_s: float = 10.0) -> Iterator[list[str]]:
    """Log DuckDB's progress (percent) of the statements run on ``con`` inside the block.

    Yields the list of lines logged (for tests). DuckDB only reports progress when its progress
    bar is enabled; printing stays off.
    """
    log = _log_of(target)
    lines: list[str] = []
    con.execute("set enable_progress_bar = true")
    con.execute("set enable_progress_bar_print = false")
    stop = threading.Event()
    started = time.monotonic()

    def poll() -> None:
        last = 0
        while not stop.wait(every_s):
            try:
                pct = int(float(con.query_progress()))
            except Exception:  # the connection is between statements or closing: nothing to say
                continue
            # -1: no estimate (e.g. table functions); only advances are worth a line
            if pct > last:
                last = pct
                line = f"{label}: {pct} % of the current query, {time.monotonic() - started:.0f} s elapsed"
                lines.append(line)
                if log is not None:
                    log.info(line)

    thread = threading.Thread(target=poll, name=f"progress:{label}", daemon=True)
    thread.start()
    try:
        yield lines
    finally:
        stop.set()
        thread.join()
        line = f"{label}: done in {time.monotonic() - started:.0f} s"
        lines.append(line)
        if log is not None:
            log.info(line)
