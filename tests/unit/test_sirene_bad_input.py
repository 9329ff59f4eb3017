"""Bad SIRENE input: a clear error naming the file and the column, or a documented fix that is
reported. Format variants (before March 2024, before December 2025) are accepted."""

import datetime as dt
import shutil

import duckdb
import pyarrow.parquet as pq
import pytest

from assets.sirene.extract import SireneFiles, SireneFormatError, extract_establishments, extract_legal_units
from assets.sirene.identifiers import siren, siret
from assets.sirene.schema import (
    ETABLISSEMENT_FILE,
    ETABLISSEMENT_HISTORIQUE_FILE,
    UNITE_LEGALE_FILE,
    UNITE_LEGALE_HISTORIQUE_FILE,
    write_stock_parquet,
)

S = siren("30000001")
E = siret(S, 1)
ROWS = {
    ETABLISSEMENT_FILE: [
        {
            "siren": S,
            "nic": E[9:],
            "siret": E,
            "codeCommuneEtablissement": "01004",
            "dateDebut": dt.date(2015, 1, 1),
            "etatAdministratifEtablissement": "A",
            "activitePrincipaleEtablissement": "88.91A",
            "dateDernierTraitementEtablissement": dt.datetime(2024, 5, 1),
        },
    ],
    ETABLISSEMENT_HISTORIQUE_FILE: [
        {
            "siren": S,
            "nic": E[9:],
            "siret": E,
            "dateDebut": dt.date(2015, 1, 1),
            "etatAdministratifEtablissement": "A",
            "activitePrincipaleEtablissement": "88.91A",
        },
    ],
    UNITE_LEGALE_FILE: [{"siren": S, "categorieJuridiqueUniteLegale": 9220, "dateDebut": dt.date(2015, 1, 1)}],
    UNITE_LEGALE_HISTORIQUE_FILE: [{"siren": S, "categorieJuridiqueUniteLegale": "9220", "dateDebut": dt.date(2015, 1, 1)}],
}


def _write(directory, drop=None, replace=None):
    """The four files; ``drop`` {stock: columns} imitates older formats, ``replace`` {stock: table}."""
    for stock, rows in ROWS.items():
        path = directory / stock.filename
        if replace and stock in replace:
            pq.write_table(replace[stock], path)
        else:
            write_stock_parquet(path, stock, rows, drop=(drop or {}).get(stock, ()))
    return directory


def test_missing_file_is_named(tmp_path):
    _write(tmp_path)
    (tmp_path / UNITE_LEGALE_HISTORIQUE_FILE.filename).unlink()
    with pytest.raises(SireneFormatError, match=r"missing INSEE stock file\(s\) \['StockUniteLegaleHistorique_utf8.parquet'\]"):
        SireneFiles.in_dir(tmp_path)


def test_truncated_parquet_is_named(tmp_path):
    _write(tmp_path)
    path = tmp_path / ETABLISSEMENT_HISTORIQUE_FILE.filename
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SireneFormatError, match=r"truncated Parquet file \(\d+ bytes, no PAR1 footer") as err:
        SireneFiles.in_dir(tmp_path)
    assert str(path) in str(err.value) and "truncated" in str(err.value)


def test_html_page_saved_in_place_of_the_file(tmp_path):
    _write(tmp_path)
    path = tmp_path / UNITE_LEGALE_FILE.filename
    path.write_text("<!doctype html><html><body>503 Service Unavailable</body></html>")
    with pytest.raises(SireneFormatError, match="is an HTML page") as err:
        SireneFiles.in_dir(tmp_path)
    assert str(path) in str(err.value)


def test_empty_file(tmp_path):
    _write(tmp_path)
    (tmp_path / ETABLISSEMENT_FILE.filename).write_bytes(b"")
    with pytest.raises(SireneFormatError, match=r"StockEtablissement_utf8.parquet: 0 bytes, not a Parquet file"):
        SireneFiles.in_dir(tmp_path)


def test_renamed_column_is_named_with_its_likely_new_name(tmp_path):
    _write(tmp_path)
    path = tmp_path / ETABLISSEMENT_HISTORIQUE_FILE.filename
    table = pq.read_table(path)
    names = [("activitePrincipaleEtab" if n == "activitePrincipaleEtablissement" else n) for n in table.column_names]
    pq.write_table(table.rename_columns(names), path)
    with pytest.raises(SireneFormatError) as err:
        SireneFiles.in_dir(tmp_path)
    message = str(err.value)
    assert str(path) in message
    assert "column 'activitePrincipaleEtablissement' missing (renamed? found [" in message
    assert "'activitePrincipaleEtab'" in message


def test_missing_column_is_named(tmp_path):
    _write(tmp_path, drop={ETABLISSEMENT_FILE: ["codeCommuneEtablissement"]})
    with pytest.raises(SireneFormatError, match=r"StockEtablissement_utf8.parquet: column 'codeCommuneEtablissement' missing"):
        SireneFiles.in_dir(tmp_path)


