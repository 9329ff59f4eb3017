"""Declarative source specs and the one factory that turns a spec into its ``raw`` asset.

A source is a folder ``assets/<source>/`` with a ``source.py`` holding a frozen
:class:`SourceSpec`. The raw asset makes the source's files available and verified:

* ``embedded`` mode: the compact copy committed in ``data/raw/<source>/embedded/`` (checked against
  the sha256 in its ``manifest.json``);
* ``official`` mode: the publisher's files in ``data/raw/<source>/<millesime>/``, downloaded by the
  :class:`~observatory.resources.Downloader` unless already there and unchanged (or offline).

Staging assets then read the files through :func:`embedded_path` / :func:`official_path`.

:func:`read_source` is the one place that decides which files a run reads (a local directory of the
publisher's files, the embedded copy or the official files) and verifies them: the raw asset calls
it (downloading), ``marts.sources`` calls it again (reading what is in place) to publish where every
figure comes from. :func:`source_specs` finds every source (``assets/<pkg>/source.py: SPEC``).
"""


import datetime as dt
import importlib
import importlib.util
import json
import pkgutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import dagster as dg

from observatory.automation import CADENCE_TAG, cadence, freshness_policy
from observatory.resources import Downloader, DownloadError, sha256_of


@dataclass(frozen=True)
class RemoteFile:
    """One file as its publisher distributes it."""

    millesime: str
    url: str
    filename: str
    magic: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class SourceSpec:
    name: str
    title: str
    publisher: str
    licence: str
    homepage: str
    #: ``monthly`` or ``yearly``: drives the schedule and the staleness sensor.
    cadence: str
    description: str
    remote_files: tuple[RemoteFile, ...] = ()
    #: File names under ``data/raw/<name>/embedded/``.
    embedded_files: tuple[str, ...] = ()
    synthetic: bool = False
    #: Name of a ``Downloader`` field holding a directory of the publisher's files (e.g. ``sirene_dir``);
    #: when set at run time, those files are used instead of the embedded or downloaded ones.
    local_dir_field: str = ""
    #: Publisher files that cannot be downloaded (no stable URL), saved by hand under
    #: ``data/raw/<name>/<millesime>/`` and read in ``official`` mode. A source with neither remote
    #: nor manual files reads its embedded copy in every mode.
    manual_files: tuple[RemoteFile, ...] = ()
    #: ``(table, SQL expression)`` giving the date the data describe from the build warehouse, for
    #: files whose manifest records none (real files in a local directory, official downloads);
    #: evaluated by ``marts.sources`` (e.g. the latest processing date of the SIRENE stock).
    data_date_from: tuple[str, str] = ()
    owners: tuple[str, ...] = ("team:data",)
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cadence(self.cadence)  # a clear error for an unknown cadence, at import time

    @property
    def raw_key(self) -> dg.AssetKey:
        return dg.AssetKey(["raw", self.name])

    def millesimes(self) -> list[str]:
        return sorted({f.millesime for f in self.remote_files})


def embedded_dir(downloader: Downloader, spec: SourceSpec) -> Path:
    return Path(downloader.raw_dir) / spec.name / "embedded"


def embedded_path(downloader: Downloader, spec: SourceSpec, filename: str) -> Path:
    path = embedded_dir(downloader, spec) / filename
    if not path.exists():
        raise DownloadError(
            f"{path}: embedded file of source '{spec.name}' is missing; "
            f"restore it from git (git checkout -- {path}) or run with OBSERVATORY_SOURCE_MODE=official"
        )
    return path


def official_path(downloader: Downloader, spec: SourceSpec, remote: RemoteFile) -> Path:
    return downloader.target(spec.name, remote.millesime, remote.filename)


def read_manifest(directory: Path) -> dict:
    path = directory / "manifest.json"
    if not path.exists():
        raise DownloadError(f"{path}: manifest missing (expected url, sha256, licence of each file)")
    return json.loads(path.read_text(encoding="utf-8"))


