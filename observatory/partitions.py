"""Yearly partitions for sources that are naturally yearly, and the atomic "replace these years" write.

Partitioned assets (all on the one shared ``assets.common.years.YEARS``, keyed by the observatory's year:
1 January of ``annee``):

* territory (``assets/territory/``): ``stg/communes``, ``stg/epci_membership``, ``stg/epci`` - one
  official commune list and one commune -> EPCI composition per 1 January;
* CAF (``assets/caf/``): ``stg/caf_places_commune``, ``stg/caf_coverage_commune`` - partition
  ``annee`` holds CAF year ``caf_annee = annee - 1`` (supply in December of the previous year, shown
  on 1 January of ``annee``, as in the marts); a partition whose CAF year the source does not
  publish is written empty and says so (metadata ``caf_year_missing``).

Everything else (raw files, passage tables, code map, polygons, marts, publication) is unpartitioned
and reads the whole tables.

How a partitioned asset is written:

1. ``partitions_def=YEARS`` (``assets.common.years``: one shared definition: Dagster refuses a job mixing several
   partitions definitions, and the refresh schedules are built per cadence) and
   ``backfill_policy=dg.BackfillPolicy.single_run()``: a backfill of a year range is ONE run
   whose assets receive the whole range (run tags ``dagster/asset_partition_range_start`` /
   ``_end``), so the range is written in one transaction and the run's blocking checks and
   downstream marts see every year of it;
2. the asset builds ``years_to_build(context)`` (the partition keys of the run: one year from a
   UI launch of one partition, a range from a backfill, or the full range of :func:`selection_tags` from
   ``python -m observatory run`` and the scheduled refreshes) and writes them with
   ``replace_years(con, "stg.x", years, "select ... where list_contains($years, annee)", {"years": years})``:
   the old rows of those years are deleted and the new ones inserted in one transaction, other
   years untouched; a failed run leaves the previous rows;
3. the asset returns a ``MaterializeResult`` and no value: a ranged run cannot hand one value per
   partition to an IO manager;
4. downstream unpartitioned assets (marts) need no change: they read the whole table;
5. the source's blocking table check keeps checking the WHOLE table (all years, not only the
   partitions just written), once per run, after the asset: a failure stops every asset below it
   in that run, and publication refuses to run while it is the latest outcome recorded.

In the UI, *Materialize* on the ``refresh_yearly`` job offers a partition picker; selecting several
years launches a backfill that is ONE run per contiguous range, sources to publication (the job's
backfill policy is single-run). A backfill launched from the asset graph runs the partitioned
assets in one run but the unpartitioned assets below them in separate runs (docs/operations.md,
*Backfills*). The yearly schedule's refresh rebuilds every year of what is stale (a raw file holds every
year), see ``observatory.automation``. A run holding two partitioned assets in a chain needs a partition
key or range: Dagster refuses to run it without one.
"""

import re
import uuid
import warnings
from typing import Any, Iterable, Mapping, Sequence

import dagster as dg

from observatory.resources import qualified, table_exists

_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*$")
_YEAR_KEY = re.compile(r"[0-9]{4}")

# ``backfill_policy`` is flagged beta on every definitions load (UI, CLI, each test); the dagster
# family is pinned to one version and tests cover the single-run backfills, so say it here once.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy` of function", category=dg.BetaWarning)

#: The run tags by which Dagster hands a partition range to single-run backfill assets.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def yearly_partitions(years: Iterable[int]) -> dg.StaticPartitionsDefinition:
    """One partition per year, keyed ``"2015"``, ``"2016"``..."""
    keys = [str(int(y)) for y in sorted(set(years))]
    if not keys:
        raise ValueError("yearly_partitions: expected at least one year")
    return dg.StaticPartitionsDefinition(keys)


def _year(key: Any) -> int:
    if not _YEAR_KEY.fullmatch(str(key)):
        raise ValueError(f"partition key {key!r}: expected a year such as '2017'")
    return int(key)


def partition_year(context: Any) -> int:
    """The year of a single-partition run (an asset's ``context.partition_key``), as an integer."""
    return _year(context.partition_key)


