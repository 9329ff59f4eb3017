"""CAF loader: the Explore API v2.1 formats (records page, CSV export), the republished copy, and
normalization (placeholders, padding, arrondissements, derived children) - on small fixtures, never the network."""

from pathlib import Path

import duckdb
import polars as pl
import pytest

from assets.caf import parse as api, stage as load

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "marts" / "caf"


def _stg(con=None):
    con = con or duckdb.connect()
    con.execute("create schema if not exists stg")
    places, _ = load.read_kind([FIX / "nbpla_pe_com_records.json"], "places", "api")
    coverage, _ = load.read_kind([FIX / "txcouv_pe_com_export.csv"], "coverage", "api")
    load.load_caf(con, places, coverage)
    return con


def test_records_page_is_normalized_with_every_fix_counted():
    frame, stats = api.normalize(api.read_any(FIX / "nbpla_pe_com_records.json"), "places", origin="records.json")
    assert stats["rows_read"] == 6
    assert stats["rows_dropped_placeholder_commune"] == 1  # numcom "XX"
    assert stats["placeholder_codes_nulled"]["epci_siren_caf"] == 1  # Saint-Barthélemy's EPCI "XX"
    assert stats["commune_codes_padded"] == 1  # "1004" -> "01004"
    assert stats["arrondissement_rows"] == 2
    assert stats["years"] == [2022, 2023]
    rows = {r["code_commune_publie"]: r for r in frame.to_dicts()}
    assert set(rows) == {"75101", "75102", "01004", "97701", "2A004"}
    assert rows["01004"]["code_departement_caf"] == "01"  # "1" padded too
    assert rows["97701"]["epci_siren_caf"] is None
    assert rows["75102"]["code_commune"] == "75056" and rows["2A004"]["code_commune"] == "2A004"
    assert rows["01004"]["places_eaje"] == 84.0 and rows["75101"]["places_total"] == 165.0


def test_csv_export_with_bom_semicolons_and_decimal_commas():
    frame, stats = api.normalize(api.read_any(FIX / "txcouv_pe_com_export.csv"), "coverage", origin="export.csv")
    assert frame.columns[0] == "caf_annee"  # the BOM did not stick to the first header
    rows = {r["code_commune_publie"]: r for r in frame.to_dicts()}
    assert rows["75101"]["taux_psu"] == 50.0 and rows["75101"]["taux_global"] == 82.5  # "50,0", "82,5"
    assert rows["2A004"]["taux_global"] == 108.8  # rates above 100 are kept, never clamped
    assert stats["placeholder_codes_nulled"]["epci_siren_caf"] == 1


def test_republished_headers_map_to_the_same_columns():
    api_frame, _ = api.normalize(api.read_any(FIX / "nbpla_pe_com_records.json"), "places", origin="a")
    rep_frame, _ = api.normalize(api.read_any(FIX / "nbpla_pe_com_republished.csv"), "places", origin="b")
    assert rep_frame.columns == api_frame.columns
    assert rep_frame.filter(pl.col("caf_annee") == 2022).row(0, named=True)["places_psu"] == 79.0


def test_stg_tables_sum_arrondissements_and_derive_children():
    con = _stg()
    paris = con.execute(
        "select places_psu, places_hors_psu, places_eaje, places_total, n_units_published, nom_commune "
        "from stg.caf_places_commune where caf_annee = 2022 and code_commune = '75056'"
    ).fetchone()
    assert paris == (300.0, 50.0, 350.0, 465.0, 2, "PARIS")
    # children: 165 / 82.5 x 100 + 300 / 75 x 100 = 200 + 400; rates recomputed from the sums
    cov = con.execute(
        "select enfants_moins_3_ans, taux_psu, taux_hors_psu, taux_eaje, taux_global, taux_recalcule "
        "from stg.caf_coverage_commune where caf_annee = 2022 and code_commune = '75056'"
    ).fetchone()
    assert cov == (pytest.approx(600.0), 50.0, 8.3, 58.3, 77.5, True)
    amberieu = con.execute(
        "select enfants_moins_3_ans, taux_eaje, taux_recalcule, enfants_method from stg.caf_coverage_commune "
        "where caf_annee = 2022 and code_commune = '01004'"
    ).fetchone()
    assert amberieu == (pytest.approx(500.0), 16.8, False, "places_total / taux_global")
    assert con.execute("select count(*) from stg.caf_places_commune").fetchone()[0] == 4
    assert con.execute("select count(*) from stg.caf_places_commune where code_commune like '751%'").fetchone()[0] == 0


def test_current_dataset_wins_over_hist_for_a_shared_year():
    hist, _ = api.normalize(api.read_any(FIX / "nbpla_pe_com_republished.csv"), "places", origin="hist")  # 2021, 2022
    current, _ = api.normalize(api.read_any(FIX / "nbpla_pe_com_records.json"), "places", origin="current")  # 2022, 2023
    both = api.combine_current_and_hist(current, hist)
    amberieu = both.filter(pl.col("code_commune_publie") == "01004").sort("caf_annee")
    assert amberieu.get_column("caf_annee").to_list() == [2021, 2022]
    assert amberieu.get_column("places_psu").to_list() == [78.0, 80.0]  # 2022 from the current dataset (80), not hist (79)


