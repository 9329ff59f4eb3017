"""Tiny stand-ins for the raw files of every source: a few bytes per file with a matching
manifest.json, so that ``observatory.sources.read_source`` (and ``marts.sources``) can run on a
hand-made world without the repository's data/raw."""

import hashlib
import json
from pathlib import Path

from observatory.sources import SourceSpec

SIRENE_DATA_DATE = "2026-10-31"


def content(spec: SourceSpec, filename: str) -> bytes:
    """A few bytes standing for the file; a ``.parquet`` stand-in starts and ends with the Parquet magic bytes,
    so that it passes the sniff every input gets (``observatory.resources.sniff_file``)."""
    text = f"{spec.name}/{filename}\n".encode()
    return b"PAR1 " + text + b"PAR1" if filename.endswith(".parquet") else text


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def embed(raw_dir: Path, spec: SourceSpec, *, synthetic: bool = False, data_date: str = "2024-01-01") -> dict:
    """Write ``data/raw/<source>/embedded/`` for ``spec``; return the manifest."""
    directory = raw_dir / spec.name / "embedded"
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {"synthetic": synthetic, "data_date": data_date, "files": {}}
    for name in spec.embedded_files:
        data = content(spec, name)
        (directory / name).write_bytes(data)
        manifest["files"][name] = {
            "sha256": sha(data),
            "size": len(data),
            "origin": f"test copy of {name}",
            "url": f"https://example.org/{name}",
        }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def embed_all(raw_dir: Path, specs: list[SourceSpec]) -> None:
    """Every source embedded; SIRENE as the synthetic sample is labelled."""
    for spec in specs:
        if spec.name == "sirene":
            embed(raw_dir, spec, synthetic=True, data_date=SIRENE_DATA_DATE)
        else:
            embed(raw_dir, spec)


def publisher_files(directory: Path, spec: SourceSpec) -> dict[str, bytes]:
    """The publisher's files of ``spec`` in ``directory`` (a local directory: no manifest)."""
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for remote in spec.remote_files:
        data = (
            content(spec, remote.filename).replace(b"PAR1 ", b"PAR1 real ", 1)
            if remote.filename.endswith(".parquet")
            else b"real " + content(spec, remote.filename)
        )
        (directory / remote.filename).write_bytes(data)
        out[remote.filename] = data
    return out
