"""Dagster resources: the DuckDB build warehouse and the HTTP downloader.

Both are built once, from :class:`observatory.settings.Settings`, in ``definitions.py``.
Every field carries a type annotation: an unannotated ``ConfigurableResource`` field would
silently become an asset input.
"""

import contextlib
import fcntl
import datetime as dt
import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import dagster as dg
import duckdb

from observatory.progress import Progress

if TYPE_CHECKING:
    from observatory.columns import TableSpec

#: Tables are addressed as ``layer.name``; the layer is the DuckDB schema.
LAYERS = ("raw", "stg", "int", "marts")
_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


def qualified(table: str) -> str:
    """Validate a ``layer.name`` table identifier (never interpolate anything else into SQL)."""
    layer, _, name = table.partition(".")
    if layer not in LAYERS or not _IDENT.match(name):
        raise ValueError(f"invalid table name {table!r}: expected '<layer>.<snake_case>' with layer in {LAYERS}")
    return f"{layer}.{name}"


def table_key(table: str) -> dg.AssetKey:
    """The asset key of a warehouse table: ``layer.name`` -> ``[layer, name]`` (the layer is the schema)."""
    return dg.AssetKey(qualified(table).split("."))


def table_exists(con: duckdb.DuckDBPyConnection, table: str, database: str | None = None) -> bool:
    """Whether ``layer.name`` exists in ``database`` (default: the connection's current database)."""
    schema, name = qualified(table).split(".")
    where = "database_name = ?" if database else "database_name = current_database()"
    args = [database] if database else []
    return bool(
        con.execute(
            f"select count(*) from duckdb_tables() where {where} and schema_name = ? and table_name = ?", [*args, schema, name]
        ).fetchone()[0]
    )


def store_frame(con: duckdb.DuckDBPyConnection, table: str, frame: Any) -> None:
    """Replace ``table`` with a Polars (or Arrow) frame: Arrow hand-over, no CSV round trip."""
    con.register("_frame", frame.to_arrow() if hasattr(frame, "to_arrow") else frame)
    try:
        con.execute(f"create or replace table {qualified(table)} as select * from _frame")
    finally:
        con.unregister("_frame")


def json_metadata(value: Any) -> dg.MetadataValue:
    """Any JSON-able value (dates and paths as text) as Dagster metadata."""
    return dg.MetadataValue.json(json.loads(json.dumps(value, default=str)))


def sql_literal(text: str) -> str:
    """A SQL string literal, for the few statements that take no bound parameter (``comment on``)."""
    return "'" + str(text).replace("'", "''") + "'"


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


#: A remembered sha256 is trusted only for a file last changed this long before it was hashed: a file rewritten
#: within the same timestamp tick as its hashing (coarse file-system clocks) keeps its identity ("racy git").
RACY_NS = 2_000_000_000


def sha256_cached(path: Path, cache: Path | None) -> str:
    """:func:`sha256_of`, remembered in the JSON file ``cache`` under the file's identity (size, modification and
    status-change times in ns, inode): the 4 GB of a national SIRENE directory are hashed once per new file, not at
    every run. Replacing or rewriting a file changes its identity (ctime cannot be set by hand), so a changed file
    is hashed again; delete ``cache`` to force it. No cache (None): always hashed."""
    if cache is None:
        return sha256_of(path)
    st = Path(path).stat()
    identity = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    key = str(Path(path).resolve())
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    entry = known.get(key)
    if (
        isinstance(entry, dict)
        and entry.get("identity") == identity
        and entry.get("sha256")
        and st.st_ctime_ns < int(entry.get("hashed_at_ns", 0)) - RACY_NS
    ):
        return entry["sha256"]
    hashed_at = time.time_ns()
    sha = sha256_of(path)
    known[key] = {"identity": identity, "sha256": sha, "hashed_at_ns": hashed_at}
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(known, indent=1, sort_keys=True))
    tmp.replace(cache)  # atomic: two runs hashing at once never leave a torn file
    return sha