def partition_years(context: Any) -> list[int]:
    """The years of a partitioned run, one key or a range (``context.partition_keys``), sorted."""
    keys = getattr(context, "partition_keys", None)
    if keys is None:  # a context that only knows its single key
        keys = [context.partition_key]
    years = sorted({_year(k) for k in keys})
    if not years:
        raise ValueError("partitioned run without any partition key")
    return years


def years_to_build(context: Any, years: Iterable[int] | None = None) -> list[int]:
    """The years a partitioned asset builds: its run's partition key or key range (UI launch or
    backfill, scheduled refresh, ``python -m observatory run``); in a run without any partition (e.g.
    ``dg.materialize`` in a test), every year of ``years`` (default: every key of the asset's
    partitions definition), which Dagster then records as one unpartitioned materialization
    (logged as a warning: the UI shows no partition as built)."""
    if getattr(context, "has_partition_key_range", False) or getattr(context, "has_partition_key", False):
        return partition_years(context)
    log = getattr(context, "log", None)
    if log is not None:
        log.warning(
            "run without partition key or range: building every year; Dagster records no partition as "
            f"materialized. Launch with the tags {RANGE_START_TAG} / {RANGE_END_TAG} (python -m observatory run does)."
        )
    if years is None:
        pdef = getattr(getattr(context, "assets_def", None), "partitions_def", None)
        if pdef is None:
            raise ValueError("years_to_build: a run without partition needs the years (or an asset with a partitions definition)")
        years = [_year(k) for k in pdef.get_partition_keys()]
    return sorted({int(y) for y in years})


def range_tags(first: Any, last: Any, partitions_def: dg.PartitionsDefinition) -> dict[str, str]:
    """Run tags that make one run build the partitions ``first``..``last`` (both included) of every
    single-run partitioned asset it holds; unpartitioned assets of the run are built as usual."""
    keys = list(partitions_def.get_partition_keys())
    first, last = str(first), str(last)
    unknown = [k for k in (first, last) if k not in keys]
    if unknown:
        raise ValueError(f"partition range {first}..{last}: {unknown} not among the partitions {keys[0]}..{keys[-1]}")
    if keys.index(first) > keys.index(last):
        raise ValueError(f"partition range {first}..{last}: the first key comes after the last")
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


def all_years_tags(partitions_def: dg.PartitionsDefinition) -> dict[str, str]:
    """Run tags covering every partition: what ``python -m observatory run`` launches."""
    keys = list(partitions_def.get_partition_keys())
    return range_tags(keys[0], keys[-1], partitions_def)


def selection_tags(graph: Any, keys: Iterable[dg.AssetKey]) -> dict[str, str]:
    """The run tags of a run of ``keys`` (asset keys of ``graph``, an asset graph): every year when they hold
    partitioned assets (:func:`all_years_tags`), none otherwise. The command line and the refresh sensors launch
    their runs with these, so that a yearly asset whose inputs changed rewrites all its years (a raw file holds
    every year) and Dagster records each partition as up to date."""
    partitioned = {graph.get(k).partitions_def for k in keys if graph.get(k).partitions_def is not None}
    if len(partitioned) > 1:
        raise dg.DagsterInvalidDefinitionError("the partitioned assets must share observatory.partitions.YEARS")
    return all_years_tags(next(iter(partitioned))) if partitioned else {}


