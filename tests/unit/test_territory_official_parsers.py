"""Official-file loaders on tiny hand-made files in the publishers' real formats (never the network)."""

import io
import zipfile
from pathlib import Path

import polars as pl
import pytest

from assets.cog.parse import passage_from_mvt, read_v_commune, read_v_mvt
from assets.contours.parse import read_etalab_communes
from assets.etalab_epci.parse import read_communes_json, read_epci_json
from assets.insee_epci.parse import epci_natures_from_zip, membership_from_zip
from assets.common.passage import PassageRow, complete_steps
from assets.common.validate import InputError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "territory"

COMPOSITION = [
    ("CODGEO", "LIBGEO", "EPCI", "LIBEPCI", "DEP", "REG"),
    ("01001", "L'Abergement-Clémenciat", "200069193", "CC de la Dombes", "01", "84"),
    ("2A004", "Ajaccio", "242010056", "CA du Pays Ajaccien", "2A", "94"),
    ("22016", "Île-de-Bréhat", "ZZZZZZZZZ", "Sans objet", "22", "53"),
    ("69123", "Lyon", "200046977", "Métropole de Lyon", "69", "84"),
]
EPCI_SHEET = [
    ("EPCI", "LIBEPCI", "NATURE_EPCI", "NB_COM"),
    ("200069193", "CC de la Dombes", "CC", "36"),
    ("242010056", "CA du Pays Ajaccien", "CA", "10"),
    ("200046977", "Métropole de Lyon", "ME", "59"),
    ("ZZZZZZZZZ", "Sans objet", "ZZ", "4"),
]


def insee_zip(
    path: Path, composition=COMPOSITION, epci=EPCI_SHEET, inner="Intercommunalite-Metropole_au_01-01-2021.xlsx", extra_inner=None
) -> Path:
    """An INSEE composition zip as published: one workbook, sheets EPCI and Composition_communale,
    5 title rows above the header."""
    from openpyxl import Workbook

    wb = Workbook()
    for title, rows in (("EPCI", epci), ("Composition_communale", composition)):
        ws = wb.create_sheet(title)
        ws.append([f"Intercommunalité - Métropole au 1er janvier 2021 ({title})"])
        ws.append(["Source : Insee, Code officiel géographique"])
        ws.append([])
        ws.append(["Champ : France"])
        ws.append([])
        for r in rows:
            ws.append(list(r))
    del wb["Sheet"]
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(inner, buf.getvalue())
        if extra_inner:
            zf.writestr(extra_inner, buf.getvalue())
    return path


def test_insee_zip_composition_sheet_after_five_title_rows(tmp_path):
    path = insee_zip(tmp_path / "Intercommunalite_Metropole_au_01-01-2021.zip")
    fixes: dict = {}
    m = membership_from_zip(path, fixes=fixes)
    assert m.rows() == [
        ("01001", "L'Abergement-Clémenciat", "200069193", "CC de la Dombes", "01", "84"),
        ("2A004", "Ajaccio", "242010056", "CA du Pays Ajaccien", "2A", "94"),
        ("22016", "Île-de-Bréhat", None, "Sans objet", "22", "53"),
        ("69123", "Lyon", "200046977", "Métropole de Lyon", "69", "84"),
    ]
    assert m.columns == ["code_commune", "nom_commune", "epci_siren", "epci_nom", "code_departement", "code_region"]
    assert fixes == {}
    natures = epci_natures_from_zip(path)
    assert dict(natures.select("epci_siren", "epci_nature").rows())["200046977"] == "ME"


def test_insee_zip_must_hold_exactly_one_workbook(tmp_path):
    path = insee_zip(tmp_path / "x.zip", extra_inner="copy.xlsx")
    with pytest.raises(InputError, match=r"expected exactly one \.xls/\.xlsx in the zip"):
        membership_from_zip(path, fixes={})


def test_etalab_epci_json_flattened(tmp_path):
    df = read_epci_json(FIXTURES / "epci_2019_tiny.json")
    assert df.rows() == [
        ("200000172", "CC Faucigny - Glières", "CC", "FPU", "74042", "Bonneville"),
        ("200000172", "CC Faucigny - Glières", "CC", "FPU", "74164", "Marignier"),
        ("200046977", "Métropole de Lyon", "METLYON", "FPU", "69123", "Lyon"),
    ]


def test_etalab_communes_json_and_its_links(tmp_path):
    communes, links = read_communes_json(FIXTURES / "communes_2025_tiny.json")
    assert communes.filter(pl.col("type") == "commune-actuelle").select("code", "population").rows() == [
        ("01015", "710"),
        ("75056", "2133111"),
    ]
    assert sorted(links.rows()) == [("01340", "ancien-code", "01015"), ("01340", "commune-deleguee", "01015")]


def test_cog_v_commune_keeps_communes_only():
    df = read_v_commune(FIXTURES / "v_commune_2026_tiny.csv", fixes={})
    assert df.rows() == [
        ("01001", "L'Abergement-Clémenciat", "01", "84"),
        ("01015", "Arboys en Bugey", "01", "84"),
        ("2A004", "Ajaccio", "2A", "94"),
        ("75056", "Paris", "75", "11"),
        ("97411", "Saint-Denis", "974", "04"),
    ]


def test_cog_v_mvt_to_yearly_passage_rows():
    codes = {
        2015: {"01001", "01015", "01340", "27058", "27676", "76676", "14712"},
        2016: {"01001", "01015", "27058", "27676", "76676", "14712"},
        2017: {"01001", "01015", "27058", "27676", "76676", "14712"},
        2018: {"01001", "01015", "27700", "76676", "76601", "14712"},
        2019: {"01001", "01015", "27700", "76676", "76601", "61500"},
    }
    rows = passage_from_mvt(read_v_mvt(FIXTURES / "v_mvt_commune_tiny.csv"), codes, {2018: {"76676": 1800, "76601": 200}})
    assert rows == [
        PassageRow(2015, "01015", "01015", "f", 1.0),  # commune nouvelle on 2016-01-01 keeping its code (the COMD row is ignored)
        PassageRow(2015, "01340", "01015", "f", 1.0),
        PassageRow(2017, "27058", "27700", "f", 1.0),  # fusion in March, then the code change of September: composed
        PassageRow(2017, "27676", "27700", "c", 1.0),
        PassageRow(2017, "76676", "76601", "d", 0.1),  # rétablissement, shared by the 2018 populations
        PassageRow(2017, "76676", "76676", "d", 0.9),
        PassageRow(2018, "14712", "61500", "c", 1.0),  # change of département
    ]
    complete_steps(codes, rows)  # and they agree with the commune lists


def test_cog_v_mvt_rejects_dates_that_are_not_iso(tmp_path):
    bad = tmp_path / "v_mvt_commune_2026.csv"
    bad.write_text("MOD,DATE_EFF,TYPECOM_AV,COM_AV,TYPECOM_AP,COM_AP\n31,01/01/2016,COM,01340,COM,01015\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"v_mvt_commune_2026.csv: column 'DATE_EFF': 1 values are not YYYY-MM-DD"):
        read_v_mvt(bad)


def test_etalab_contours_drop_arrondissements():
    gdf = read_etalab_communes(FIXTURES / "communes-100m_tiny.geojson.gz")
    assert sorted(gdf["code_commune"]) == ["01001", "75056"]
    assert gdf.crs.to_epsg() == 4326
