"""The quality suites: exact outcomes on tiny tables (value rules evaluated in DuckDB), readable failures, the
quality log. The Great Expectations reference is tested in test_quality_oracle.py."""

import json

import duckdb
import pytest

from observatory.quality import (
    Between,
    Columns,
    InSet,
    Matches,
    NotNull,
    RowCount,
    Sql,
    Unique,
    failure_report,
    record_outcome,
    run_suite,
    table_check,
)
from observatory.publish import failed_checks


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("create schema stg")
    c.execute(
        """
        create table stg.facilities as select * from (values
            ('73282932000074', 2017, 'ess', 0.5, date '2017-01-01'),
            ('73282932000074', 2017, 'ess', 0.5, date '2017-01-01'),
            ('7328293200007', 2018, 'public', 1.5, null),
            (null, 2019, 'autre', null, date '2019-01-01')
        ) v(siret, annee, sector, share, opened)
        """
    )
    c.execute("alter table stg.facilities alter share type double")
    yield c
    c.close()


def by_name(outcomes):
    return {o.name: o for o in outcomes}


def test_gx_specs_pass_on_clean_rows(con):
    con.execute("create table stg.clean as select * from stg.facilities where siret is not null and annee = 2017 limit 1")
    outcomes = run_suite(
        con,
        "stg.clean",
        [
            Unique("siret", "annee"),
            NotNull("siret"),
            Matches("siret", r"^[0-9]{14}$"),
            Between("share", 0, 1),
            InSet("sector", ("ess", "public")),
            RowCount(1, 1),
        ],
    )
    assert [o.success for o in outcomes] == [True] * 6
    assert all(o.unexpected_count == 0 and not o.examples and not o.error for o in outcomes)


def test_gx_specs_count_failures_and_show_failing_rows(con):
    outcomes = by_name(
        run_suite(
            con,
            "stg.facilities",
            [
                Unique("siret", "annee"),
                Unique("siret"),
                NotNull("siret"),
                Matches("siret", r"^[0-9]{14}$"),
                Between("share", 0, 1),
                InSet("sector", ("ess", "public")),
                RowCount(min_value=5),
            ],
        )
    )
    dup = outcomes["unique (siret, annee)"]
    assert not dup.success and dup.unexpected_count == 2
    # failing rows carry the key columns, not just the values
    assert dup.examples == [{"siret": "73282932000074", "annee": 2017}] * 2
    assert outcomes["unique (siret)"].unexpected_count == 2
    nn = outcomes["siret not null"]
    assert nn.unexpected_count == 1 and nn.examples == [{"siret": None, "annee": 2019}]
    assert nn.unexpected_percent == pytest.approx(25.0)
    fmt = outcomes["siret matches ^[0-9]{14}$"]
    assert fmt.unexpected_count == 1 and fmt.examples == [{"siret": "7328293200007", "annee": 2018}]
    rng = outcomes["share in [0, 1]"]
    assert rng.unexpected_count == 1 and rng.examples == [{"siret": "7328293200007", "annee": 2018, "share": 1.5}]
    inset = outcomes["sector in ['ess', 'public']"]
    assert inset.unexpected_count == 1 and inset.examples == [{"siret": None, "annee": 2019, "sector": "autre"}]
    rows = outcomes["row count in [5, None]"]
    assert not rows.success and rows.examples == [{"row_count": 4}]


def test_a_spec_listed_twice_gets_its_outcome_twice(con):
    outcomes = run_suite(con, "stg.facilities", [NotNull("siret"), Between("share", 0, 1), NotNull("siret")])
    assert [(o.name, o.unexpected_count) for o in outcomes] == [
        ("siret not null", 1),
        ("share in [0, 1]", 1),
        ("siret not null", 1),
    ]


def test_outcomes_are_json_safe(con):
    outcomes = run_suite(con, "stg.facilities", [NotNull("share"), Sql("dates", "select opened from {table} where annee >= 2018")])
    text = json.dumps([o.as_dict() for o in outcomes], allow_nan=False)  # NaN would raise here
    assert '"examples": [{"share": null}]' in text
    assert '"opened": "2019-01-01"' in text


