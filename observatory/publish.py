"""Atomic publication of the marts: DuckDB database, one Parquet file per mart, GeoParquet files.

Everything is first written into a staging directory beside the destination (same file system),
verified, then moved into place with ``os.replace``. So:

* a failed run never touches ``data/marts/`` (the last good publication stays as it was);
* an analyst or a dashboard reading ``observatory.duckdb`` or a Parquet file keeps reading the
  previous version through its open handle and never holds a lock the pipeline needs (the
  pipeline writes to the private build database, not to the published one).

Publication also refuses to run if the latest quality check of any table failed (checks record
their outcome in the build database, see ``observatory.quality``), so a partial re-run cannot
publish tables that a previous run found bad.
"""


import datetime as dt
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Sequence

import dagster as dg
import duckdb

from observatory.quality.log import failed_checks
from observatory.resources import Warehouse, qualified, sha256_of, sql_literal

#: Build-database directory whose GeoParquet (and GeoJSON) files are published under ``data/marts/geo/``.
GEO_STAGING = "geo_publish"
GEO_SUFFIXES = ("*.parquet", "*.geojson")
#: The provenance mart: its rows give each published Parquet file its licence, sources and data dates.
PROVENANCE_TABLE = "marts.sources"


PUBLICATION_KEY = dg.AssetKey(["publish", "observatory"])
#: The static site built after publication (assets/site/defs.py); named here so that the CLI can report it.
SITE_KEY = dg.AssetKey(["publish", "site"])


class PublicationRefused(RuntimeError):
    pass


def publish(build_db: Path, marts_dir: Path, tables: Sequence[str], geo_dir: Path | None = None, run_id: str = "") -> dict:
    """Copy ``tables`` (``marts.*``) from the build database into ``marts_dir`` atomically."""
    tables = [qualified(t) for t in tables]
    marts_dir.mkdir(parents=True, exist_ok=True)
    staging = marts_dir / f".staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        db_path = staging / "observatory.duckdb"
        (staging / "parquet").mkdir()
        con = duckdb.connect(str(db_path))
        try:
            con.execute(f"attach {sql_literal(str(build_db))} as build (read_only)")
            refused = failed_checks(con)
            if refused:
                raise PublicationRefused(
                    "not publishing: the latest check failed for " + ", ".join(f"{t} ({c})" for t, c in refused)
                )
            con.execute("create schema if not exists marts")
            counts = {}
            for t in tables:
                schema, name = t.split(".")
                con.execute(f"create table {t} as select * from build.{t}")
                _copy_comments(con, schema, name)
                kv = ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in parquet_metadata(con, t, "build").items())
                con.execute(
                    f"copy {t} to {sql_literal(str(staging / 'parquet' / (name + '.parquet')))} (format parquet, compression zstd, kv_metadata {{{kv}}})"
                )
                counts[name] = con.execute(f"select count(*) from {t}").fetchone()[0]
            con.execute("detach build")
            con.execute("checkpoint")
        finally:
            con.close()

        geo_files = sorted(f for pattern in GEO_SUFFIXES for f in geo_dir.glob(pattern)) if geo_dir and geo_dir.exists() else []
        if geo_files:
            (staging / "geo").mkdir()
            for f in geo_files:
                shutil.copy2(f, staging / "geo" / f.name)

        manifest = {
            "run_id": run_id,
            "published_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "row_counts": counts,
            "files": {},
        }
        for f in sorted(p for p in staging.rglob("*") if p.is_file()):
            manifest["files"][str(f.relative_to(staging))] = sha256_of(f)
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))

        # Move into place: data files first, the manifest last (it describes a complete set).
        for sub in ("parquet", "geo"):
            if (staging / sub).exists():
                (marts_dir / sub).mkdir(exist_ok=True)
                for f in (staging / sub).iterdir():
                    os.replace(f, marts_dir / sub / f.name)
        os.replace(db_path, marts_dir / "observatory.duckdb")
        os.replace(staging / "manifest.json", marts_dir / "manifest.json")
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def parquet_metadata(con: duckdb.DuckDBPyConnection, table: str, database: str | None = None) -> dict[str, str]:
    """Key-value metadata that lets a published Parquet file document itself: its table, description, column
    descriptions (the table's comments), and the licence, sources and data dates of the sources it derives from
    (the rows of the provenance mart whose ``used_by`` names it)."""
    schema, name = qualified(table).split(".")
    db = database or con.execute("select current_database()").fetchone()[0]
    comment = con.execute(
        "select comment from duckdb_tables() where database_name=? and schema_name=? and table_name=?", [db, schema, name]
    ).fetchone()
    columns = dict(con.execute(
        "select column_name, coalesce(comment, '') from duckdb_columns() where database_name=? and schema_name=? and table_name=? "
        "order by column_index",
        [db, schema, name],
    ).fetchall())
    p_schema, p_name = PROVENANCE_TABLE.split(".")
    has_provenance = con.execute(
        "select count(*) from duckdb_tables() where database_name=? and schema_name=? and table_name=?", [db, p_schema, p_name]
    ).fetchone()[0]
    sources = []
    if has_provenance:
        sources = [
            dict(zip(("source", "publisher", "licence", "data_date", "label", "synthetic"), r))
            for r in con.execute(
                f'select source, publisher, licence, data_date, label, synthetic from "{db}".{PROVENANCE_TABLE} '
                "where list_contains(used_by, ?) order by source",
                [f"{schema}.{name}"],
            ).fetchall()
        ]
    return {
        "table": f"{schema}.{name}",
        "description": (comment[0] if comment else None) or "",
        "columns": json.dumps(columns, ensure_ascii=False),
        "licence": "; ".join(dict.fromkeys(s["licence"] for s in sources if s["licence"])),
        "source": json.dumps(sources, ensure_ascii=False),
        "data_date": json.dumps({s["source"]: s["data_date"] for s in sources}, ensure_ascii=False),
    }