def verify_embedded(downloader: Downloader, spec: SourceSpec) -> dict:
    """Check every embedded file against its manifest; return the manifest."""
    directory = embedded_dir(downloader, spec)
    manifest = read_manifest(directory)
    for filename in spec.embedded_files:
        path = embedded_path(downloader, spec, filename)
        entry = manifest.get("files", {}).get(filename)
        if entry is None:
            raise DownloadError(f"{directory / 'manifest.json'}: no entry for {filename}")
        actual = sha256_of(path)
        if actual != entry["sha256"]:
            raise DownloadError(
                f"{path}: sha256 {actual[:12]}... does not match the manifest ({entry['sha256'][:12]}...); "
                "the embedded file was modified or truncated"
            )
    return manifest


def file_facts(path: Path, preview_rows: int = 0) -> dict[str, Any]:
    """Rows and columns of a Parquet file read from its footer (cheap), plus an optional preview."""
    if path.suffix != ".parquet":
        return {}
    import duckdb

    con = duckdb.connect()
    try:
        rows = con.execute("select sum(num_rows) from parquet_file_metadata(?)", [str(path)]).fetchone()[0]
        rel = con.read_parquet(str(path))  # `describe` takes no bound parameter
        cols = list(zip(rel.columns, rel.types))
        facts: dict[str, Any] = {"rows": int(rows or 0), "columns": [[c, str(t)] for c, t in cols]}
        if preview_rows:
            df = con.execute(f"select * from read_parquet(?) limit {int(preview_rows)}", [str(path)]).df()
            facts["preview"] = df.iloc[:, :10].to_markdown(index=False) if len(df) else "(empty)"
        return facts
    finally:
        con.close()


#: How a run obtained a source's files (``SourceRead.mode``).
MODES = ("embedded", "official", "local directory")
#: ``SourceRead.data_date_basis`` of a date recorded by the files' manifest.
DATE_FROM_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class SourceFile:
    """One file a run reads, verified."""

    #: The file name (``<millesime>/<file name>`` for official files).
    name: str
    path: Path
    sha256: str
    size: int
    #: embedded: the manifest's origin; official: when it was downloaded (or placed by hand);
    #: local directory: the file's path.
    origin: str = ""
    #: The publisher's URL of the file.
    url: str = ""
    #: Further manifest fields shown in the raw asset's metadata (licence, downloaded_at, ...).
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceRead:
    """Which files of a source a run reads, in which mode, of which date, synthetic or not."""

    spec: SourceSpec
    mode: str
    synthetic: bool
    #: As recorded: a date (``2026-10-31``), the official millesimes, or "" when nothing records it.
    data_date: str
    #: Where data_date comes from (``manifest.json``, ``official millesimes``, ...); "" without one.
    data_date_basis: str
    files: tuple[SourceFile, ...]
    #: When the files were verified (UTC).
    read_at: dt.datetime

    @property
    def mode_label(self) -> str:
        return f"local directory ({self.spec.local_dir_field})" if self.mode == "local directory" else self.mode

    def with_data_date(self, data_date: str, basis: str) -> "SourceRead":
        return replace(self, data_date=data_date, data_date_basis=basis)

    @property
    def label(self) -> str:
        """Short provenance label, e.g. ``SIRENE SYNTHETIC sample (data date 2026-10-31)``."""
        name = self.spec.name.upper().replace("_", " ")
        if self.synthetic:
            what = "SYNTHETIC sample"
        else:
            what = {"embedded": "embedded copy", "official": "official files"}.get(
                self.mode, "publisher's files from a local directory"
            )
        return f"{name} {what} (data date {self.data_date or 'not recorded'})"


def read_source(
    downloader: Downloader, spec: SourceSpec, fetch: Callable[[RemoteFile], Path] | None = None
) -> SourceRead:
    """The files of ``spec`` this run reads, verified: a local directory of the publisher's files when
    ``spec.local_dir_field`` is set on the downloader; else the embedded copy (``embedded`` mode, or a
    source without official files); else the official files, obtained with ``fetch`` (the raw asset
    downloads) or, without it, required to be in place already."""
    now = dt.datetime.now(dt.timezone.utc)
    local_dir = getattr(downloader, spec.local_dir_field) if spec.local_dir_field else ""
    if local_dir:
        return _read_local(spec, Path(local_dir), now)
    if downloader.source_mode == "embedded" or not (spec.remote_files or spec.manual_files):
        return _read_embedded(downloader, spec, now)
    return _read_official(downloader, spec, fetch, now)


