"""Where the SIRENE assets read their files: the real files when OBSERVATORY_SIRENE_DIR is set,
otherwise the embedded synthetic sample or the downloaded official files."""

from pathlib import Path

import pytest

from assets.sirene.source import SPEC, sirene_directory
from observatory.resources import Downloader, DownloadError
from observatory.settings import Settings


def _stock(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for e in SPEC.plan:
        (directory / e.local).write_bytes(b"PAR1 fake PAR1")  # head and footer magic: passes the sniff


def test_sirene_dir_wins_over_the_source_mode(tmp_path):
    real = tmp_path / "insee"
    _stock(real)
    settings = Settings.from_env(
        {"OBSERVATORY_DATA_DIR": str(tmp_path), "OBSERVATORY_SIRENE_DIR": str(real), "OBSERVATORY_SOURCE_MODE": "official"}
    )
    downloader = Downloader(raw_dir=str(settings.raw_dir), source_mode=settings.source_mode, sirene_dir=str(settings.sirene_dir))
    assert sirene_directory(downloader) == (real, "OBSERVATORY_SIRENE_DIR (real INSEE files)")


def test_embedded_and_official_directories(tmp_path):
    _stock(tmp_path / "sirene" / "embedded")
    embedded = Downloader(raw_dir=str(tmp_path), source_mode="embedded")
    assert sirene_directory(embedded) == (tmp_path / "sirene" / "embedded", "embedded SYNTHETIC sample")
    official = Downloader(raw_dir=str(tmp_path), source_mode="official")
    with pytest.raises(DownloadError, match=r"sirene/stock/StockEtablissement_utf8.parquet: missing; materialize raw/sirene"):
        sirene_directory(official)  # not downloaded yet: the error says how to get it
    _stock(tmp_path / "sirene" / "stock")
    assert sirene_directory(official) == (tmp_path / "sirene" / "stock", "official INSEE files (downloaded)")


def test_a_local_directory_must_hold_the_four_publisher_files(tmp_path):
    """What the run reads from OBSERVATORY_SIRENE_DIR: the four files under the publisher's names, verified
    (sha256), labelled real (no manifest); a directory missing one of them is refused, naming the file."""
    import hashlib

    from observatory.sources import read_source

    real = tmp_path / "insee"
    real.mkdir()
    names = [Path(r.url).name for r in SPEC.remote_files]
    for name in names[:-1]:
        (real / name).write_bytes(b"PAR1 " + name.encode() + b" PAR1")
    downloader = Downloader(raw_dir=str(tmp_path / "raw"), source_mode="embedded", sirene_dir=str(real))
    with pytest.raises(DownloadError, match=names[-1]):
        read_source(downloader, SPEC)
    (real / names[-1]).write_bytes(b"PAR1 last PAR1")
    read = read_source(downloader, SPEC)
    assert (read.mode, read.synthetic) == ("local directory", False)
    assert [(f.name, f.sha256) for f in read.files] == [(n, hashlib.sha256((real / n).read_bytes()).hexdigest()) for n in names]
    assert read.label.startswith("SIRENE publisher's files from a local directory")