def run_sql_script(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> None:
    """Run a multi-statement SQL script, binding ``$name`` parameters statement by statement.

    DuckDB binds prepared parameters only in the last statement of a multi-statement ``execute``
    and rejects parameters a statement does not use, so each statement gets exactly the ones it names.
    """
    params = params or {}
    for statement in con.extract_statements(sql):
        wanted = set(statement.named_parameters)
        missing = wanted - params.keys()
        if missing:
            raise ValueError(f"SQL parameter(s) {sorted(missing)} not provided for: {statement.query.strip()[:120]}...")
        con.execute(statement.query, {k: params[k] for k in wanted})


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Wait for, then hold, an OS lock on ``path``. The ``duckdb`` pool serializes writers within a
    Dagster instance, but its slot claims on the default SQLite storage can race between two
    processes (a CLI run beside the UI): this lock is what DuckDB's one-writer rule relies on."""
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


#: The lock a run holds on its data directory (``observatory.runs.exclusive_run``), beside the build database.
RUN_LOCK = "run.lock"


class WarehouseBusy(RuntimeError):
    """Another run holds the data directory: using the build database now would mix the two runs' tables."""


def run_lock_holder(build_dir: Path) -> dict[str, Any] | None:
    """The details (pid, run id, start, command) of the *other* live process holding ``build_dir/run.lock``;
    None when nobody holds it or this process does."""
    path = Path(build_dir) / RUN_LOCK
    if not path.exists():
        return None
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if info.get("pid") == os.getpid():
        return None
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return info or {"pid": "?"}
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None


def describe_holder(info: dict[str, Any]) -> str:
    if not info or info.get("pid") == "?":
        return "a process that has not written its details yet"
    return (
        f"pid {info.get('pid')} on {info.get('host')}, run {str(info.get('run_id', ''))[:8] or '?'}, "
        f"started {info.get('started_at')}: {info.get('command', '')}"
    ).strip()


class Warehouse(dg.ConfigurableResource):
    """The private build database (DuckDB). Assets write here; ``publish`` copies the marts out.

    DuckDB allows one writer per file across processes: every asset using it runs in the
    ``duckdb`` pool (limit 1, see ``dagster.yaml``).
    """

    path: str
    #: Where publication writes (``data/marts``); the build database itself is never published.
    published_dir: str = ""
    memory_limit: str = "6GB"
    threads: int = 2

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as stack:
            # An in-memory database (benchmarks) has no file to share, hence no lock file to create.
            if not read_only and self.path != ":memory:":
                # A step of a run launched beside `python -m observatory run` (e.g. from the UI) must not read
                # or write that run's tables halfway: refuse, naming the run (observatory.runs).
                busy = run_lock_holder(Path(self.path).parent)
                if busy is not None:
                    raise WarehouseBusy(
                        f"{self.path}: in use by another run ({describe_holder(busy)}); this step would mix its tables "
                        "with that run's. Re-run once it has finished."
                    )
                stack.enter_context(_exclusive_lock(Path(self.path + ".lock")))
            yield stack.enter_context(self._open(read_only))

    @contextlib.contextmanager
    def _open(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(self.path, read_only=read_only)
        try:
            con.execute(f"set memory_limit={sql_literal(self.memory_limit)}")
            con.execute(f"set threads={int(self.threads)}")
            if not read_only:
                for layer in LAYERS:
                    con.execute(f"create schema if not exists {layer}")
            yield con
        finally:
            con.close()

    def run_sql_file(self, con: duckdb.DuckDBPyConnection, path: Path, params: dict[str, Any] | None = None) -> None:
        """Run a SQL file beside an asset. Values are bound as ``$name`` parameters."""
        run_sql_script(con, Path(path).read_text(encoding="utf-8"), params)

    def table_metadata(self, con: duckdb.DuckDBPyConnection, table: "str | TableSpec", preview_rows: int = 5) -> dict[str, Any]:
        """Row count, schema and a small preview, for the asset's materialization metadata.

        Given the table's column spec, first writes its comments (refusing a table that drifted from it), so
        the schema carries the descriptions. The marts pass a name: their builders wrote the comments, some
        with run-specific text (the planted merger effect) that re-applying the spec would erase.
        """
        from observatory.columns import TableSpec, apply_comments  # observatory.columns imports this module

        if isinstance(table, TableSpec):
            apply_comments(con, table)
            table = table.table
        t = qualified(table)
        rows = con.execute(f"select count(*) from {t}").fetchone()[0]
        preview = con.execute(f"select * from {t} limit {int(preview_rows)}").df()
        return {
            "dagster/row_count": dg.MetadataValue.int(int(rows)),
            "dagster/column_schema": column_schema(con, t),
            "table": dg.MetadataValue.text(t),
            "preview": dg.MetadataValue.md(preview.to_markdown(index=False) if len(preview) else "(empty)"),
        }


def column_schema(con: duckdb.DuckDBPyConnection, table: str) -> dg.TableSchema:
    """The table's columns with their DuckDB types and comments, as the Dagster UI shows them.

    The comments are the one column spec's text (``observatory.columns``, the territory's comments),
    written by the asset that built the table; a trailing ``[unit: ...]`` becomes a separate sentence.
    """
    schema, name = qualified(table).split(".")
    cols = con.execute(
        "select column_name, data_type, comment from duckdb_columns() "
        "where database_name = current_database() and schema_name = ? and table_name = ? order by column_index",
        [schema, name],
    ).fetchall()
    return dg.TableSchema(columns=[dg.TableColumn(name=c, type=str(ty), description=describe_comment(cm)) for c, ty, cm in cols])


_UNIT = re.compile(r"\s*\[unit: ([^\]]+)\]\s*$")


def describe_comment(comment: str | None) -> str | None:
    """``meaning [unit: u]`` -> ``meaning. Unit: u.``; None when there is no comment."""
    if not comment:
        return None
    m = _UNIT.search(comment)
    if not m:
        return comment
    return f"{comment[: m.start()].rstrip('. ')}. Unit: {m.group(1)}."


class Parameters(dg.ConfigurableResource):
    """Run parameters that are neither paths nor credentials (from Settings), e.g. the seed of every
    random draw (the merger study's bootstrap), so that a run is reproducible."""

    seed: int = 20170101
    #: Publication refuses a mart with this share fewer rows than the current publication (1: no comparison).
    max_row_drop: float = 0.2


class Lineage(dg.ConfigurableResource):
    """The asset graph's lineage, computed once by the composition root (``definitions.py``) and handed
    to the assets that publish it (``marts.sources.used_by``), so that no asset rebuilds the Definitions
    at run time. ``parents_json``: asset key (``raw/sirene``) -> the keys of its direct parents."""

    parents_json: str = "{}"

    def parents(self) -> dict[str, list[str]]:
        return json.loads(self.parents_json)


class DownloadError(RuntimeError):
    pass


class Downloader(dg.ConfigurableResource):
    """Fetches an official file into ``data/raw/<source>/<millesime>/`` with a ``manifest.json``.

    A file already present whose size and validators (ETag / Last-Modified) are unchanged is not
    downloaded again. ``offline=True`` never touches the network and fails with a clear message
    when a needed file is missing.
    """

    raw_dir: str
    #: ``embedded`` (committed compact copies) or ``official`` (publishers' files); see Settings.
    source_mode: str = "embedded"
    offline: bool = True
    #: Optional directory of real INSEE SIRENE stock Parquet files (overrides the embedded sample).
    sirene_dir: str = ""
    #: JSON file remembering the sha256 of the files of such local directories (:func:`sha256_cached`); empty: none.
    hash_cache: str = ""
    timeout_s: int = 120
    #: Largest file accepted (bytes): the SIRENE establishment history, the largest file, is about 2 GB.
    max_bytes: int = 8 * 1024**3

    def target(self, source: str, millesime: str, filename: str) -> Path:
        return Path(self.raw_dir) / source / millesime / filename

    def fetch(
        self,
        *,
        source: str,
        millesime: str,
        url: str,
        filename: str,
        licence: str,
        log: Any = None,
        expect_magic: Sequence[bytes] = (),
    ) -> Path:
        path = self.target(source, millesime, filename)
        manifest_path = path.parent / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"files": {}}
        entry = manifest["files"].get(filename)
        if self.offline:
            if not path.exists():
                raise DownloadError(
                    f"{path}: missing and OBSERVATORY_OFFLINE is set, so it is not downloaded. "
                    f"Download {url} into {path.parent}/ or unset OBSERVATORY_OFFLINE."
                )
            return path

        import requests  # imported here: only the online path needs it

        if path.exists() and entry:
            head = requests.head(url, allow_redirects=True, timeout=self.timeout_s)
            same = head.ok and all(head.headers.get(k) in (None, entry.get(k.lower())) for k in ("ETag", "Last-Modified", "Content-Length"))
            if same and sha256_of(path) == entry["sha256"]:
                if log:
                    log.info(f"{path}: unchanged since {entry['downloaded_at']}, not downloaded")
                return path

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        try:
            with requests.get(url, stream=True, timeout=self.timeout_s) as resp:
                if resp.status_code != 200:
                    raise DownloadError(f"{url}: HTTP {resp.status_code}, expected 200")
                total = int(resp.headers.get("Content-Length") or 0)
                if total > self.max_bytes:
                    raise DownloadError(f"{url}: announces {total:,} bytes, more than the cap of {self.max_bytes:,} (Downloader.max_bytes)")
                # Progress in the run log: bytes, percent and rate, every 10 s at most.
                progress = Progress(log, f"download {source}/{millesime}/{filename}", total=total or None, unit="bytes")
                received = 0
                with open(tmp, "wb") as fh:
                    for block in resp.iter_content(1 << 20):
                        received += len(block)
                        if received > self.max_bytes:
                            raise DownloadError(f"{url}: more than the cap of {self.max_bytes:,} bytes received (Downloader.max_bytes)")
                        fh.write(block)
                        progress.advance(len(block))
                progress.finish()
                headers = resp.headers
            # a cut connection ends the stream without error: a truncated Parquet file still starts with PAR1
            if total and received != total and "gzip" not in (headers.get("Content-Encoding") or ""):
                raise DownloadError(
                    f"{url}: received {received:,} bytes, the server announced {total:,} (Content-Length): the download was cut; run again"
                )
            check_not_html(tmp, url=url, expect_magic=expect_magic)
        except BaseException:
            tmp.unlink(missing_ok=True)  # never leave a .part file behind
            raise
        tmp.replace(path)
        manifest["files"][filename] = {
            "url": url,
            "sha256": sha256_of(path),
            "size": path.stat().st_size,
            "downloaded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "licence": licence,
            "etag": headers.get("ETag"),
            "last-modified": headers.get("Last-Modified"),
            "content-length": headers.get("Content-Length"),
        }
        write_atomic(manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False))
        return path


