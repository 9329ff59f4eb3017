"""Bad membership files: each gets a clear error naming the file, the column and what was expected,
or the one documented fix (zero-padding), recorded for the asset metadata."""

import shutil
from pathlib import Path

import pytest

from assets.dgcl_epci.parse import COLUMNS as DGCL_COLUMNS, membership as dgcl_membership, read_epcicom_csv
from assets.etalab_epci.parse import read_epci_json
from assets.insee_epci.parse import membership_from_zip
from assets.common.validate import read_parquet as _read_parquet
from assets.common.validate import InputError
from observatory.resources import DownloadError
from test_territory_official_parsers import COMPOSITION, FIXTURES, insee_zip

HEADER = "siren;nom;nature;fiscalite;nb_com;ptot;pmun;insee;siren_com;nom_com;ptot_com;pmun_com\n"


def _dgcl(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "epcicom2017.csv"
    path.write_bytes((header + "".join(r + "\n" for r in rows)).encode("cp1252"))
    return path


def test_missing_or_renamed_column_names_file_column_and_expectation(tmp_path):
    renamed = [("CODE_GEO",) + COMPOSITION[0][1:]] + COMPOSITION[1:]
    path = insee_zip(tmp_path / "Intercommunalite_Metropole_au_01-01-2018.zip", composition=renamed)
    with pytest.raises(InputError) as err:
        membership_from_zip(path, fixes={})
    msg = str(err.value)
    assert str(path) in msg and "column 'CODGEO' missing" in msg and "expected columns ['CODGEO', 'LIBGEO', 'EPCI'" in msg
    assert "CODE_GEO" in msg  # what was found


def test_codes_that_lost_their_leading_zero_are_padded_and_counted(tmp_path):
    path = _dgcl(
        tmp_path,
        [
            "200069193;CC de la Dombes;CC;FPU;2;100;99;1001;210100012;L'Abergement-Clémenciat;60;59",
            "200069193;CC de la Dombes;CC;FPU;2;100;99;1002;210100020;L'Abergement-de-Varey;40;40",
            "242010056;CA du Pays Ajaccien;CA;FPU;1;70000;69000;2A004;212000046;Ajaccio;70000;69000",
        ],
    )
    fixes: dict = {}
    df = dgcl_membership(read_epcicom_csv(path), file=path, fixes=fixes)
    assert df["code_commune"].to_list() == ["01001", "01002", "2A004"]
    assert fixes == {"insee: zero-padded to 5 characters": {"count": 2, "examples": ["1001", "1002"]}}


def test_codes_that_cannot_be_repaired_are_an_error(tmp_path):
    path = _dgcl(tmp_path, ["200069193;CC de la Dombes;CC;FPU;1;100;99;1A01;210100012;X;60;59"])
    with pytest.raises(InputError, match=r"epcicom2017.csv: column 'insee': 1 values are not commune codes .*\['1A01'\]"):
        dgcl_membership(read_epcicom_csv(path), file=path, fixes={})


def test_duplicated_commune_is_an_error_naming_it(tmp_path):
    dup = COMPOSITION + [("2A004", "Ajaccio", "200069193", "CC de la Dombes", "2A", "94")]
    path = insee_zip(tmp_path / "Intercommunalite_Metropole_au_01-01-2019.zip", composition=dup)
    with pytest.raises(
        InputError,
        match=r"Intercommunalite_Metropole_au_01-01-2019.zip: 1 communes appear more than once in column\(s\) \['CODGEO'\].*2A004",
    ):
        membership_from_zip(path, fixes={})


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "Intercommunalite_Metropole_au_01-01-2017.zip"
    path.write_bytes(b"")
    with pytest.raises(DownloadError, match=r"Intercommunalite_Metropole_au_01-01-2017.zip: empty file, expected data"):
        membership_from_zip(path, fixes={})


def test_file_with_a_header_and_no_commune_is_an_error(tmp_path):
    path = insee_zip(tmp_path / "Intercommunalite_Metropole_au_01-01-2017.zip", composition=COMPOSITION[:1])
    with pytest.raises(InputError, match=r"0 commune rows, expected at least 1 \(empty or truncated file\?\)"):
        membership_from_zip(path, fixes={})


def test_truncated_zip_is_an_error(tmp_path):
    whole = insee_zip(tmp_path / "whole.zip")
    cut = tmp_path / "Intercommunalite_Metropole_au_01-01-2016.zip"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(
        InputError, match=r"Intercommunalite_Metropole_au_01-01-2016.zip: not a readable zip archive .*truncated download\?"
    ):
        membership_from_zip(cut, fixes={})


def test_truncated_embedded_parquet_and_json_are_errors(tmp_path):
    src = Path(__file__).resolve().parents[2] / "data" / "raw" / "insee_epci" / "embedded" / "libelles_epci_2015_2019.parquet"
    cut = tmp_path / "libelles_epci_2015_2019.parquet"
    cut.write_bytes(src.read_bytes()[:5000])
    with pytest.raises(InputError, match=r"libelles_epci_2015_2019.parquet: unreadable Parquet .*truncated file\?"):
        _read_parquet(cut)
    js = tmp_path / "epci.json"
    js.write_text((FIXTURES / "epci_2019_tiny.json").read_text()[:120])
    with pytest.raises(InputError, match=r"epci.json: not valid JSON .*truncated download\?"):
        read_epci_json(js)


def test_html_error_page_saved_as_the_download_is_an_error(tmp_path):
    path = tmp_path / "epci_au_01-01-2025.zip"
    path.write_text("<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body>Accès refusé</body></html>")
    with pytest.raises(DownloadError, match=r"epci_au_01-01-2025.zip: is an HTML page .*expected data"):
        membership_from_zip(path, fixes={})
    json_page = tmp_path / "communes.json"
    shutil.copy(path, json_page)
    with pytest.raises(DownloadError, match="is an HTML page"):
        read_epci_json(json_page)


def test_dgcl_columns_are_the_published_ones():
    assert set(DGCL_COLUMNS.values()) <= set(HEADER.strip().split(";"))