def replace_years(
    con: Any,
    table: str,
    years: Sequence[int],
    query: str,
    params: Mapping[str, Any] | None = None,
    *,
    column: str = "annee",
) -> dict[int, int]:
    """Replace the rows of ``years`` in ``table`` by the rows of ``query``, atomically.

    ``query`` must return only rows of those years in ``column`` (a year may get no row: its old
    rows are deleted); it may bind ``$params``. The table is created from the first write. Other
    years are untouched; if anything fails (a row of another year, a column that does not match
    the table), the transaction is rolled back and the table is as before. When the query's columns
    differ from the table's (a new version renamed some) and the run rebuilds every year the table
    holds, the table is recreated with the new columns; with other years left, it is an error. Returns the rows
    written per year. A DataFrame is written by registering it first:
    ``con.register("new_rows", df)`` then ``query="select * from new_rows"``.
    """
    t = qualified(table)
    if not _COLUMN.match(column):
        raise ValueError(f"invalid year column {column!r}")
    years = sorted({int(y) for y in years})
    if not years:
        raise ValueError(f"replace_years({t}): no year given")
    label = f"replace_years({t}, {years[0]}..{years[-1]})" if len(years) > 1 else f"replace_year({t}, {years[0]})"
    staged = f"_replace_{uuid.uuid4().hex[:12]}"
    con.execute("begin transaction")
    try:
        con.execute(f"create temp table {staged} as {query.strip().rstrip(';')}", dict(params or {}))
        cols = [r[0] for r in con.execute(f"describe {staged}").fetchall()]
        if column not in cols:
            raise ValueError(f"{label}: the query has no column {column!r}; columns: {cols}")
        others = con.execute(
            f'select distinct "{column}" from {staged} where "{column}" is null or not list_contains(?, "{column}") '
            "order by 1 nulls first limit 5",
            [years],
        ).fetchall()
        if others:
            expected = f"only {years[0]}" if len(years) == 1 else f"only {years}"
            raise ValueError(
                f"{label}: the query returned rows of other years in {column!r}: {[r[0] for r in others]}; expected {expected}"
            )
        schema, name = t.split(".")
        if not table_exists(con, t):
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"create table {t} as select * from {staged} limit 0")
        else:
            current = [r[0] for r in con.execute(f"describe {t}").fetchall()]
            if sorted(current) != sorted(cols):
                kept = [
                    r[0]
                    for r in con.execute(
                        f'select distinct "{column}" from {t} where not list_contains(?, "{column}") order by 1', [years]
                    ).fetchall()
                ]
                if kept:  # rows of other years would be left with the old columns
                    raise ValueError(
                        f"{label}: columns {sorted(cols)} do not match the table's {sorted(current)} (a new version changed "
                        f"them, see the README's Changelog), and the table also holds years {kept} this run does not "
                        "rebuild: rebuild every year (a full run, or a backfill of the whole range) or drop the build "
                        "database (make clean)"
                    )
                # a new version changed the columns and this run rebuilds every year the table holds: new table
                con.execute(f"drop table {t}")
                con.execute(f"create table {t} as select * from {staged} limit 0")
        con.execute(f'delete from {t} where list_contains(?, "{column}")', [years])
        con.execute(f"insert into {t} by name select * from {staged}")
        per_year = dict(con.execute(f'select "{column}", count(*) from {staged} group by 1').fetchall())
        con.execute(f"drop table {staged}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return {y: int(per_year.get(y, 0)) for y in years}


def replace_years_frame(con: Any, table: str, years: Sequence[int], frame: Any, *, column: str = "annee") -> dict[int, int]:
    """:func:`replace_years` from a Polars frame holding exactly those years."""
    con.register("_years_frame", frame.to_arrow() if hasattr(frame, "to_arrow") else frame)
    try:
        return replace_years(con, table, years, "select * from _years_frame", column=column)
    finally:
        con.unregister("_years_frame")


def replace_year(
    con: Any,
    table: str,
    year: int,
    query: str,
    params: Mapping[str, Any] | None = None,
    *,
    column: str = "annee",
) -> int:
    """:func:`replace_years` for one year; returns the number of rows written."""
    return replace_years(con, table, [int(year)], query, params, column=column)[int(year)]


def written_metadata(con: Any, table: str, written: Mapping[int, int], *, column: str = "annee") -> dict[str, Any]:
    """What a partitioned write adds to ``table_metadata`` (whose row count is the whole table's,
    all years): the years written by this run and their rows."""
    t = qualified(table)
    return {
        "years_written": dg.MetadataValue.json(sorted(int(y) for y in written)),
        "rows_written": dg.MetadataValue.int(int(sum(written.values()))),
        f"rows_written_per_{column}": dg.MetadataValue.json({str(y): int(n) for y, n in sorted(written.items())}),
        "table_years": dg.MetadataValue.json([r[0] for r in con.execute(f'select distinct "{column}" from {t} order by 1').fetchall()]),
    }
