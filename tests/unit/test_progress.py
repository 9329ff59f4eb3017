"""Progress lines for the run logs (a fake clock: no test depends on wall time)."""

import logging
import threading

import duckdb
import pytest

from observatory.progress import Progress, format_line, report, watch_query


class Log:
    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(msg)


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_format_line_rows_and_bytes():
    assert format_line("extract", 1_234_567, 44_100_000) == "extract: 1,234,567 of 44,100,000 rows (2.8 %)"
    assert format_line("download x.zip", 150 * 2**20, 600 * 2**20, unit="bytes") == ("download x.zip: 150.0 MB of 600.0 MB (25.0 %)")
    assert format_line("files", 3, unit="files", elapsed_s=2) == "files: 3 files, 1 files/s, 2 s elapsed"
    with pytest.raises(ValueError, match="unit 'kg'"):
        format_line("x", 1, unit="kg")


def test_report_logs_through_a_dagster_like_context_or_a_logger(caplog):
    class Context:
        log = Log()

    ctx = Context()
    assert report(ctx, "rows", 10, 20) == "rows: 10 of 20 rows (50.0 %)"
    assert ctx.log.lines == ["rows: 10 of 20 rows (50.0 %)"]
    with caplog.at_level(logging.INFO):
        report(logging.getLogger("t"), "rows", 5)
    assert "rows: 5 rows" in caplog.text
    assert report(None, "silent", 1) == "silent: 1 rows"


def test_progress_is_throttled_by_the_clock():
    log, clock = Log(), Clock()
    p = Progress(log, "download", total=100 * 2**20, unit="bytes", every_s=10, clock=clock)
    for _ in range(10):  # 10 blocks of 10 MB, 3 s apart: lines at t=3 (first), 15, 27
        clock.t += 3
        p.advance(10 * 2**20)
    p.finish()
    assert len(log.lines) == 4
    assert log.lines[0].startswith("download: 10.0 MB of 100.0 MB (10.0 %)")
    assert log.lines[1].startswith("download: 50.0 MB of 100.0 MB (50.0 %)")
    assert log.lines[-1] == "download: 100.0 MB of 100.0 MB (100.0 %), 3.3 MB/s, 30 s elapsed"
    assert p.lines == log.lines


class FakeConnection:
    """Reports 10, 10, 40, -1 (between statements), 80 % and lets the "query" end once all were read."""

    def __init__(self):
        self.values = [10.0, 10.0, 40.0, -1.0, 80.0]
        self.settings = []
        self.exhausted = threading.Event()

    def execute(self, sql):
        self.settings.append(sql)

    def query_progress(self):
        if not self.values:
            self.exhausted.set()
            return -1.0
        return self.values.pop(0)


def test_watch_query_logs_each_advance_once():
    con, log = FakeConnection(), Log()
    with watch_query(con, log, "extract", every_s=0.001) as lines:
        assert con.exhausted.wait(10)
    assert con.settings == ["set enable_progress_bar = true", "set enable_progress_bar_print = false"]
    assert [line.split(",")[0] for line in lines[:-1]] == [
        "extract: 10 % of the current query",
        "extract: 40 % of the current query",
        "extract: 80 % of the current query",
    ]
    assert lines[-1].startswith("extract: done in ") and log.lines == lines


def test_watch_query_reads_real_duckdb_progress_of_a_table_scan():
    con = duckdb.connect()
    con.execute("create table t as select range as i, random() as r from range(20000000)")
    with watch_query(con, None, "scan", every_s=0.005) as lines:
        con.execute("select count(*), sum(r) from t where i % 7 = 3 group by i % 1000003 order by 1 limit 1").fetchall()
    assert any("% of the current query" in line for line in lines), lines
    con.close()
