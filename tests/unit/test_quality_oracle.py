"""Oracle tests: every value rule evaluated in DuckDB (what the checks run) reports what Great Expectations
reports on the same table (the reference, ``run_suite(..., engine="gx")``): the same success, count,
percentage and failing rows. Each count is also pinned by hand, so that the two cannot agree on a wrong
answer; a seeded random table then exercises nulls, NaN, duplicates and more failures than are shown."""

import random

import duckdb
import pytest

from observatory.quality import EXAMPLES, Between, InSet, Matches, NotNull, RowCount, Unique, run_suite

# (k, n, share, code, crs): NaN shares are missing values for both engines, as pandas reads them.
ROWS = """
    ('a', 1, 0.5, 'x1', 2154),
    ('a', 1, 'nan'::double, 'x2', 2154),
    ('b', null, 1.5, null, 5490),
    (null, null, null, 'y', 1),
    (null, null, -0.1, 'x3', null),
    ('c', 2, 'nan'::double, '12', 2154)
"""

#: Each rule kind, with its failing rows counted by hand and the percentage of the rows it checks.
CASES = [
    ("unique", Unique("k"), 2, 50.0),  # 'a' twice; nulls ignored
    ("compound unique", Unique("k", "n"), 2, 50.0),  # ('a', 1) twice; the two all-null keys are not checked
    ("unique ignores NaN", Unique("share"), 0, 0.0),
    ("not null", NotNull("k"), 2, 100 * 2 / 6),
    ("not null counts NaN", NotNull("share"), 3, 50.0),
    ("regex", Matches("code", r"^x[0-9]$"), 2, 40.0),  # 'y' and '12'
    ("regex on an integer column", Matches("n", r"^1$"), 1, 100 / 3),
    ("range", Between("share", 0, 1), 2, 100 * 2 / 3),  # 1.5 and -0.1
    ("range, max only", Between("share", None, 1), 1, 100 / 3),
    ("range, min only", Between("n", 2, None), 2, 100 * 2 / 3),
    ("allowed integers", InSet("crs", (2154, 5490)), 1, 20.0),
    ("allowed strings", InSet("k", ("a",)), 2, 50.0),
    ("allowed floats", InSet("share", (0.5,)), 2, 100 * 2 / 3),
    ("row count too high", RowCount(1, 3), 1, None),
    ("row count", RowCount(1), 0, None),
]
SUITE = [spec for _, spec, _, _ in CASES]


def comparable(o):
    return (o.name, o.success, o.unexpected_count, o.examples, o.error)


@pytest.fixture(scope="module")
def both():
    """Both engines on the hand-made table and on its empty copy (one GX validation each)."""
    with duckdb.connect() as con:
        con.execute("create schema stg")
        con.execute(f"create table stg.t as select * from (values {ROWS}) v(k, n, share, code, crs)")
        con.execute("create table stg.empty as select * from stg.t limit 0")
        yield {t: (run_suite(con, t, SUITE), run_suite(con, t, SUITE, engine="gx")) for t in ("stg.t", "stg.empty")}


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c[0] for c in CASES])
def test_sql_and_gx_report_the_same_failures(both, i):
    _, spec, count, percent = CASES[i]
    sql, gx = (outcomes[i] for outcomes in both["stg.t"])
    assert comparable(sql) == comparable(gx)
    assert sql.unexpected_percent == gx.unexpected_percent
    assert sql.unexpected_count == count and sql.success == (count == 0)
    assert sql.unexpected_percent == pytest.approx(percent) if percent is not None else sql.unexpected_percent is None
    if count and not isinstance(spec, RowCount):
        # Failing rows carry the uniqueness keys and the rule's column.
        assert {"k", "n"} <= set(sql.examples[0]) and len(sql.examples) == min(count, EXAMPLES)


def test_the_failing_rows_are_the_hand_counted_ones(both):
    sql = {o.name: o for o in both["stg.t"][0]}
    # The keys of every uniqueness rule of the suite (k, n, share) come first.
    assert sql["unique (k, n)"].examples == [{"k": "a", "n": 1, "share": 0.5}, {"k": "a", "n": 1, "share": None}]
    assert sql["share in [0, 1]"].examples == [{"k": "b", "n": None, "share": 1.5}, {"k": None, "n": None, "share": -0.1}]
    assert sql["code matches ^x[0-9]$"].examples == [
        {"k": None, "n": None, "share": None, "code": "y"},
        {"k": "c", "n": 2, "share": None, "code": "12"},
    ]
    assert sql["row count in [1, 3]"].examples == [{"row_count": 6}]


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c[0] for c in CASES])
def test_on_an_empty_table_both_engines_pass_all_but_a_minimum_row_count(both, i):
    sql, gx = (outcomes[i] for outcomes in both["stg.empty"])
    assert comparable(sql) == comparable(gx) and sql.unexpected_percent == gx.unexpected_percent is None
    assert sql.success == (not isinstance(CASES[i][1], RowCount))


