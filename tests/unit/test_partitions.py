"""Yearly partitions: the shared definition, the scheduled year, and the atomic replacement of one year."""

import datetime as dt

import duckdb
import pytest

from observatory.partitions import YEARS, latest_year_key, partition_year, replace_year, yearly_partitions, years_to_build
from observatory.settings import TERRITORY_YEARS


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def rows(con, table="stg.membership"):
    return con.execute(f"select annee, code_commune, epci_siren from {table} order by all").fetchall()


def write(con, year, members):
    """Replace ``year`` of stg.membership by ``members`` [(code_commune, epci_siren)]."""
    values = ", ".join(f"('{c}', '{e}')" for c, e in members)
    con.execute(f"create or replace temp table members as select * from (values {values}) v(code, epci)")
    return replace_year(
        con, "stg.membership", year,
        "select $annee::integer as annee, code as code_commune, epci as epci_siren from members",
        {"annee": year},
    )


def test_years_partitions_are_the_territory_years():
    assert YEARS.get_partition_keys() == [str(y) for y in TERRITORY_YEARS]
    assert yearly_partitions([2019, 2017, 2018, 2017]).get_partition_keys() == ["2017", "2018", "2019"]
    with pytest.raises(ValueError):
        yearly_partitions([])


def test_latest_year_key_is_the_latest_year_up_to_the_date():
    p = yearly_partitions(range(2015, 2027))
    assert latest_year_key(p, dt.datetime(2027, 1, 15)) == "2026"
    assert latest_year_key(p, dt.datetime(2021, 1, 15)) == "2021"
    assert latest_year_key(p, dt.datetime(2010, 1, 15)) == "2026"  # before every key: the last one
    assert latest_year_key(p) == "2026"


def test_partition_year_reads_the_context_key():
    class Ctx:
        partition_key = "2017"

    assert partition_year(Ctx()) == 2017
    Ctx.partition_key = "2017-01-01"
    with pytest.raises(ValueError, match="expected a year"):
        partition_year(Ctx())


def test_years_to_build_is_the_partition_year_or_every_year():
    class Partitioned:
        has_partition_key = True
        partition_key = "2018"

    class Whole:
        has_partition_key = False

    assert years_to_build(Partitioned()) == [2018]
    assert years_to_build(Whole(), [2017, 2016, 2017]) == [2016, 2017]
    assert years_to_build(Whole()) == list(TERRITORY_YEARS)


def test_replace_year_creates_then_replaces_only_that_year(con):
    assert write(con, 2016, [("01001", "200000001"), ("01002", "200000002")]) == 2
    assert write(con, 2017, [("01001", "200000001"), ("01002", "200000001")]) == 2
    assert write(con, 2016, [("01001", "200000009")]) == 1  # a re-run of 2016 with new content
    assert rows(con) == [
        (2016, "01001", "200000009"),
        (2017, "01001", "200000001"),
        (2017, "01002", "200000001"),
    ]


def test_replace_year_refuses_rows_of_another_year_and_leaves_the_table(con):
    write(con, 2016, [("01001", "200000001")])
    before = rows(con)
    con.execute("create or replace temp table members as select * from (values ('01001', 2016), ('01002', 2017)) v(code, annee)")
    with pytest.raises(ValueError, match=r"rows of other years in 'annee': \[2016\]; expected only 2017"):
        replace_year(con, "stg.membership", 2017, "select annee, code as code_commune, '2' as epci_siren from members")
    assert rows(con) == before


def test_replace_year_rolls_back_when_the_columns_do_not_match(con):
    write(con, 2016, [("01001", "200000001")])
    with pytest.raises(ValueError, match="do not match the table"):
        replace_year(con, "stg.membership", 2016, "select 2016 as annee, '01001' as code_commune")
    assert rows(con) == [(2016, "01001", "200000001")]  # the delete of 2016 was rolled back


def test_replace_year_rolls_back_when_the_query_fails(con):
    write(con, 2016, [("01001", "200000001")])
    with pytest.raises(duckdb.Error):
        replace_year(con, "stg.membership", 2016, "select * from no_such_table")
    assert rows(con) == [(2016, "01001", "200000001")]
    assert write(con, 2017, [("01003", "200000003")]) == 1  # the connection is usable afterwards


def test_replace_year_needs_the_year_column(con):
    with pytest.raises(ValueError, match="no column 'annee'"):
        replace_year(con, "stg.membership", 2016, "select 1 as x")
