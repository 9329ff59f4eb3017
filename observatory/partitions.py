"""Yearly partitions for sources that are naturally yearly, and the atomic "replace one year" write.

How a source adopts them (the territory membership is the natural candidate: one file per year):

1. give the yearly assets ``partitions_def=YEARS`` (one shared definition: Dagster refuses a
   job mixing several partitions definitions, and the refresh schedules are built per cadence);
2. in the asset, loop ``for year in years_to_build(context):`` (the partition's year, or every
   year when the run has no partition key, as ``python -m observatory run``), build only that
   year's rows and write them with
   ``replace_year(con, "stg.x", year, "select ... where annee = $annee", {"annee": year})``:
   the year's old rows are deleted and the new ones inserted in one transaction, so a failed run
   leaves the previous rows and a backfill of several years can run year after year;
3. downstream unpartitioned assets (marts) need no change: they read the whole table;
4. the source's table check keeps checking the whole table (all years).

In the UI, *Materialize* on a partitioned asset offers a partition picker; selecting several
years launches a backfill (one run per year; the ``duckdb`` pool runs them one at a time). The
yearly schedule refreshes the latest year up to the schedule's date, see ``observatory.automation``.
"""


import datetime as dt
import re
import uuid
from typing import Any, Iterable, Mapping

import dagster as dg

from observatory.resources import qualified
from observatory.settings import TERRITORY_YEARS

_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*$")


def yearly_partitions(years: Iterable[int]) -> dg.StaticPartitionsDefinition:
    """One partition per year, keyed ``"2015"``, ``"2016"``..."""
    keys = [str(int(y)) for y in sorted(set(years))]
    if not keys:
        raise ValueError("yearly_partitions: expected at least one year")
    return dg.StaticPartitionsDefinition(keys)


#: The shared yearly partitions: the years of the territorial reference (1 January 2015-2026).
YEARS = yearly_partitions(TERRITORY_YEARS)


def partition_year(context: Any) -> int:
    """The year of a partitioned run (an asset's ``context.partition_key``), as an integer."""
    key = context.partition_key
    if not re.fullmatch(r"[0-9]{4}", str(key)):
        raise ValueError(f"partition key {key!r}: expected a year such as '2017'")
    return int(key)


def years_to_build(context: Any, years: Iterable[int] = TERRITORY_YEARS) -> list[int]:
    """The year of a partitioned run (UI, schedule, backfill); every year of ``years`` in a run
    without a partition key (``python -m observatory run`` materializes the whole graph at once)."""
    if getattr(context, "has_partition_key", False):
        return [partition_year(context)]
    return sorted({int(y) for y in years})


def latest_year_key(partitions_def: dg.PartitionsDefinition, when: dt.datetime | None = None) -> str:
    """The partition a scheduled refresh targets: the latest year not after ``when``'s year
    (the last key if none is a year)."""
    keys = list(partitions_def.get_partition_keys())
    years = [k for k in keys if re.fullmatch(r"[0-9]{4}", k)]
    if when is not None:
        years = [k for k in years if int(k) <= when.year] or years
    if years:
        return max(years)
    if not keys:
        raise ValueError("latest_year_key: the partitions definition has no key")
    return keys[-1]


def replace_year(
    con: Any,
    table: str,
    year: int,
    query: str,
    params: Mapping[str, Any] | None = None,
    *,
    column: str = "annee",
) -> int:
    """Replace the rows of ``year`` in ``table`` by the rows of ``query``, atomically.

    ``query`` must return only rows of that year in ``column``; it may bind ``$params``. The table
    is created from the first year written. Other years are untouched; if anything fails (a row of
    another year, a column that does not match the table), the transaction is rolled back and the
    table is as before. Returns the number of rows written. A DataFrame is written by registering
    it first: ``con.register("new_rows", df)`` then ``query="select * from new_rows"``.
    """
    t = qualified(table)
    if not _COLUMN.match(column):
        raise ValueError(f"invalid year column {column!r}")
    year = int(year)
    staged = f"_replace_{uuid.uuid4().hex[:12]}"
    con.execute("begin transaction")
    try:
        con.execute(f"create temp table {staged} as {query}", dict(params or {}))
        cols = [r[0] for r in con.execute(f"describe {staged}").fetchall()]
        if column not in cols:
            raise ValueError(f"replace_year({t}, {year}): the query has no column {column!r}; columns: {cols}")
        others = con.execute(
            f'select distinct "{column}" from {staged} where "{column}" is distinct from ? order by 1 limit 5', [year]
        ).fetchall()
        if others:
            raise ValueError(
                f"replace_year({t}, {year}): the query returned rows of other years in {column!r}: "
                f"{[r[0] for r in others]}; expected only {year}"
            )
        schema, name = t.split(".")
        exists = con.execute(
            "select count(*) from duckdb_tables() where database_name = current_database() and schema_name = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
        if not exists:
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"create table {t} as select * from {staged} limit 0")
        else:
            current = [r[0] for r in con.execute(f"describe {t}").fetchall()]
            if sorted(current) != sorted(cols):
                raise ValueError(
                    f"replace_year({t}, {year}): columns {sorted(cols)} do not match the table's {sorted(current)}"
                )
        con.execute(f'delete from {t} where "{column}" = ?', [year])
        con.execute(f"insert into {t} by name select * from {staged}")
        written = con.execute(f"select count(*) from {staged}").fetchone()[0]
        con.execute(f"drop table {staged}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return int(written)