def test_fetch_records_paginates_and_passes_the_filter():
    calls = []
    data = [{"annee": 2023, "numcom": f"{i:05d}"} for i in range(1001, 1251)]

    def fake_get(url, params):
        calls.append((url, dict(params)))
        return {"total_count": len(data), "results": data[params["offset"] : params["offset"] + params["limit"]]}

    rows = api.fetch_records("nbpla_pe_com", fake_get, where="annee=2023")
    assert rows == data
    assert [c[1]["offset"] for c in calls] == [0, 100, 200]
    assert all(c[1]["limit"] == 100 and c[1]["where"] == "annee=2023" for c in calls)
    assert calls[0][0] == "https://data.caf.fr/api/explore/v2.1/catalog/datasets/nbpla_pe_com/records"


def test_fetch_records_refuses_more_than_the_endpoint_can_page():
    with pytest.raises(api.CafFormatError, match="exports/csv"):
        api.fetch_records("txcouv_pe_com", lambda url, params: {"total_count": 10_001, "results": [{}]})


def test_fetch_records_rejects_an_answer_that_is_not_a_records_page():
    with pytest.raises(api.CafFormatError, match="total_count"):
        api.fetch_records("txcouv_pe_com", lambda url, params: {"error_code": "ODSQLError"})


def test_missing_column_names_the_file_and_the_column(tmp_path):
    bad = tmp_path / "nbpla.csv"
    text = (FIX / "nbpla_pe_com_republished.csv").read_text().replace("places_EAJE_PSU", "places_psu_renamed")
    bad.write_text(text)
    with pytest.raises(api.CafFormatError) as err:
        api.normalize(api.read_any(bad), "places", origin=str(bad))
    assert str(bad) in str(err.value) and "places_eaje_psu" in str(err.value)


def test_non_numeric_value_names_the_column(tmp_path):
    bad = tmp_path / "nbpla.csv"
    bad.write_text((FIX / "nbpla_pe_com_republished.csv").read_text().replace(",78,4,82,", ",78,n.d.,82,"))
    with pytest.raises(api.CafFormatError, match=r"pl_hors_psu_col_com / places_hors_eaje_psu: 1 value\(s\) are not numbers.*n\.d\."):
        api.normalize(api.read_any(bad), "places", origin=str(bad))


def test_duplicated_commune_year_is_an_error(tmp_path):
    bad = tmp_path / "nbpla.csv"
    lines = (FIX / "nbpla_pe_com_republished.csv").read_text().splitlines()
    bad.write_text("\n".join(lines + [lines[1]]) + "\n")
    with pytest.raises(api.CafFormatError, match="duplicated"):
        api.normalize(api.read_any(bad), "places", origin=str(bad))


def test_invalid_commune_code_is_an_error(tmp_path):
    bad = tmp_path / "nbpla.csv"
    bad.write_text((FIX / "nbpla_pe_com_republished.csv").read_text().replace("2022,01004", "2022,0100A"))
    with pytest.raises(api.CafFormatError, match="not commune codes.*0100A"):
        api.normalize(api.read_any(bad), "places", origin=str(bad))


@pytest.mark.parametrize("content, message", [("", "empty file"), ("<!DOCTYPE html><html>503</html>", "HTML page")])
def test_empty_file_or_error_page(tmp_path, content, message):
    bad = tmp_path / "txcouv_pe_com.csv"
    bad.write_text(content)
    with pytest.raises(api.CafFormatError, match=message) as err:
        api.read_any(bad)
    assert str(bad) in str(err.value)


def test_year_as_a_date_is_read_from_its_first_four_characters():
    frame = api.records_frame([{**r, "annee": "2022-01-01"} for r in api.read_any(FIX / "nbpla_pe_com_records.json").to_dicts()])
    out, _ = api.normalize(frame, "places", origin="nat")
    assert set(out.get_column("caf_annee").to_list()) == {2022}


def test_command_line_pull_writes_a_records_page_the_loader_reads(tmp_path, monkeypatch):
    page = api.read_export_json(FIX / "nbpla_pe_com_records.json").to_dicts()
    monkeypatch.setattr(
        api, "http_get_json", lambda url, params: {"total_count": len(page), "results": page[params["offset"] :][: params["limit"]]}
    )
    out = tmp_path / "nbpla_pe_com_2022.json"
    assert api.main(["nbpla_pe_com", "--where", "annee=2022", "--out", str(out)]) == 0
    frame, stats = api.normalize(api.read_any(out), "places", origin=str(out))
    assert stats["rows_read"] == 6 and frame.height == 5
