"""StockEtablissementLiensSuccession -> stg.sirene_successions: exact rows on a hand-made file, the
links kept (those touching an establishment ever in 88.91A), its checks, and bad input named."""

import datetime as dt

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assets.sirene import checks
from assets.sirene.extract import SireneFormatError, extract_successions
from assets.sirene.identifiers import siren, siret
from assets.sirene.schema import SUCCESSION_FILE, write_stock_parquet
from assets.sirene.source import SPEC, succession_file
from observatory.quality import run_suite
from observatory.resources import Downloader, DownloadError

A, B, C = siren("30000001"), siren("30000002"), siren("30000003")
OLD, NEW, OTHER = siret(A, 1), siret(B, 1), siret(C, 1)  # OLD, NEW ever in 88.91A; OTHER never
T = dt.datetime(2024, 3, 1, 9, 0)


def _link(pred, succ, when, siege=False, continuite=True, processed=T):
    return {
        "siretEtablissementPredecesseur": pred,
        "siretEtablissementSuccesseur": succ,
        "dateLienSuccession": when,
        "transfertSiege": siege,
        "continuiteEconomique": continuite,
        "dateDernierTraitementLienSuccession": processed,
    }


@pytest.fixture
def con():
    """A warehouse where OLD (closed) and NEW are the selected 88.91A establishments."""
    c = duckdb.connect()
    c.execute("create schema stg")
    c.execute("create table stg.sirene_etablissements as select * from (values (?), (?)) t(siret)", [OLD, NEW])
    c.execute("create table stg.sirene_etablissement_periodes as select * from (values (?)) t(siret)", [OLD])
    yield c
    c.close()


def test_links_touching_an_88_91a_establishment_become_stg_rows(tmp_path, con):
    path = write_stock_parquet(
        tmp_path / SUCCESSION_FILE.filename,
        SUCCESSION_FILE,
        [
            _link(OLD, NEW, dt.date(2023, 9, 1)),
            # the same link processed again: the latest processing wins, counted as a duplicate
            _link(OLD, NEW, dt.date(2023, 9, 1), continuite=False, processed=dt.datetime(2023, 9, 20)),
            _link(NEW, OTHER, dt.date(2025, 1, 1), siege=True, continuite=False),  # the facility's successor is not childcare
            _link(OTHER, siret(C, 2), dt.date(2020, 6, 1)),  # neither end in 88.91A: left out
        ],
    )
    summary = extract_successions(con, path)
    rows = con.execute("select * from stg.sirene_successions").fetchall()
    assert rows == [
        (OLD, NEW, dt.date(2023, 9, 1), False, True, T),
        (NEW, OTHER, dt.date(2025, 1, 1), True, False, T),
    ]
    assert [c[0] for c in con.execute("describe stg.sirene_successions").fetchall()] == [
        "siret_predecessor",
        "siret_successor",
        "date_lien",
        "transfert_siege",
        "continuite_economique",
        "date_dernier_traitement",
    ]
    assert (summary["links_in_file"], summary["links_kept"], summary["duplicate_links_removed"]) == (4, 2, 1)
    assert summary["links_between_two_selected_establishments"] == 1
    assert [(o.name, o.error) for o in run_suite(con, "stg.sirene_successions", checks.SUCCESSIONS) if not o.success] == []


def test_text_dates_and_integer_sirets_are_read_and_the_fixes_reported(tmp_path, con):
    path = tmp_path / SUCCESSION_FILE.filename
    table = pa.table(
        {
            "siretEtablissementPredecesseur": pa.array([int(OLD)], pa.int64()),
            "siretEtablissementSuccesseur": [NEW],
            "dateLienSuccession": ["2023-09-01"],
            "transfertSiege": ["false"],
            "continuiteEconomique": ["true"],
            "dateDernierTraitementLienSuccession": ["2024-03-01 09:00:00"],
        }
    )
    pq.write_table(table, path)
    summary = extract_successions(con, path)
    assert con.execute("select * from stg.sirene_successions").fetchall() == [(OLD, NEW, dt.date(2023, 9, 1), False, True, T)]
    assert len(summary["file"]["fixes"]) == 5


def test_the_checks_catch_a_bad_siret_and_a_duplicated_key(con):
    con.execute(
        """create table stg.sirene_successions as select * from (values
           (?, ?, date '2023-09-01', false, true, timestamp '2024-03-01'),
           (?, ?, date '2023-09-01', false, true, timestamp '2024-03-01'),
           ('1234', ?, date '2023-09-01', false, true, timestamp '2024-03-01'))
           t(siret_predecessor, siret_successor, date_lien, transfert_siege, continuite_economique, date_dernier_traitement)""",
        [OLD, NEW, OLD, NEW, NEW],
    )
    failed = {o.name: o.unexpected_count for o in run_suite(con, "stg.sirene_successions", checks.SUCCESSIONS) if not o.success}
    assert failed == {
        "unique (siret_predecessor, siret_successor, date_lien) (nulls compared equal)": 1,
        "siret_predecessor is a SIRET (14 digits, valid Luhn key; La Poste 356000000: digit sum multiple of 5)": 1,
    }


def test_a_renamed_column_is_named_with_the_file(tmp_path, con):
    path = write_stock_parquet(tmp_path / SUCCESSION_FILE.filename, SUCCESSION_FILE, [_link(OLD, NEW, dt.date(2023, 9, 1))])
    table = pq.read_table(path)
    pq.write_table(table.rename_columns([("dateLien" if n == "dateLienSuccession" else n) for n in table.column_names]), path)
    with pytest.raises(SireneFormatError) as err:
        extract_successions(con, path)
    message = str(err.value)
    assert message.startswith(f"{path}: column 'dateLienSuccession' missing (renamed? found ['dateLien']")
    assert SUCCESSION_FILE.filename in message


def test_an_unparseable_date_is_refused_with_examples(tmp_path, con):
    path = tmp_path / SUCCESSION_FILE.filename
    rows = [_link(OLD, NEW, "2023-09-01"), _link(NEW, OLD, "01/09/2023")]
    table = pa.table({k: [r[k] for r in rows] for k in rows[0]})
    pq.write_table(table, path)
    with pytest.raises(SireneFormatError) as err:
        extract_successions(con, path)
    assert str(err.value) == (f"{path}: column 'dateLienSuccession': 1 values are not dates (expected YYYY-MM-DD), e.g. ['01/09/2023']")


def test_an_html_page_in_place_of_the_file_is_named(tmp_path, con):
    path = tmp_path / SUCCESSION_FILE.filename
    path.write_text("<!doctype html><html><body>503 Service Unavailable</body></html>")
    with pytest.raises(SireneFormatError, match="is an HTML page") as err:
        extract_successions(con, path)
    assert str(path) in str(err.value)


def test_the_file_is_required_in_every_mode(tmp_path):
    """Official: not downloaded yet -> the error says how to get it; a local directory without it -> named."""
    official = Downloader(raw_dir=str(tmp_path), source_mode="official")
    with pytest.raises(
        DownloadError, match=r"sirene/stock/StockEtablissementLiensSuccession_utf8.parquet: missing; materialize raw/sirene"
    ):
        succession_file(official)
    local = tmp_path / "insee"
    local.mkdir()
    with pytest.raises(DownloadError, match=r"insee/StockEtablissementLiensSuccession_utf8.parquet: missing; sirene_dir must hold"):
        succession_file(Downloader(raw_dir=str(tmp_path), source_mode="embedded", sirene_dir=str(local)))
    # its own role, last in the plan: the four stock files keep their role and order
    assert [e.role for e in SPEC.plan] == ["stock"] * 4 + ["successions"]
