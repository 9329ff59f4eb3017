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

import dagster as dg

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
    owners: tuple[str, ...] = ("team:data",)
    tags: dict[str, str] = field(default_factory=dict)

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


def raw_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    """The factory: one raw asset per source, same shape for every source."""

    @dg.asset(
        key=spec.raw_key,
        group_name=spec.name,
        kinds={"file"},
        owners=list(spec.owners),
        tags={"cadence": spec.cadence, **spec.tags},
        description=(
            f"{spec.title} ({spec.publisher}, {spec.licence}). {spec.description}"
            + (" SYNTHETIC embedded sample: not real data." if spec.synthetic else "")
        ),
        metadata={"source_url": dg.MetadataValue.url(spec.homepage), "licence": spec.licence},
    )
    def _raw(context: dg.AssetExecutionContext, downloader: Downloader) -> dg.MaterializeResult:
        if downloader.source_mode == "embedded":
            manifest = verify_embedded(downloader, spec)
            files = manifest["files"]
            meta = {
                "mode": "embedded",
                "synthetic": bool(manifest.get("synthetic", spec.synthetic)),
                "data_date": manifest.get("data_date", ""),
                "files": dg.MetadataValue.json(
                    {name: {k: v for k, v in entry.items() if k in ("sha256", "size", "origin", "url")} for name, entry in files.items()}
                ),
            }
        else:
            fetched = {}
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
                fetched[f"{remote.millesime}/{remote.filename}"] = {"url": remote.url, "sha256": sha256_of(path)}
            meta = {"mode": "official", "synthetic": False, "files": dg.MetadataValue.json(fetched)}
        return dg.MaterializeResult(
            metadata={**meta, "licence": spec.licence, "source_url": dg.MetadataValue.url(spec.homepage)}
        )

    return _raw
