"""Provenance of the published figures.

``marts.sources``: one row per source of the project (``assets.catalog.source_specs``) with the
mode, files (sha256, size, origin, URL), data date and synthetic flag of what the run read
(``observatory.sources.read_source``, the same function the raw assets use) and the published marts
that depend on it (``used_by``, derived from the asset graph).

``facility_source``: the column every facility-derived mart carries, the SIRENE row's ``label`` of
``marts.sources`` (``SIRENE SYNTHETIC sample (data date 2026-10-31)`` on the embedded sample), so
that a figure read from a Parquet file, a dashboard or a query result says where it comes from.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping, Sequence

import duckdb

from assets.marts import columns as C
from assets.sirene.source import SPEC as SIRENE
from observatory.resources import qualified, sql_literal, table_exists, table_key
from observatory.sources import DATE_FROM_MANIFEST, SourceRead, SourceSpec

SOURCES_TABLE = C.SOURCES.table
SOURCES_KEY = table_key(SOURCES_TABLE)
#: The source of every facility, operator and market-share figure.
FACILITY_SOURCE = SIRENE.name
#: What facility_source says when marts.sources was not built (a builder run outside Dagster, e.g.
#: the benchmark); the blocking checks refuse it, so it is never published.
NOT_RECORDED = "SIRENE (source not recorded: marts.sources was not built)"


def used_by(parents: Mapping[str, Sequence[str]], specs: Iterable[SourceSpec]) -> dict[str, list[str]]:
    """Source name -> the published marts (``marts.*`` tables) whose upstream lineage reaches its raw
    asset. ``parents``: asset key (``marts/x``) -> its direct parents, the project's lineage
    (``observatory.resources.Lineage``, computed by the composition root). The lineage is not followed
    through marts.sources itself: every facility mart reads its SIRENE label there, which does not make
    it depend on every source."""
    own = SOURCES_KEY.to_user_string()
    marts = sorted(k for k in parents if k.startswith("marts/") and k != own)
    upstream: dict[str, set[str]] = {}
    for mart in marts:
        seen, todo = set(), [mart]
        while todo:
            for parent in parents.get(todo.pop(), ()):
                if parent != own and parent not in seen and parent in parents:
                    seen.add(parent)
                    todo.append(parent)
        upstream[mart] = seen
    return {s.name: [m.replace("/", ".") for m in marts if s.raw_key.to_user_string() in upstream[m]] for s in specs}


#: marts.sources.read_by: the run that read the files a row describes.
THIS_RUN, EARLIER_RUN = "this run", "an earlier run"
#: The columns of marts.sources that describe what was read (kept as recorded for a source this run did not read).
READ_COLUMNS = ("mode", "synthetic", "data_date", "data_date_basis", "label", "files")


def read_by_run(parents: Mapping[str, Sequence[str]], materialized: Iterable[str], specs: Iterable[SourceSpec]) -> set[str]:
    """The sources whose files this run read: their raw asset, or an asset reading their files (a direct child of the
    raw asset, e.g. its staging tables), was materialized in this run (``materialized``: asset keys, ``stg/x``). A
    staging table rebuilt from a local directory without its raw asset counts, so its label can never be stale."""
    done = set(materialized) - {SOURCES_KEY.to_user_string()}
    out = set()
    for s in specs:
        raw = s.raw_key.to_user_string()
        if raw in done or any(raw in parents.get(k, ()) for k in done):
            out.add(s.name)
    return out


def earlier_records(con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> dict[str, tuple]:
    """Source name -> its :data:`READ_COLUMNS` in the marts.sources of the build database (the previous materialization),
    for the sources of ``names`` it lists. Those sources' tables are the ones that record describes: a run that
    refreshes one source (CAF in official mode) leaves the others' tables, and their provenance, as they were."""
    names = sorted(set(names))
    if not names or not table_exists(con, SOURCES_TABLE):
        return {}
    rows = con.execute(f"select source, {', '.join(READ_COLUMNS)} from {qualified(SOURCES_TABLE)} where source in ?", [names]).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def with_data_dates(con: duckdb.DuckDBPyConnection, reads: Sequence[SourceRead]) -> list[SourceRead]:
    """Give a data date, from the data (``spec.data_date_from``), to the sources whose files record
    none in a manifest (real files in a local directory, official downloads dated by millesime only)."""
    out = []
    for read in reads:
        if read.data_date_basis != DATE_FROM_MANIFEST and read.spec.data_date_from:
            table, expression = read.spec.data_date_from
            value = con.execute(f"select cast({expression} as date) from {qualified(table)}").fetchone()[0]
            if value is None:
                raise RuntimeError(f"{table}: {expression} is NULL; cannot date source '{read.spec.name}'")
            read = read.with_data_date(value.isoformat(), f"{expression} of {table}")
        out.append(read)
    return out