def test_both_engines_agree_on_a_random_table_with_many_failures():
    rng = random.Random(14)

    def maybe(value, p_null=0.15):
        return None if rng.random() < p_null else value

    rows = [
        (
            maybe(f"{rng.randrange(60):05d}"),
            maybe(rng.randrange(2014, 2020)),
            maybe(rng.choice([rng.uniform(-0.2, 1.2), float("nan")])),
            maybe(rng.choice(["ess", "public", "lucratif", "autre"])),
        )
        for _ in range(300)
    ]
    suite = [
        Unique("code", "annee"),
        Unique("code"),
        NotNull("share"),
        Matches("code", r"[0-4]$"),  # a search: anchored at the end only
        Between("share", 0, 1),
        Between("annee", 2015, 2018),
        InSet("sector", ("ess", "public")),
        RowCount(1, 299),
    ]
    with duckdb.connect() as con:
        con.execute("create schema stg")
        con.execute("create table stg.r(code varchar, annee integer, share double, sector varchar)")
        con.executemany("insert into stg.r values (?, ?, ?, ?)", rows)
        sql, gx = run_suite(con, "stg.r", suite), run_suite(con, "stg.r", suite, engine="gx")
    assert [comparable(o) for o in sql] == [comparable(o) for o in gx]
    assert [o.unexpected_percent for o in sql] == [o.unexpected_percent for o in gx]
    # Every rule fails here, most of them on more rows than are shown: the shown ones are the first in table order.
    assert [o.name for o in sql if o.success] == [] and sum(o.unexpected_count > EXAMPLES for o in sql) >= 6


def test_gx_runs_without_progress_bars_or_analytics(capfd, monkeypatch):
    """No progress bar on the run's output, and no network call (GX analytics would post events):
    every socket connection attempted during the validation is recorded, and refused."""
    import socket

    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError(f"test: network refused ({address})")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    with duckdb.connect() as con:
        con.execute("create schema stg")
        con.execute(f"create table stg.t as select * from (values {ROWS}) v(k, n, share, code, crs)")
        outcomes = run_suite(con, "stg.t", [NotNull("k"), Between("share", 0, 1)], engine="gx")
    out, err = capfd.readouterr()
    assert "Calculating Metrics" not in out + err and "%|" not in err
    assert attempts == []
    assert [(o.success, o.unexpected_count) for o in outcomes] == [(False, 2), (False, 2)]


class Spy:
    """A DuckDB connection that counts the rows Python receives and refuses pandas copies."""

    def __init__(self, con):
        self.con, self.rows, self.queries = con, 0, []

    def execute(self, query, *args):
        self.queries.append(query)
        self.con.execute(query, *args)
        return self

    @property
    def description(self):
        return self.con.description

    def fetchone(self):
        self.rows += 1
        return self.con.fetchone()

    def fetchall(self):
        out = self.con.fetchall()
        self.rows += len(out)
        return out

    def df(self):
        raise AssertionError("the table was copied into pandas")


def test_a_large_failing_table_is_never_copied_out():
    """200,000 rows failing every rule: Python receives the counts and at most EXAMPLES rows per rule."""
    suite = [Unique("k"), NotNull("v"), Matches("s", "^a"), Between("v", 0, 1), InSet("s", ("a",)), RowCount(max_value=10)]
    with duckdb.connect() as con:
        con.execute("create schema stg")
        con.execute(
            "create table stg.big as select range // 2 as k, case when range % 3 = 0 then null else range::double end as v, "
            "case when range % 5 = 0 then 'b' else 'a' end as s from range(200000)"
        )
        spy = Spy(con)
        outcomes = run_suite(spy, "stg.big", suite)
    assert [o.unexpected_count for o in outcomes] == [200000, 66667, 40000, 133332, 40000, 1]
    assert spy.rows <= 4 + len(suite) * EXAMPLES + 10, spy.rows  # describe, existence, counts, examples
    assert not any("df()" in q for q in spy.queries)
