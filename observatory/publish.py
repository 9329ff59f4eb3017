"""Publication of the marts as one versioned set, made current by one atomic step.

Layout of ``data/marts/`` (``marts_dir``)::

    versions/<id>/            one complete publication: observatory.duckdb, parquet/, geo/, site/, manifest.json
    current -> versions/<id>  the publication readers see (a relative symlink)
    observatory.duckdb -> current/observatory.duckdb      the documented paths, kept working as
    parquet -> current/parquet   geo -> current/geo       symlinks through ``current``
    site -> current/site         manifest.json -> current/manifest.json

A publication is written into ``versions/.staging-<id>/`` (with an ``.owner`` file naming the process),
verified, renamed to ``versions/<id>/`` and made current by replacing the ``current`` symlink
(``os.replace`` of a new link: atomic on POSIX). So:

* a failed or killed run never changes what ``current`` points at (a left-over staging folder is removed
  by the next run, see ``observatory.runs``);
* a reader that resolves ``current`` once (``os.path.realpath("data/marts/current")``) and opens every file
  under that folder sees one publication, never a mix; a reader holding a file open keeps reading its
  version, and the pipeline never holds a lock on a published file;
* the previous version is kept for rollback (``rollback()``), older ones are pruned.

Identical inputs give byte-identical files: every table is written in a fixed row order (``order by all``),
the builders sum fractional quantities exactly (``assets/marts/*.sql``), and nothing about the run goes into
the data. What describes the run (run id, time, version, the site's build time, the DuckDB file's sha256) is in
``run.json``, the one file that differs between two publications of the same inputs; ``manifest.json`` holds
only the content (row counts, sha256 of every byte-stable file, ``publication``: a digest of both). The DuckDB
file itself is not byte-stable (its block layout varies between writes): its tables are the Parquet files'
rows, and :func:`content_digest` compares its content.

The gate: publication refuses a table unless every check declared for it recorded a pass **on the very
content being published** (``observatory.quality.log``: each check records the table's fingerprint;
``refusals`` compares them with the fingerprint of the table now in the build database).
"""

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import dagster as dg
import duckdb

from observatory.quality.log import failed_checks, refusals  # noqa: F401 (failed_checks: re-exported, older import path)
from observatory.resources import Parameters, Warehouse, qualified, sha256_of, sql_literal

#: Build-database directory whose GeoParquet (and GeoJSON) files are published under ``data/marts/geo/``.
GEO_STAGING = "geo_publish"
GEO_SUFFIXES = ("*.parquet", "*.geojson")
#: The provenance mart: its rows give each published Parquet file its licence, sources and data dates.
PROVENANCE_TABLE = "marts.sources"

VERSIONS = "versions"
CURRENT = "current"
STAGING_PREFIX = ".staging-"
OWNER_FILE = ".owner"
#: The documented paths under ``data/marts/``, each a symlink to the same name under ``current``.
PUBLISHED_NAMES = ("observatory.duckdb", "parquet", "geo", "site", "manifest.json", "run.json")
DATABASE = "observatory.duckdb"
MANIFEST = "manifest.json"
#: What describes the run, not the data: the one published file that differs between two runs on identical inputs.
RUN_RECORD = "run.json"
#: Default blocking drop of a table's row count against the current publication (OBSERVATORY_MAX_ROW_DROP).
MAX_ROW_DROP = 0.2
#: Asset metadata key of a staging table's declared minimum row count (``min_rows``), read by the composition root.
MIN_ROWS = "min_rows"
#: Versions kept: the current one and the previous one (rollback).
KEEP_VERSIONS = 2

PUBLICATION_KEY = dg.AssetKey(["publish", "observatory"])
#: The static site built after publication (assets/site/defs.py); named here so that the CLI can report it.
SITE_KEY = dg.AssetKey(["publish", "site"])

#: A step adding a part of the publication (the site): ``builder(version_dir, out_dir) -> figures``; it reads
#: the staged version (database, geo, manifest) and writes ``out_dir`` (not existing yet).
Builder = Callable[[Path, Path], Mapping[str, Any]]


