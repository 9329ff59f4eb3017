"""The bad-input corpus: each bad file is made in the test from the embedded SIRENE sample (tiny, nothing
committed), given to ``python -m observatory run`` as ``OBSERVATORY_SIRENE_DIR``; the run exits 1, its last line
names the asset, the file, the column and the expectation, and the published set stays byte-identical."""

from pathlib import Path

import duckdb
import pytest

from observatory.publish import publish, published_files
from observatory.quality.log import record_outcome
from observatory.settings import REPO_ROOT

EMBEDDED = REPO_ROOT / "data" / "raw" / "sirene" / "embedded"
ETAB = "StockEtablissement_utf8.parquet"
STOCKS = (
    "StockEtablissement_utf8.parquet",
    "StockEtablissementHistorique_utf8.parquet",
    "StockUniteLegale_utf8.parquet",
    "StockUniteLegaleHistorique_utf8.parquet",
    "StockEtablissementLiensSuccession_utf8.parquet",  # required in a local directory like the four others
)


def _rewrite(select: str):
    def make(src: Path, dst: Path) -> None:
        duckdb.sql(f"copy (select {select} from read_parquet('{src}')) to '{dst}' (format parquet)")

    return make


def _bytes(fn):
    def make(src: Path, dst: Path) -> None:
        dst.write_bytes(fn(src.read_bytes()))

    return make


#: 1 in 10 of the crèches, listed a second time in Paris with the same processing date: no rule can choose.
DUPLICATED = "activitePrincipaleEtablissement = '88.91A' and hash(siret) % 10 = 0 and codeCommuneEtablissement <> '75056'"


def _duplicated(src: Path, dst: Path) -> None:
    duckdb.sql(
        f"copy (select * from read_parquet('{src}') union all select * replace ('75056' as codeCommuneEtablissement) "
        f"from read_parquet('{src}') where {DUPLICATED}) to '{dst}' (format parquet)"
    )