def test_columns_spec_lists_each_difference(con):
    (o,) = run_suite(
        con,
        "stg.facilities",
        [Columns({"siret": "VARCHAR", "annee": "BIGINT", "sector": "VARCHAR", "share": "DOUBLE", "missing_col": "VARCHAR"})],
    )
    assert not o.success and o.unexpected_count == 3
    assert o.examples == [
        "annee: expected BIGINT, found INTEGER",
        "missing_col: expected VARCHAR, found missing",
        "opened: unexpected column",
    ]


def test_sql_rule_counts_every_failing_row_but_keeps_few_examples(con):
    con.execute("create table stg.big as select range as i from range(1000)")
    (o,) = run_suite(con, "stg.big", [Sql("even numbers", "select i from {table} where i % 2 = 0")])
    assert o.unexpected_count == 500 and len(o.examples) == 5


def test_missing_column_table_or_broken_rule_fail_with_a_reason(con):
    outcomes = by_name(run_suite(con, "stg.facilities", [Matches("code_commune", "x"), Sql("broken", "select * from stg.nope")]))
    assert not outcomes["code_commune matches x"].success
    assert "column(s) ['code_commune'] missing" in outcomes["code_commune matches x"].error
    assert not outcomes["broken"].success and "rule query failed on stg.facilities" in outcomes["broken"].error
    (missing,) = run_suite(con, "stg.nothing", [NotNull("x")])
    assert not missing.success and missing.error.startswith("stg.nothing:")


def test_empty_table_passes_value_rules_and_fails_row_count(con):
    con.execute("create table stg.empty as select * from stg.facilities limit 0")
    outcomes = run_suite(con, "stg.empty", [Unique("siret"), Matches("siret", "^x$"), Between("share", 0, 1), RowCount(1)])
    assert [o.success for o in outcomes] == [True, True, True, False]


def test_failure_report_is_readable_markdown(con):
    outcomes = run_suite(con, "stg.facilities", [Unique("siret", "annee"), RowCount(1), Sql("boom", "select * from stg.nope")])
    report = failure_report(outcomes)
    assert "**unique (siret, annee)**: 2 failing (50 % of non-null values)" in report
    assert "| siret | annee |" in report and "| 73282932000074 | 2017 |" in report
    assert "**boom**: 1 failing" in report and "> rule query failed" in report
    assert "row count" not in report  # passing rules are not listed


def test_record_outcome_feeds_the_publication_gate(tmp_path):
    db = tmp_path / "build.duckdb"
    with duckdb.connect(str(db)) as c:
        record_outcome(c, "marts.a", "quality", False, run_id="r1", failures={"x": 3})
        record_outcome(c, "marts.b", "quality", False, run_id="r1")
        record_outcome(c, "marts.b", "quality", True, run_id="r2")
        assert c.execute("select failures from main.quality_log where run_id = 'r1' and table_name = 'marts.a'").fetchone() == ('{"x": 3}',)
    with duckdb.connect() as c:
        c.execute(f"attach '{db}' as build (read_only)")
        assert failed_checks(c) == [("marts.a", "quality")]


def test_record_outcome_upgrades_an_old_quality_log(tmp_path):
    with duckdb.connect(str(tmp_path / "b.duckdb")) as c:
        c.execute("create table main.quality_log(table_name varchar, check_name varchar, passed boolean, checked_at timestamp)")
        c.execute("insert into main.quality_log values ('marts.a', 'quality', true, now())")
        record_outcome(c, "marts.a", "quality", False, run_id="r9")
        assert c.execute("select count(*), count(run_id) from main.quality_log").fetchone() == (2, 1)


def test_table_check_is_blocking_and_refuses_an_empty_suite():
    check = table_check("marts.x", [RowCount(1)])
    (spec,) = check.check_specs
    assert spec.blocking and spec.asset_key.path == ["marts", "x"]
    assert "row count in [1, None]" in spec.description
    with pytest.raises(ValueError, match="empty suite"):
        table_check("marts.x", [])