def _row(spec: SourceSpec, read: tuple, read_by: str, used: Sequence[str]) -> list[Any]:
    mode, synthetic, data_date, basis, label, files = read
    return [
        spec.name,
        spec.title,
        spec.publisher,
        spec.licence,
        spec.homepage,
        spec.cadence,
        mode,
        read_by,
        synthetic,
        data_date,
        basis,
        label,
        files,
        list(used),
    ]


def _read_columns(read: SourceRead) -> tuple:
    files = [{"file": f.name, "sha256": f.sha256, "size": f.size, "origin": f.origin or None, "url": f.url or None} for f in read.files]
    return (read.mode, read.synthetic, read.data_date or None, read.data_date_basis or None, read.label, files)


def build_sources(
    con: duckdb.DuckDBPyConnection,
    reads: Sequence[SourceRead],
    used: Mapping[str, Sequence[str]],
    earlier: Sequence[tuple[SourceSpec, tuple]] = (),
) -> dict[str, Any]:
    """Write marts.sources from what the run read (``reads``) and, for the sources it did not read, the rows an
    earlier run recorded (``earlier``: (spec, its :data:`READ_COLUMNS` from :func:`earlier_records`)); return the
    asset-metadata summary."""
    reads = with_data_dates(con, reads)
    rows = [(r.spec, _read_columns(r), THIS_RUN) for r in reads] + [(spec, rec, EARLIER_RUN) for spec, rec in earlier]
    t = qualified(SOURCES_TABLE)
    columns = ", ".join(f'"{c.name}" {c.type}' for c in C.SOURCES.columns)
    con.execute(f"create or replace table {t} ({columns})")
    con.executemany(
        f"insert into {t} values ({', '.join('?' for _ in C.SOURCES.columns)})",
        [_row(spec, rec, by, used.get(spec.name, ())) for spec, rec, by in sorted(rows, key=lambda r: r[0].name)],
    )
    C.apply_comments(con, C.SOURCES)
    return {
        # when the files were verified describes the run, not the data: asset metadata, never a column
        "read_at": min(r.read_at for r in reads).astimezone(dt.timezone.utc).isoformat(timespec="seconds") if reads else None,
        "sources": {spec.name: rec[4] for spec, rec, _ in rows},
        "read_by_an_earlier_run": sorted(spec.name for spec, _ in earlier),
        "synthetic": sorted(spec.name for spec, rec, _ in rows if rec[1]),
        "files": sum(len(rec[5]) for _, rec, _ in rows),
    }


def facility_source(con: duckdb.DuckDBPyConnection) -> str:
    """The SIRENE label of marts.sources (``NOT_RECORDED`` when that table was not built)."""
    exists = table_exists(con, SOURCES_TABLE)
    row = con.execute(f"select label from {SOURCES_TABLE} where source = ?", [FACILITY_SOURCE]).fetchone() if exists else None
    return row[0] if row else NOT_RECORDED


def stamp_facility_source(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Append the ``facility_source`` column (last, as in the column specifications) to ``table``."""
    label = facility_source(con)
    con.execute(f"alter table {qualified(table)} add column facility_source varchar default {sql_literal(label)}")
    return label
