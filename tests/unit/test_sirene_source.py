"""Where the SIRENE assets read their files: the real files when OBSERVATORY_SIRENE_DIR is set,
otherwise the embedded synthetic sample or the downloaded official files."""

from pathlib import Path

from assets.sirene.source import SPEC, sirene_directory
from observatory.resources import Downloader
from observatory.settings import Settings


def test_sirene_dir_wins_over_the_source_mode(tmp_path):
    real = tmp_path / "insee"
    settings = Settings.from_env({"OBSERVATORY_DATA_DIR": str(tmp_path), "OBSERVATORY_SIRENE_DIR": str(real),
                                  "OBSERVATORY_SOURCE_MODE": "official"})
    downloader = Downloader(raw_dir=str(settings.raw_dir), source_mode=settings.source_mode, sirene_dir=str(settings.sirene_dir))
    assert sirene_directory(downloader) == (real, "OBSERVATORY_SIRENE_DIR (real INSEE files)")


def test_embedded_and_official_directories(tmp_path):
    embedded = Downloader(raw_dir=str(tmp_path), source_mode="embedded")
    assert sirene_directory(embedded) == (tmp_path / "sirene" / "embedded", "embedded SYNTHETIC sample")
    official = Downloader(raw_dir=str(tmp_path), source_mode="official")
    assert sirene_directory(official) == (tmp_path / "sirene" / "stock", "official INSEE files (downloaded)")


def test_spec_lists_the_four_official_files_and_is_marked_synthetic():
    assert SPEC.synthetic and SPEC.cadence == "monthly"
    assert [f.url for f in SPEC.remote_files] == [
        "https://object.files.data.gouv.fr/data-pipeline-open/siren/stock/StockEtablissement_utf8.parquet",
        "https://object.files.data.gouv.fr/data-pipeline-open/siren/stock/StockEtablissementHistorique_utf8.parquet",
        "https://object.files.data.gouv.fr/data-pipeline-open/siren/stock/StockUniteLegale_utf8.parquet",
        "https://object.files.data.gouv.fr/data-pipeline-open/siren/stock/StockUniteLegaleHistorique_utf8.parquet",
    ]
    assert all(f.magic == (b"PAR1",) for f in SPEC.remote_files)
    assert [Path(f).name for f in SPEC.embedded_files] == [f.filename for f in SPEC.remote_files]