def _read_local(spec: SourceSpec, directory: Path, now: dt.datetime) -> SourceRead:
    # A manifest beside the files (e.g. a copy of the synthetic sample) says what they are; it must
    # describe these very files.
    manifest = read_manifest(directory) if (directory / "manifest.json").exists() else {}
    entries = manifest.get("files", {})
    files = []
    for remote in spec.remote_files:
        path = directory / remote.filename
        if not path.exists():
            raise DownloadError(f"{path}: missing; {spec.local_dir_field} must hold the publisher's file {remote.filename}")
        sha = sha256_of(path)
        entry = entries.get(remote.filename, {})
        if entry.get("sha256") and entry["sha256"] != sha:
            raise DownloadError(
                f"{directory / 'manifest.json'}: sha256 of {remote.filename} is {entry['sha256'][:12]}..., the file's is "
                f"{sha[:12]}...; the manifest describes other files (remove it or regenerate it)"
            )
        files.append(SourceFile(remote.filename, path, sha, path.stat().st_size, origin=str(path), url=entry.get("url") or remote.url))
    data_date = str(manifest.get("data_date") or "")
    return SourceRead(spec, "local directory", bool(manifest.get("synthetic", False)), data_date,
                      DATE_FROM_MANIFEST if data_date else "", tuple(files), now)


def _read_embedded(downloader: Downloader, spec: SourceSpec, now: dt.datetime) -> SourceRead:
    manifest = verify_embedded(downloader, spec)
    directory = embedded_dir(downloader, spec)
    files = []
    for name in spec.embedded_files:
        entry = manifest["files"][name]
        files.append(SourceFile(
            name, directory / name, entry["sha256"], int(entry.get("size") or (directory / name).stat().st_size),
            origin=str(entry.get("origin") or ""), url=str(entry.get("url") or ""),
            extra={k: entry[k] for k in ("licence", "data_date") if entry.get(k)},
        ))
    data_date = str(manifest.get("data_date") or "")
    return SourceRead(spec, "embedded", bool(manifest.get("synthetic", spec.synthetic)), data_date,
                      DATE_FROM_MANIFEST if data_date else "", tuple(files), now)


def _read_official(
    downloader: Downloader, spec: SourceSpec, fetch: Callable[[RemoteFile], Path] | None, now: dt.datetime
) -> SourceRead:
    files = []
    for remote in spec.remote_files:
        path = fetch(remote) if fetch else official_path(downloader, spec, remote)
        if not path.exists():
            raise DownloadError(f"{path}: missing; materialize raw/{spec.name} in official mode first (it downloads {remote.url})")
        local = _manifest_entry(path)
        files.append(SourceFile(
            f"{remote.millesime}/{remote.filename}", path, local.get("sha256") or sha256_of(path), path.stat().st_size,
            origin=f"downloaded {local['downloaded_at']}" if local.get("downloaded_at") else "placed by hand (no download manifest)",
            url=remote.url,
            extra={k: local[k] for k in ("downloaded_at", "last-modified") if local.get(k)},
        ))
    for manual in spec.manual_files:
        path = official_path(downloader, spec, manual)
        if not path.exists():
            raise DownloadError(f"{path}: missing; save {manual.filename} from {manual.url} there (it cannot be downloaded)")
        files.append(SourceFile(f"{manual.millesime}/{manual.filename}", path, sha256_of(path), path.stat().st_size,
                                origin="saved by hand", url=manual.url))
    # The publisher's vintage; each file's Last-Modified header is in ``extra``.
    data_date = ("millesime " + ", ".join(spec.millesimes())) if spec.remote_files else ""
    return SourceRead(spec, "official", False, data_date, "official millesimes" if data_date else "", tuple(files), now)


