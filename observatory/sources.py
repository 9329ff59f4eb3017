"""Declarative source specs and the one factory that turns a spec into its ``raw`` asset.

A source is a folder ``assets/<source>/`` with a ``source.py`` holding a frozen
:class:`SourceSpec`. The raw asset makes the source's files available and verified:

* ``embedded`` mode: the compact copy committed in ``data/raw/<source>/embedded/`` (checked against
  the sha256 in its ``manifest.json``);
* ``official`` mode: the publisher's files in ``data/raw/<source>/<millesime>/``, downloaded by the
  :class:`~observatory.resources.Downloader` unless already there and unchanged (or offline).

Staging assets then read the files through :func:`embedded_path` / :func:`official_path`.
"""


import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
        local_dir = getattr(downloader, spec.local_dir_field) if spec.local_dir_field else ""
        if local_dir:
            files = {}
            for remote in spec.remote_files:
                path = Path(local_dir) / remote.filename
                if not path.exists():
                    raise DownloadError(f"{path}: missing; {spec.local_dir_field} must hold the publisher's file {remote.filename}")
                files[remote.filename] = {"path": str(path), "sha256": sha256_of(path), "size": path.stat().st_size, **file_facts(path)}
            meta = {"mode": f"local directory ({spec.local_dir_field})", "synthetic": False, **_raw_metadata(files, "")}
        elif downloader.source_mode == "embedded":
            manifest = verify_embedded(downloader, spec)
            directory = embedded_dir(downloader, spec)
            files = {}
            for name, entry in manifest.get("files", {}).items():
                facts = file_facts(directory / name, preview_rows=5) if (directory / name).exists() else {}
                files[name] = {
                    **{k: v for k, v in entry.items() if k in ("sha256", "size", "origin", "url", "licence", "data_date")},
                    **facts,
                }
            meta = {
                "mode": "embedded",
                "synthetic": bool(manifest.get("synthetic", spec.synthetic)),
                **_raw_metadata(files, str(manifest.get("data_date") or "")),
            }
        else:
            files = {}
            for remote in spec.remote_files:
                path = downloader.fetch(
                    source=spec.name,
                    millesime=remote.millesime,
                    url=remote.url,
                    filename=remote.filename,
                    licence=spec.licence,
                    log=context.log,
                    expect_magic=remote.magic,
                )
                local = _manifest_entry(path)
                files[f"{remote.millesime}/{remote.filename}"] = {
                    "url": remote.url,
                    "sha256": local.get("sha256") or sha256_of(path),
                    "size": path.stat().st_size,
                    **{k: local[k] for k in ("downloaded_at", "last-modified") if local.get(k)},
                    **file_facts(path),
                }
            # The publisher's vintage; each file's Last-Modified header is in ``files``.
            data_date = ("millesime " + ", ".join(spec.millesimes())) if spec.remote_files else ""
            meta = {"mode": "official", "synthetic": False, **_raw_metadata(files, data_date)}
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