def write_atomic(path: Path, text: str) -> None:
    """Write ``path`` as a whole or not at all (a temporary file beside it, then ``os.replace``)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def check_not_html(path: Path, *, url: str = "", expect_magic: Sequence[bytes] = ()) -> None:
    """Reject an HTML error page, an empty file or a wrong magic number saved in place of the expected data file
    (:func:`sniff_file` with the format taken from the file name)."""
    sniff_file(path, url=url, expect_magic=expect_magic)


#: The format a file name announces (``sniff_file``).
FORMAT_BY_SUFFIX = {".parquet": "parquet", ".zip": "zip", ".csv": "text", ".txt": "text", ".json": "text", ".geojson": "text"}


def _looks_like_text(head: bytes) -> bool:
    return bool(head) and b"\x00" not in head and sum(32 <= b < 127 or b in (9, 10, 13) for b in head) > 0.9 * len(head)


def sniff_file(path: Path, *, url: str = "", expect_magic: Sequence[bytes] = (), fmt: str | None = None) -> None:
    """Look at a file's first and last bytes before any engine reads it, and say what it is when it is not what
    its name announces: missing, empty, an HTML page, text (CSV?) instead of Parquet, a truncated Parquet file (no
    ``PAR1`` footer: an interrupted download or copy), not a ZIP archive, or a wrong magic number. Raises
    :class:`DownloadError` naming the file (and its URL)."""
    path = Path(path)
    where = f"{path}" + (f" (from {url})" if url else "")
    if not path.exists():
        raise DownloadError(f"{where}: file missing")
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(512)
        fh.seek(max(size - 4, 0))
        tail = fh.read(4)
    if not head:
        raise DownloadError(f"{where}: empty file, expected data (0 bytes: an interrupted download or copy?)")
    if head.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        raise DownloadError(f"{where}: is an HTML page (an error page saved as a download?), expected data")
    fmt = fmt or FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if fmt == "parquet":
        if not head.startswith(PARQUET_MAGIC):
            what = "text (a CSV file renamed .parquet?)" if _looks_like_text(head) else f"not Parquet (starts with {head[:8]!r})"
            raise DownloadError(f"{where}: is {what}; expected a Parquet file (starting with the PAR1 magic bytes)")
        if size < 12 or tail != PARQUET_MAGIC:
            raise DownloadError(
                f"{where}: truncated Parquet file ({size} bytes, no PAR1 footer at the end: an interrupted download or "
                "copy?); download or copy it again"
            )
    elif fmt == "zip" and not head.startswith(ZIP_MAGIC):
        raise DownloadError(f"{where}: is not a ZIP archive (starts with {head[:8]!r}); expected a ZIP file")
    if expect_magic and not any(head.startswith(m) for m in expect_magic):
        raise DownloadError(f"{where}: starts with {head[:8]!r}, expected one of {list(expect_magic)}")


def require_encoding(path: Path, encoding: str = "utf-8", *, what: str = "text file") -> str:
    """The text of ``path`` decoded as ``encoding``; a file in another encoding is a :class:`DownloadError` naming
    the file, the byte offset and the likely encoding, instead of a bare ``UnicodeDecodeError``."""
    data = Path(path).read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        guess = "latin-1 / Windows-1252" if encoding.lower().replace("-", "").startswith("utf8") else "another encoding"
        raise DownloadError(
            f"{path}: not {encoding} at byte {exc.start} ({data[max(exc.start - 10, 0) : exc.start + 10]!r}: {guess}?); "
            f"expected a {what} in {encoding}: re-save it as {encoding}"
        ) from None


#: Magic numbers of the formats we download.
ZIP_MAGIC = b"PK\x03\x04"
PARQUET_MAGIC = b"PAR1"