# case -> (how the bad StockEtablissement is made, selection, expected end of the last line)
CASES = {
    "truncated": (
        _bytes(lambda b: b[: len(b) // 2]),
        "raw/sirene",
        "truncated Parquet file ({n} bytes, no PAR1 footer at the end: an interrupted download or copy?); download or copy it again",
    ),
    "html": (
        _bytes(lambda b: b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>"),
        "raw/sirene",
        "is an HTML page (an error page saved as a download?), expected data",
    ),
    "csv": (
        _bytes(lambda b: b"siren,nic,siret\n000325175,00016,00032517500016\n"),
        "raw/sirene",
        "is text (a CSV file renamed .parquet?); expected a Parquet file (starting with the PAR1 magic bytes)",
    ),
    "empty": (_bytes(lambda b: b""), "raw/sirene", "empty file, expected data (0 bytes: an interrupted download or copy?)"),
    "dates": (
        _rewrite("* replace (strftime(dateCreationEtablissement, '%d/%m/%Y') as dateCreationEtablissement)"),
        "stg/sirene_etablissements",
        "column 'dateCreationEtablissement': {dates} values are not dates (expected YYYY-MM-DD)",
    ),
    "corsica": (
        _rewrite("* replace (try_cast(codeCommuneEtablissement as bigint) as codeCommuneEtablissement)"),
        "stg/sirene_etablissements",
        "column 'codeCommuneEtablissement' has type BIGINT: {corsica} establishments with a Corsican postal code (20xxx) "
        "have no commune code (an integer column cannot hold 2A... / 2B...); expected VARCHAR: re-export the file "
        "with commune codes as text",
    ),
    "naf": (
        _rewrite(
            "* replace (case when hash(siret) % 10 = 0 then replace(activitePrincipaleEtablissement, '.', '') "
            "else activitePrincipaleEtablissement end as activitePrincipaleEtablissement)"
        ),
        "stg/sirene_etablissements",
        "column 'activitePrincipaleEtablissement': {naf} of {naf_total} codes of nomenclature NAFRev2 exist in no "
        "nomenclature (expected the NAF rév. 2 form NN.NNL, e.g. 88.91A)",
    ),
    "duplicates": (
        _duplicated,
        "stg/sirene_etablissements",
        "column 'codeCommuneEtablissement': {dups} sirets appear more than once with different communes and the "
        "same dateDernierTraitementEtablissement",
    ),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A data directory with a publication already in place (a tiny one: the corpus must not change it)."""
    root = tmp_path_factory.mktemp("corpus")
    data = root / "data"
    data.mkdir()
    (data / "raw").symlink_to(REPO_ROOT / "data" / "raw", target_is_directory=True)
    fake = root / "published_build.duckdb"
    with duckdb.connect(str(fake)) as con:
        con.execute("create schema marts; create table marts.demo as select 1 as v")
        record_outcome(con, "marts.demo", "quality", True)
    publish(fake, data / "marts", ["marts.demo"])
    return root, data


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_sirene_file_is_refused_naming_file_column_and_expectation(world, case, monkeypatch, capsys):
    from observatory.__main__ import main

    root, data = world
    make, selection, expected = CASES[case]
    folder = root / f"sirene_{case}"
    folder.mkdir()
    for name in STOCKS:
        if name != ETAB:
            (folder / name).symlink_to(EMBEDDED / name)
    bad = folder / ETAB
    make(EMBEDDED / ETAB, bad)
    before = published_files(data / "marts")
    monkeypatch.setenv("OBSERVATORY_DATA_DIR", str(data))
    monkeypatch.setenv("OBSERVATORY_SIRENE_DIR", str(folder))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # an ephemeral instance, not the developer's run history
    for name in ("OBSERVATORY_ALERT_FILE", "OBSERVATORY_ALERT_WEBHOOK", "OBSERVATORY_ALERT_EMAIL"):
        monkeypatch.delenv(name, raising=False)  # the alert goes to its default file only
    alerts = data / "build" / "observatory_alerts.log"  # Settings.alert_file_path without DAGSTER_HOME
    alerts_before = alerts.read_text() if alerts.exists() else ""

    assert main(["run", "--select", selection]) == 1

    last = capsys.readouterr().err.strip().splitlines()[-1]
    src = f"'{EMBEDDED / ETAB}'"
    counts = duckdb.sql(
        f"select count(*) filter (where codePostalEtablissement like '20%' and not codeCommuneEtablissement similar to '[0-9]+'), "
        f"count(dateCreationEtablissement) from read_parquet({src})"
    ).fetchall()[0]
    dups = duckdb.sql(f"select count(*) from read_parquet({src}) where {DUPLICATED}").fetchall()[0][0]
    naf = duckdb.sql(
        f"select count(*) filter (where hash(siret) % 10 = 0), count(*) from read_parquet({src}) "
        "where nomenclatureActivitePrincipaleEtablissement = 'NAFRev2' and activitePrincipaleEtablissement <> ''"
    ).fetchall()[0]
    text = expected.format(n=bad.stat().st_size, corsica=counts[0], dates=counts[1], dups=dups, naf=naf[0], naf_total=naf[1])
    asset, _, cause = last.partition(": ")
    assert asset.startswith("FAILED ") and selection in asset.split(" ", 1)[1].split(", ")  # the asset(s) of the step
    assert cause.startswith(f"{bad}: {text}")  # the file, then the column and the expectation
    assert published_files(data / "marts") == before  # byte-identical published set
    # no daemon in a terminal: the CLI delivered the alert itself, with the cause line the person read
    alert = alerts.read_text().removeprefix(alerts_before)
    assert alert.count("--- ") == 1
    assert "run failed: build_everything" in alert and f"\ncause: {last}\n" in alert
    assert "what to do: read the run's last line" in alert


def test_a_latin1_caf_export_is_named_with_the_byte_and_the_fix(tmp_path):
    from assets.caf.parse import CafFormatError, read_any

    path = tmp_path / "nbpla_pe_com.csv"
    path.write_bytes("Code commune;Libellé commune\n01004;Ambérieu-en-Bugey\n".encode("latin-1"))
    with pytest.raises(CafFormatError) as err:
        read_any(path)
    assert str(err.value).startswith(f"{path}: not utf-8-sig at byte 19 (")
    assert str(err.value).endswith("latin-1 / Windows-1252?); expected a CAF CSV export in utf-8-sig: re-save it as utf-8-sig")


def test_sirene_commune_codes_that_lost_their_leading_zero_are_padded_and_counted_as_in_every_source(tmp_path):
    """The one leading-zero rule (CAF, territory and SIRENE loaders alike): 4 digits -> zero-padded to 5, counted."""
    from assets.sirene.extract import SireneFiles, extract_establishments

    for name in STOCKS:
        if name != ETAB:
            (tmp_path / name).symlink_to(EMBEDDED / name)
    src = EMBEDDED / ETAB
    duckdb.sql(
        f"copy (select * replace (ltrim(codeCommuneEtablissement, '0') as codeCommuneEtablissement) "
        f"from read_parquet('{src}')) to '{tmp_path / ETAB}' (format parquet)"
    )
    n_short = duckdb.sql(f"select count(*) from read_parquet('{src}') where codeCommuneEtablissement similar to '0[0-9]{{4}}'").fetchall()[
        0
    ][0]
    assert n_short > 0
    con = duckdb.connect()
    files = SireneFiles.in_dir(tmp_path, con)
    assert f"codeCommuneEtablissement: {n_short} codes of 4 digits (leading zero lost) zero-padded to 5" in files.describe()[ETAB]["fixes"]
    extract_establishments(con, files)
    padded = con.execute("select count(*) from stg.sirene_etablissements where code_commune similar to '0[0-9]{4}'").fetchall()[0][0]
    reference = duckdb.connect()
    extract_establishments(reference, SireneFiles.in_dir(EMBEDDED, reference))
    assert (
        padded
        == reference.execute("select count(*) from stg.sirene_etablissements where code_commune similar to '0[0-9]{4}'").fetchall()[0][0]
        > 0
    )
    assert (
        con.execute("select list(code_commune order by siret) from stg.sirene_etablissements").fetchall()
        == reference.execute("select list(code_commune order by siret) from stg.sirene_etablissements").fetchall()
    )


def test_a_zip_member_is_read_with_a_decompressed_size_cap(tmp_path):
    import zipfile

    from assets.common.validate import InputError, read_zip_member

    path = tmp_path / "Intercommunalite_Metropole_au_01-01-2019.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Intercommunalite.xlsx", b"\0" * 5000)  # 5,000 bytes, compressing to a few dozen
    with zipfile.ZipFile(path) as zf:
        assert len(read_zip_member(zf, "Intercommunalite.xlsx", file=path, cap=5000)) == 5000
        with pytest.raises(InputError, match=rf"{path.name} \(Intercommunalite.xlsx\): decompresses to more than 4,999 bytes"):
            read_zip_member(zf, "Intercommunalite.xlsx", file=path, cap=4999)


def test_a_few_conflicting_duplicates_are_resolved_by_a_fixed_rule_and_counted(tmp_path):
    from assets.sirene.extract import SireneFiles, extract_establishments

    for name in STOCKS:
        if name != ETAB:
            (tmp_path / name).symlink_to(EMBEDDED / name)
    src = EMBEDDED / ETAB
    one = "siret = (select min(siret) from read_parquet('{src}') where activitePrincipaleEtablissement = '88.91A' and codeCommuneEtablissement > '75056')"
    duckdb.sql(
        f"copy (select * from read_parquet('{src}') union all select * replace ('75056' as codeCommuneEtablissement) "
        f"from read_parquet('{src}') where {one.format(src=src)}) to '{tmp_path / ETAB}' (format parquet)"
    )
    con = duckdb.connect()
    summary = extract_establishments(con, SireneFiles.in_dir(tmp_path, con))
    assert (summary["conflicting_duplicate_sirets"], summary["duplicate_sirets_removed"]) == (1, 1)
    # the fixed tie-break (lowest commune code) keeps Paris: deterministic, counted, below the 0.1 % threshold
    assert con.execute(f"select code_commune from stg.sirene_etablissements where {one.format(src=src)}").fetchall() == [("75056",)]