class PublicationRefused(RuntimeError):
    pass


def current_version(marts_dir: Path) -> Path | None:
    """The folder of the current publication, or None before the first one."""
    link = Path(marts_dir) / CURRENT
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def published_outputs(marts_dir: Path) -> set[dg.AssetKey]:
    """The non-table assets whose output exists (the current publication, its site): what
    ``observatory.incremental.stale`` takes as ``present``."""
    current = current_version(marts_dir)
    return {k for k, found in ((PUBLICATION_KEY, current), (SITE_KEY, current and (current / "site" / "index.html").exists())) if found}


def _new_version_id(run_id: str) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{(run_id or uuid.uuid4().hex)[:8]}"


def _staging(marts_dir: Path, run_id: str) -> Path:
    versions = Path(marts_dir) / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    staging = versions / f"{STAGING_PREFIX}{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    (staging / OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "run_id": run_id}))
    return staging


def _replace_link(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` in one atomic step (a new symlink renamed over the old one). A real file or
    folder there (the layout before versioned publication) is moved aside first, then deleted."""
    tmp = link.with_name(f".{link.name}.link-{uuid.uuid4().hex[:8]}")
    os.symlink(target, tmp)
    aside = None
    if link.exists() and not link.is_symlink() and link.is_dir():
        aside = link.with_name(f".{link.name}.old-{uuid.uuid4().hex[:8]}")
        os.rename(link, aside)
    os.replace(tmp, link)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def switch_to(marts_dir: Path, version: Path) -> None:
    """Make ``version`` (a folder of ``versions/``) current: one atomic symlink swap; then make sure the
    documented paths are symlinks through ``current`` and prune versions older than the previous one."""
    marts_dir = Path(marts_dir)
    previous = current_version(marts_dir)
    _replace_link(marts_dir / CURRENT, f"{VERSIONS}/{version.name}")
    for name in PUBLISHED_NAMES:
        link = marts_dir / name
        if (version / name).exists() and not (link.is_symlink() and os.readlink(link) == f"{CURRENT}/{name}"):
            _replace_link(link, f"{CURRENT}/{name}")
    prune(marts_dir, keep=[version] + ([previous] if previous and previous != version.resolve() else []))


def prune(marts_dir: Path, keep: Sequence[Path]) -> list[str]:
    """Delete the versions not in ``keep`` (staging folders are left to ``observatory.runs``)."""
    kept = {Path(k).resolve() for k in keep}
    removed = []
    for v in sorted((Path(marts_dir) / VERSIONS).iterdir()):
        if v.is_dir() and not v.name.startswith(".") and v.resolve() not in kept:
            shutil.rmtree(v, ignore_errors=True)
            removed.append(v.name)
    return removed


def versions(marts_dir: Path) -> list[Path]:
    """Complete versions, oldest first (their names start with the UTC time of publication)."""
    folder = Path(marts_dir) / VERSIONS
    return sorted(v for v in folder.iterdir() if v.is_dir() and not v.name.startswith(".")) if folder.exists() else []


def published_files(marts_dir: Path) -> dict[str, str]:
    """The current publication as a reader sees it: path under ``data/marts/`` -> sha256 (empty before the first)."""
    current = current_version(marts_dir)
    if current is None:
        return {}
    return {str(p.relative_to(current)): sha256_of(p) for p in sorted(current.rglob("*")) if p.is_file()}


def rollback(marts_dir: Path) -> Path:
    """Make the version published before the current one current again (``python -m observatory rollback``)."""
    current = current_version(marts_dir)
    older = [v for v in versions(marts_dir) if current is None or v.name < current.name]
    if not older:
        raise PublicationRefused(f"{marts_dir}: no previous publication to roll back to")
    switch_to(marts_dir, older[-1])
    return older[-1]


def _finish(marts_dir: Path, staging: Path, version_id: str) -> Path:
    """Rename a complete staging folder to its version name and make it current."""
    (staging / OWNER_FILE).unlink(missing_ok=True)
    version = staging.parent / version_id
    os.rename(staging, version)
    switch_to(marts_dir, version)
    return version


def _dump(path: Path, record: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n", encoding="utf-8")


def _write_manifest(staging: Path, row_counts: Mapping[str, int], staging_counts: Mapping[str, int]) -> dict[str, Any]:
    """``manifest.json``: the content only, so that identical inputs give an identical manifest. The database is
    listed without a sha256 (its bytes vary between writes, see the module docstring); the site is not listed (it
    is built from the manifest). ``staging_row_counts``: the rows of the staging tables the marts were built from,
    what the next publication compares its own with (they are inputs, not published: outside the digest)."""
    files = {
        str(f.relative_to(staging)): sha256_of(f)
        for f in sorted(p for p in staging.rglob("*") if p.is_file())
        if f.name not in (OWNER_FILE, MANIFEST, RUN_RECORD, DATABASE) and f.parts[len(staging.parts)] != "site"
    }
    counts = dict(sorted(row_counts.items()))
    digest = hashlib.sha256(json.dumps({"row_counts": counts, "files": files}, sort_keys=True).encode()).hexdigest()
    manifest = {
        "publication": digest,
        "row_counts": counts,
        "staging_row_counts": dict(sorted(staging_counts.items())),
        "files": files,
        "database": {
            "file": DATABASE,
            "tables": sorted(f"marts.{t}" for t in counts),
            "note": "same rows as parquet/<mart>.parquet; the file's bytes differ between runs (its sha256 is in run.json)",
        },
    }
    _dump(staging / MANIFEST, manifest)
    return manifest


def _write_run_record(staging: Path, run_id: str, manifest: Mapping[str, Any], parts: Mapping[str, Any]) -> dict[str, Any]:
    """``run.json``: what differs from one run to the next (run id, time, version, the site's build time, the
    database's sha256)."""
    record = {
        "run_id": run_id,
        "version": _new_version_id(run_id),
        "published_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "publication": manifest.get("publication", ""),
        "files": {DATABASE: sha256_of(staging / DATABASE)} if (staging / DATABASE).exists() else {},
        "parts": json.loads(json.dumps(dict(parts), default=str)),
    }
    _dump(staging / RUN_RECORD, record)
    return record


def run_record(version: Path | None) -> dict[str, Any]:
    """The ``run.json`` of a version (empty for none, or for a version published before it existed)."""
    path = Path(version) / RUN_RECORD if version else None
    return json.loads(path.read_text(encoding="utf-8")) if path and path.exists() else {}


def publish(
    build_db: Path,
    marts_dir: Path,
    tables: Sequence[str],
    geo_dir: Path | None = None,
    run_id: str = "",
    *,
    checks: Mapping[str, Sequence[str]] | None = None,
    builders: Mapping[str, Builder] | None = None,
    max_row_drop: float = MAX_ROW_DROP,
    minimums: Mapping[str, int] | None = None,
) -> dict:
    """Publish ``tables`` (``marts.*``) from the build database, with the GeoParquet files of ``geo_dir`` and
    the parts ``builders`` add (``{"site": build_site}``), as a new version made current atomically.

    ``checks``: table -> the checks declared on it; each must have passed on the table's current content.
    Without it, any table whose latest recorded check failed is refused (the quality log's own view).
    ``max_row_drop``: a table with that share fewer rows than in the current publication (0 rows included) is
    refused (:func:`row_drops`); 1 disables the comparison. ``minimums``: staging table (``stg.x``) -> its declared
    minimum row count (asset metadata ``min_rows``): a table under it is refused (:func:`under_minimum`), and those
    tables are compared with the current publication as the marts are."""
    tables = [qualified(t) for t in tables]
    marts_dir = Path(marts_dir)
    staging = _staging(marts_dir, run_id)
    try:
        db_path = staging / "observatory.duckdb"
        (staging / "parquet").mkdir()
        con = duckdb.connect(str(db_path))
        try:
            con.execute(f"attach {sql_literal(str(build_db))} as build (read_only)")
            refused = refusals(con, tables, checks)
            if refused:
                raise PublicationRefused("not publishing: " + "; ".join(refused))
            minimums = {qualified(t): int(n) for t, n in (minimums or {}).items()}
            staging_counts = _build_counts(con, minimums)
            short = under_minimum(staging_counts, minimums)
            if short:
                raise PublicationRefused(
                    "not publishing: " + "; ".join(short) + " (an empty or partial input: check the source's files; if the "
                    "table is really that small now, lower its min_rows beside its asset in assets/<source>/defs.py)"
                )
            con.execute("create schema if not exists marts")
            counts = {}
            for t in tables:
                schema, name = t.split(".")
                # A fixed row order: the builders' parallel joins and aggregations give the rows in no fixed order.
                con.execute(f"create table {t} as select * from build.{t} order by all")
                _copy_comments(con, schema, name)
                kv = ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in parquet_metadata(con, t, "build").items())
                con.execute(
                    f"copy {t} to {sql_literal(str(staging / 'parquet' / (name + '.parquet')))} (format parquet, compression zstd, kv_metadata {{{kv}}})"
                )
                counts[name] = con.execute(f"select count(*) from {t}").fetchone()[0]
            previous = _current_manifest(marts_dir)
            drops = row_drops(
                {f"marts.{t}": n for t, n in counts.items()},
                {f"marts.{t}": n for t, n in previous.get("row_counts", {}).items()},
                max_row_drop,
            )
            drops += row_drops(staging_counts, previous.get("staging_row_counts", {}), max_row_drop)
            if drops:
                raise PublicationRefused(
                    "not publishing: " + "; ".join(drops) + f" (blocking above {max_row_drop:.0%} fewer rows than the "
                    "current publication; if the change is real, re-run with OBSERVATORY_MAX_ROW_DROP=1)"
                )
            con.execute("detach build")
            con.execute("checkpoint")
        finally:
            con.close()

        geo_files = sorted(f for pattern in GEO_SUFFIXES for f in geo_dir.glob(pattern)) if geo_dir and geo_dir.exists() else []
        if geo_files:
            (staging / "geo").mkdir()
            for f in geo_files:
                shutil.copy2(f, staging / "geo" / f.name)

        manifest = _write_manifest(staging, counts, staging_counts)
        parts = {}
        for name, builder in (builders or {}).items():
            parts[name] = dict(builder(staging, staging / name))
        record = _write_run_record(staging, run_id, manifest, parts)
        _finish(marts_dir, staging, record["version"])
        return {**manifest, **record}
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def content_digest(database: Path) -> dict[str, str]:
    """``marts.<table>`` -> md5 of its rows in their stored order (each row as text; floats print exactly): what
    two publications are compared on, the DuckDB file's own bytes not being stable."""
    with duckdb.connect(str(database), read_only=True) as con:
        tables = [r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'marts' order by 1").fetchall()]
        return {
            f"marts.{t}": con.execute(
                f"select md5(coalesce(string_agg(md5(r::varchar), ',' order by rowid), '')) from marts.{t} r"
            ).fetchone()[0]
            for t in tables
        }


def _current_manifest(marts_dir: Path) -> dict[str, Any]:
    current = current_version(marts_dir)
    if current is None or not (current / MANIFEST).exists():
        return {}
    return json.loads((current / MANIFEST).read_text(encoding="utf-8"))


def _build_counts(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, int]:
    """Rows of each of ``tables`` in the attached build database; a table that is not there counts 0 rows."""
    present = {
        f"{s}.{t}" for s, t in con.execute("select schema_name, table_name from duckdb_tables() where database_name = 'build'").fetchall()
    }
    return {t: con.execute(f"select count(*) from build.{t}").fetchone()[0] if t in present else 0 for t in sorted(tables)}


def under_minimum(counts: Mapping[str, int], minimums: Mapping[str, int]) -> list[str]:
    """Staging tables with fewer rows than their declared minimum, e.g. a SIRENE stock of a few lines."""
    return [
        f"{t}: {counts.get(t, 0):,} rows, below its declared minimum of {n:,} (min_rows)"
        for t, n in sorted(minimums.items())
        if counts.get(t, 0) < n
    ]


def row_drops(counts: Mapping[str, int], previous: Mapping[str, int], max_drop: float) -> list[str]:
    """Tables (``layer.name``) whose row count fell by more than ``max_drop`` (a share) since the previous
    publication, e.g. a SIRENE stock with a fraction of last month's rows; a table absent before is not compared."""
    out = []
    for table, n in sorted(counts.items()):
        before = previous.get(table)
        if before and n < (1 - max_drop) * before:
            out.append(f"{table}: {n:,} rows against {before:,} in the current publication ({(before - n) / before:.0%} fewer)")
    return out


def republish(marts_dir: Path, name: str, builder: Builder, run_id: str = "") -> dict:
    """A new version equal to the current one except for part ``name`` (e.g. the site), rebuilt by ``builder``
    from it: the other files are hard links (no copy), then the same atomic switch as :func:`publish`."""
    marts_dir = Path(marts_dir)
    current = current_version(marts_dir)
    if current is None:
        raise PublicationRefused(f"{marts_dir}: nothing published yet; run the whole pipeline first (make run)")
    staging = _staging(marts_dir, run_id)
    try:
        for src in sorted(current.rglob("*")):
            rel = src.relative_to(current)
            if rel.parts[0] in (name, OWNER_FILE, RUN_RECORD) or src.is_dir():
                continue
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            os.link(src, staging / rel)
        manifest = json.loads((staging / MANIFEST).read_text(encoding="utf-8"))
        parts = {k: v for k, v in run_record(current).get("parts", {}).items() if k != name}
        parts[name] = dict(builder(staging, staging / name))
        record = _write_run_record(staging, run_id, manifest, parts)
        _finish(marts_dir, staging, record["version"])
        return {**manifest, **record}
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
    columns = dict(
        con.execute(
            "select column_name, coalesce(comment, '') from duckdb_columns() where database_name=? and schema_name=? and table_name=? "
            "order by column_index",
            [db, schema, name],
        ).fetchall()
    )
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


def publication_asset(
    mart_keys: Sequence[dg.AssetKey],
    *,
    checks: Mapping[str, Sequence[str]] | None = None,
    builders: Mapping[str, Builder] | None = None,
    minimums: Mapping[str, int] | None = None,
) -> dg.AssetsDefinition:
    """The last asset of the graph: publishes every ``marts.*`` table once their checks passed on their content.

    ``checks``: table -> names of the checks declared on it (``definitions.py`` derives them from the asset
    checks); ``builders``: parts built into the new version before it is made current (the site); ``minimums``:
    staging table -> its declared minimum row count (``definitions.py`` reads the ``min_rows`` of the stg assets)."""

    @dg.asset(
        key=PUBLICATION_KEY,
        deps=list(mart_keys),
        group_name="marts",
        kinds={"duckdb", "parquet"},
        owners=["team:data"],
        pool="duckdb",
        description=(
            "Publishes every mart (DuckDB database, one Parquet file per mart, GeoParquet layers"
            + (", " + ", ".join(builders) if builders else "")
            + ") as a new version data/marts/versions/<id>/, made current by one atomic symlink swap "
            "(data/marts/current); the previous version is kept for rollback. Runs only when every upstream "
            "blocking check passed, and refuses a table whose checks did not pass on the content being published."
        ),
    )
    def _publish(context: dg.AssetExecutionContext, warehouse: Warehouse, parameters: Parameters) -> dg.MaterializeResult:
        build_db = Path(warehouse.path)
        marts_dir = Path(warehouse.published_dir)
        tables = [".".join(k.path) for k in mart_keys]
        manifest = publish(
            build_db,
            marts_dir,
            tables,
            geo_dir=build_db.parent / GEO_STAGING,
            run_id=context.run_id,
            checks=checks,
            builders=builders,
            max_row_drop=parameters.max_row_drop,
            minimums=minimums,
        )
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(marts_dir / "observatory.duckdb")),
                "version": manifest["version"],
                "row_counts": dg.MetadataValue.json(manifest["row_counts"]),
                "files": len(manifest["files"]),
                "published_at": manifest["published_at"],
            }
        )

    return _publish
