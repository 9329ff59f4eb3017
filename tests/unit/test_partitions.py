"""Yearly partitions: the shared definition, the scheduled year, the range tags, and the atomic
replacement of one year or a range of years."""

import duckdb
import pytest

from observatory.partitions import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    all_years_tags,
    partition_year,
    partition_years,
    range_tags,
    replace_year,
    replace_years,
    written_metadata,
    yearly_partitions,
    years_to_build,
)
from assets.common.years import TERRITORY_YEARS, YEARS


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
        con,
        "stg.membership",
        year,
        "select $annee::integer as annee, code as code_commune, epci as epci_siren from members",
        {"annee": year},
    )


def test_years_partitions_are_the_territory_years():
    assert YEARS.get_partition_keys() == [str(y) for y in TERRITORY_YEARS]
    assert yearly_partitions([2019, 2017, 2018, 2017]).get_partition_keys() == ["2017", "2018", "2019"]
    with pytest.raises(ValueError):
        yearly_partitions([])


def test_partition_year_reads_the_context_key():
    class Ctx:
        partition_key = "2017"

    assert partition_year(Ctx()) == 2017
    Ctx.partition_key = "2017-01-01"
    with pytest.raises(ValueError, match="expected a year"):
        partition_year(Ctx())


def test_years_to_build_is_the_partition_year_the_range_or_every_year():
    class Partitioned:
        has_partition_key = True
        partition_key = "2018"

    class Ranged:  # what Dagster gives an asset of a single-run backfill
        has_partition_key = False
        has_partition_key_range = True
        partition_keys = ["2019", "2017", "2018"]

    class Whole:
        has_partition_key = False

    assert years_to_build(Partitioned()) == [2018]
    assert years_to_build(Ranged()) == [2017, 2018, 2019]
    assert partition_years(Ranged()) == [2017, 2018, 2019]
    assert years_to_build(Whole(), [2017, 2016, 2017]) == [2016, 2017]
    with pytest.raises(ValueError, match="needs the years"):
        years_to_build(Whole())

    class WholeAsset(Whole):  # an asset run without partition: every key of its partitions definition
        class assets_def:
            partitions_def = YEARS

    assert years_to_build(WholeAsset()) == list(TERRITORY_YEARS)
    Ranged.partition_keys = ["2019", "2019-01"]
    with pytest.raises(ValueError, match="'2019-01': expected a year"):
        years_to_build(Ranged())


def test_range_tags_name_existing_partitions_in_order():
    assert all_years_tags(YEARS) == {RANGE_START_TAG: "2015", RANGE_END_TAG: "2026"}
    assert range_tags(2017, "2019", YEARS) == {"dagster/asset_partition_range_start": "2017", "dagster/asset_partition_range_end": "2019"}
    with pytest.raises(ValueError, match=r"\['2030'\] not among the partitions 2015..2026"):
        range_tags(2017, 2030, YEARS)
    with pytest.raises(ValueError, match="the first key comes after the last"):
        range_tags(2019, 2017, YEARS)


def write_range(con, years, members):
    """Replace ``years`` of stg.membership by ``members`` [(annee, code_commune, epci_siren)]."""
    values = ", ".join(f"({y}, '{c}', '{e}')" for y, c, e in members) or "(0, '', '')"
    con.execute(f"create or replace temp table members as select * from (values {values}) v(annee, code, epci) where annee > 0")
    return replace_years(
        con, "stg.membership", years, "select annee::integer as annee, code as code_commune, epci as epci_siren from members"
    )


def test_replace_years_replaces_exactly_the_range_and_empties_a_year_without_rows(con):
    assert write_range(con, [2015, 2016, 2017, 2018], [(y, "01001", f"20000000{y - 2014}") for y in (2015, 2016, 2017, 2018)]) == {
        2015: 1,
        2016: 1,
        2017: 1,
        2018: 1,
    }
    # a backfill of 2016-2017: 2016 gets two rows, 2017 none (its old row goes), 2015 and 2018 untouched
    assert write_range(con, [2017, 2016], [(2016, "01001", "200000009"), (2016, "01002", "200000009")]) == {2016: 2, 2017: 0}
    assert rows(con) == [
        (2015, "01001", "200000001"),
        (2016, "01001", "200000009"),
        (2016, "01002", "200000009"),
        (2018, "01001", "200000004"),
    ]
    meta = written_metadata(con, "stg.membership", {2016: 2, 2017: 0})
    assert (meta["years_written"].value, meta["rows_written"].value, meta["rows_written_per_annee"].value, meta["table_years"].value) == (
        [2016, 2017],
        2,
        {"2016": 2, "2017": 0},
        [2015, 2016, 2018],
    )


def test_replace_years_refuses_rows_outside_the_range_and_leaves_the_table(con):
    write_range(con, [2015, 2016], [(2015, "01001", "200000001"), (2016, "01001", "200000001")])
    before = rows(con)
    with pytest.raises(
        ValueError,
        match=r"replace_years\(stg.membership, 2016..2017\): .* rows of other years in 'annee': \[2015, 2018\]; "
        r"expected only \[2016, 2017\]",
    ):
        write_range(con, [2016, 2017], [(2015, "01001", "x"), (2016, "01001", "x"), (2018, "01001", "x")])
    assert rows(con) == before
    with pytest.raises(ValueError, match="no year given"):
        replace_years(con, "stg.membership", [], "select 1 as annee")


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
    write(con, 2017, [("01001", "200000001")])
    with pytest.raises(ValueError, match=r"do not match the table.*also holds years \[2017\] this run does not rebuild"):
        replace_year(con, "stg.membership", 2016, "select 2016 as annee, '01001' as code_commune")
    # the delete of 2016 was rolled back
    assert rows(con) == [(2016, "01001", "200000001"), (2017, "01001", "200000001")]


def test_replace_years_recreates_the_table_when_a_new_version_renames_columns_and_every_year_is_rebuilt(con):
    write_range(con, [2016, 2017], [(2016, "01001", "200000001"), (2017, "01001", "200000001")])
    assert replace_years(
        con, "stg.membership", [2016, 2017], "select 2016 as annee, '01001' as code_commune, '200000001' as epci_siren_renamed"
    ) == {2016: 1, 2017: 0}
    assert con.execute("select * from stg.membership").fetchall() == [(2016, "01001", "200000001")]
    assert [r[0] for r in con.execute("describe stg.membership").fetchall()] == ["annee", "code_commune", "epci_siren_renamed"]


def test_replace_year_rolls_back_when_the_query_fails(con):
    write(con, 2016, [("01001", "200000001")])
    with pytest.raises(duckdb.Error):
        replace_year(con, "stg.membership", 2016, "select * from no_such_table")
    assert rows(con) == [(2016, "01001", "200000001")]
    assert write(con, 2017, [("01003", "200000003")]) == 1  # the connection is usable afterwards


def test_replace_year_needs_the_year_column(con):
    with pytest.raises(ValueError, match="no column 'annee'"):
        replace_year(con, "stg.membership", 2016, "select 1 as x")