def source_specs() -> list[SourceSpec]:
    """Every source of the project: the ``SPEC`` of each ``assets/<pkg>/source.py``, by name."""
    import assets as assets_pkg  # here: source modules import this module

    specs = []
    for mod in sorted(pkgutil.iter_modules(assets_pkg.__path__), key=lambda m: m.name):
        if mod.ispkg and importlib.util.find_spec(f"assets.{mod.name}.source") is not None:
            spec = getattr(importlib.import_module(f"assets.{mod.name}.source"), "SPEC", None)
            if isinstance(spec, SourceSpec):
                specs.append(spec)
    return specs


def _raw_metadata(files: dict[str, dict[str, Any]], data_date: str) -> dict[str, Any]:
    """The metadata every raw asset shows: per file sha256, size, rows; the data date; and, for a
    source of one file, its row count and schema as Dagster's standard row count / column schema."""
    meta: dict[str, Any] = {
        "files": dg.MetadataValue.json(
            {name: {**{k: v for k, v in f.items() if k not in ("preview", "columns")},
                    **({"columns": len(f["columns"])} if "columns" in f else {})} for name, f in files.items()}
        ),
        "data_date": data_date or "not recorded in manifest.json",
    }
    shas = {name: f["sha256"] for name, f in files.items() if f.get("sha256")}
    if len(shas) == 1:
        meta["sha256"] = next(iter(shas.values()))
    elif shas:
        meta["sha256"] = dg.MetadataValue.json(shas)
    previews = [f"**{name}**\n\n{f['preview']}" for name, f in files.items() if f.get("preview")]
    if previews:
        meta["preview"] = dg.MetadataValue.md("\n\n".join(previews))
    with_rows = [f for f in files.values() if "rows" in f]
    if len(files) == 1 and with_rows:
        meta["dagster/row_count"] = dg.MetadataValue.int(with_rows[0]["rows"])
        meta["dagster/column_schema"] = dg.TableSchema(
            columns=[dg.TableColumn(name=c, type=t) for c, t in with_rows[0]["columns"]]
        )
    return meta


def raw_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    """The factory: one raw asset per source, same shape for every source.

    Its freshness policy and its refresh schedule follow ``spec.cadence`` (see
    ``observatory.automation``); its metadata lists every file with sha256, size, rows (Parquet)
    and origin, the data date, the source URL and the licence.
    """

    @dg.asset(
        key=spec.raw_key,
        group_name=spec.name,
        kinds={"file"},
        owners=list(spec.owners),
        tags={CADENCE_TAG: spec.cadence, **spec.tags},
        freshness_policy=freshness_policy(spec.cadence),
        description=(
            f"{spec.title} ({spec.publisher}, {spec.licence}). {spec.description}"
            + (" SYNTHETIC embedded sample: not real data." if spec.synthetic else "")
            + f" Refreshed {spec.cadence}."
        ),
        metadata={"source_url": dg.MetadataValue.url(spec.homepage), "licence": spec.licence, "cadence": spec.cadence},
    )
    def _raw(context: dg.AssetExecutionContext, downloader: Downloader) -> dg.MaterializeResult:
        def fetch(remote: RemoteFile) -> Path:
            return downloader.fetch(
                source=spec.name,
                millesime=remote.millesime,
                url=remote.url,
                filename=remote.filename,
                licence=spec.licence,
                log=context.log,
                expect_magic=remote.magic,
            )

        read = read_source(downloader, spec, fetch=fetch)
        preview = 5 if read.mode == "embedded" else 0
        files = {
            f.name: {
                **{k: v for k, v in (("sha256", f.sha256), ("size", f.size), ("origin", f.origin), ("url", f.url)) if v},
                **f.extra,
                **file_facts(f.path, preview_rows=preview),
            }
            for f in read.files
        }
        meta = {"mode": read.mode_label, "synthetic": read.synthetic, **_raw_metadata(files, read.data_date)}
        return dg.MaterializeResult(
            metadata={**meta, "licence": spec.licence, "source_url": dg.MetadataValue.url(spec.homepage)}
        )

    return _raw


def _manifest_entry(path: Path) -> dict[str, Any]:
    """The Downloader's manifest entry of a downloaded file (empty if the file was placed by hand)."""
    manifest = path.parent / "manifest.json"
    if not manifest.exists():
        return {}
    return json.loads(manifest.read_text(encoding="utf-8")).get("files", {}).get(path.name, {})