def test_incompatible_type_is_named(tmp_path):
    import pyarrow as pa

    _write(tmp_path)
    path = tmp_path / UNITE_LEGALE_HISTORIQUE_FILE.filename
    table = pq.read_table(path)
    i = table.column_names.index("dateDebut")
    table = table.set_column(i, "dateDebut", pa.array([1.5], pa.float64()))
    pq.write_table(table, path)
    with pytest.raises(SireneFormatError, match=r"column 'dateDebut' has type DOUBLE, expected DATE"):
        SireneFiles.in_dir(tmp_path)


def test_format_before_march_2024_and_before_december_2025(tmp_path):
    """3.9 files have no address identifier / Lambert coordinates, and no file before December 2025
    has the NAF 2025 columns: the loader accepts them and leaves those columns null."""
    _write(
        tmp_path,
        drop={
            ETABLISSEMENT_FILE: [
                "identifiantAdresseEtablissement",
                "coordonneeLambertAbscisseEtablissement",
                "coordonneeLambertOrdonneeEtablissement",
                "activitePrincipaleNAF25Etablissement",
            ],
            UNITE_LEGALE_FILE: ["activitePrincipaleNAF25UniteLegale"],
        },
    )
    con = duckdb.connect()
    files = SireneFiles.in_dir(tmp_path, con)
    assert files.describe()[ETABLISSEMENT_FILE.filename]["format"] == "3.9 (before March 2024)"
    extract_establishments(con, files)
    extract_legal_units(con, files)
    assert con.execute("select siret, identifiant_adresse, activite_principale_naf25 from stg.sirene_etablissements").fetchall() == [
        (E, None, None)
    ]
    assert con.execute("select activite_principale_naf25 from stg.sirene_unites_legales").fetchall() == [(None,)]


def test_codes_stored_as_integers_are_zero_padded_and_reported(tmp_path):
    """A re-export that stored siret/siren/commune as integers lost their leading zeros: the fix
    (left-pad to the code's width) is unambiguous, applied and listed in the files' metadata."""
    import pyarrow as pa

    s0 = siren("01234567")
    e0 = siret(s0, 7)
    _write(tmp_path)
    path = tmp_path / ETABLISSEMENT_FILE.filename
    table = pq.read_table(path)
    for name, value in (("siret", int(e0)), ("siren", int(s0)), ("codeCommuneEtablissement", 1004)):
        table = table.set_column(table.column_names.index(name), name, pa.array([value], pa.int64()))
    pq.write_table(table, path)
    hist = tmp_path / ETABLISSEMENT_HISTORIQUE_FILE.filename
    htable = pq.read_table(hist)
    htable = htable.set_column(htable.column_names.index("siret"), "siret", pa.array([e0]))
    htable = htable.set_column(htable.column_names.index("siren"), "siren", pa.array([s0]))
    pq.write_table(htable, hist)

    con = duckdb.connect()
    files = SireneFiles.in_dir(tmp_path, con)
    fixes = files.describe()[ETABLISSEMENT_FILE.filename]["fixes"]
    assert "siret: stored as BIGINT, read as text zero-padded to 14 characters" in fixes
    assert "codeCommuneEtablissement: stored as BIGINT, read as text zero-padded to 5 characters" in fixes
    extract_establishments(con, files)
    assert con.execute("select siret, siren, code_commune from stg.sirene_etablissements").fetchall() == [(e0, s0, "01004")]


def test_masked_fields_of_partially_diffusible_units_become_null(tmp_path):
    _write(tmp_path)
    path = tmp_path / ETABLISSEMENT_FILE.filename
    rows = [
        dict(ROWS[ETABLISSEMENT_FILE][0], statutDiffusionEtablissement="P", codeCommuneEtablissement="[ND]", enseigne1Etablissement="[ND]")
    ]
    write_stock_parquet(path, ETABLISSEMENT_FILE, rows)
    con = duckdb.connect()
    extract_establishments(con, SireneFiles.in_dir(tmp_path, con))
    assert con.execute("select statut_diffusion, code_commune, enseigne1 from stg.sirene_etablissements").fetchall() == [("P", None, None)]


def test_corrupt_data_page_reports_the_file(tmp_path):
    """Footer intact but a data page overwritten: the error surfaces during extraction and names the file."""
    _write(tmp_path)
    path = tmp_path / ETABLISSEMENT_HISTORIQUE_FILE.filename
    data = bytearray(path.read_bytes())
    for i in range(8, min(len(data) - 200, 400)):  # after the magic bytes, before the footer
        data[i] = 0xFF
    path.write_bytes(bytes(data))
    con = duckdb.connect()
    files = SireneFiles.in_dir(tmp_path, con)
    with pytest.raises(SireneFormatError, match="corrupt Parquet data") as err:
        extract_establishments(con, files)
    assert str(path) in str(err.value)


def test_directory_copy_is_self_contained(tmp_path):
    """in_dir only reads the four INSEE names: extra files in the directory are ignored."""
    _write(tmp_path)
    shutil.copy(tmp_path / ETABLISSEMENT_FILE.filename, tmp_path / "StockEtablissementLiensSuccession_utf8.parquet")
    files = SireneFiles.in_dir(tmp_path)
    assert sorted(p.name for p in files.paths().values()) == sorted(
        s.filename for s in (ETABLISSEMENT_FILE, ETABLISSEMENT_HISTORIQUE_FILE, UNITE_LEGALE_FILE, UNITE_LEGALE_HISTORIQUE_FILE)
    )