def add_parquet_metadata(path: Path, metadata: dict[str, str]) -> None:
    """Rewrite ``path`` in place with ``metadata`` added to its key-value metadata (other keys, e.g. ``geo``, kept)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    merged = {**(table.schema.metadata or {}), **{k.encode(): v.encode() for k, v in metadata.items()}}
    tmp = path.with_name(path.name + ".kv.tmp")
    pq.write_table(table.replace_schema_metadata(merged), tmp, compression="zstd")
    os.replace(tmp, path)


def _copy_comments(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> None:
    """``create table as`` drops comments: carry the table and column comments over."""
    comment = con.execute(
        "select comment from duckdb_tables() where database_name='build' and schema_name=? and table_name=?",
        [schema, name],
    ).fetchone()
    if comment and comment[0]:
        con.execute(f"comment on table {schema}.{name} is {sql_literal(comment[0])}")
    for col, c in con.execute(
        "select column_name, comment from duckdb_columns() where database_name='build' and schema_name=? and table_name=?",
        [schema, name],
    ).fetchall():
        if c:
            con.execute(f'comment on column {schema}.{name}."{col}" is {sql_literal(c)}')



def publication_asset(mart_keys: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    """The last asset of the graph: publishes every ``marts.*`` table once their checks passed."""

    @dg.asset(
        key=PUBLICATION_KEY,
        deps=list(mart_keys),
        group_name="marts",
        kinds={"duckdb", "parquet"},
        owners=["team:data"],
        pool="duckdb",
        description=(
            "Publishes every mart to data/marts/observatory.duckdb and data/marts/parquet/<mart>.parquet "
            "(plus GeoParquet under data/marts/geo/), atomically: staged beside the destination, then renamed. "
            "Runs only when every upstream blocking check passed."
        ),
    )
    def _publish(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        build_db = Path(warehouse.path)
        marts_dir = Path(warehouse.published_dir)
        tables = [".".join(k.path) for k in mart_keys]
        manifest = publish(build_db, marts_dir, tables, geo_dir=build_db.parent / GEO_STAGING, run_id=context.run_id)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(marts_dir / "observatory.duckdb")),
                "row_counts": dg.MetadataValue.json(manifest["row_counts"]),
                "files": len(manifest["files"]),
                "published_at": manifest["published_at"],
            }
        )

    return _publish
