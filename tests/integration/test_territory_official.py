"""Official mode end to end: the tiny France of test_territory_graph written as the publishers
publish it (INSEE zips, Etalab JSON, COG CSVs, Etalab contours), read offline, gives the same tables
as the embedded mode."""

import gzip
import io
import json
import zipfile
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from shapely.geometry import box, mapping

from assets.contours.source import OFFICIAL_YEARS as CONTOUR_YEARS
from assets.etalab_epci.source import VERSIONS
from assets.insee_epci.source import SPEC as INSEE_SPEC
from observatory.definitions import resources_for
from observatory.settings import Settings
from test_territory_graph import (
    COMMUNES,
    LYON,
    MART_KEYS,
    NAMES,
    NATURE,
    POP,
    REGION,
    TERRITORY_GRAPH,
    build_tiny_france,
    codes,
    dep,
    epci,
    name,
)
from assets.common.years import YEARS as YEARLY
from observatory.partitions import all_years_tags
from observatory.publish import publication_asset

TITLE_ROWS = [["Intercommunalité - Métropole au 1er janvier"], ["Source : Insee"], [], ["Champ : France"], []]


def _insee_zip(path: Path, year: int) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "EPCI"
    for r in TITLE_ROWS:
        ws.append(r)
    ws.append(["EPCI", "LIBEPCI", "NATURE_EPCI", "NB_COM"])
    for e in sorted({epci(year, c) for c in codes(year)} - {None}):
        ws.append([e, NAMES[e], NATURE[e], "1"])
    ws.append(["ZZZZZZZZZ", "Sans objet", "ZZ", "1"])
    ws = wb.create_sheet("Composition_communale")
    for r in TITLE_ROWS:
        ws.append(r)
    ws.append(["CODGEO", "LIBGEO", "EPCI", "LIBEPCI", "DEP", "REG"])
    for c in codes(year):
        e = epci(year, c)
        ws.append([c, name(c), e or "ZZZZZZZZZ", NAMES[e] if e else "Sans objet", dep(c), REGION[dep(c)]])
    buf = io.BytesIO()
    wb.save(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(path.stem.replace("Intercommunalite_", "Intercommunalite-") + ".xlsx", buf.getvalue())


def _write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")


def build_official(raw: Path) -> None:
    build_tiny_france(raw)  # the embedded copies: official mode still reads 2015 and DGCL from them
    for remote in INSEE_SPEC.remote_files:
        _insee_zip(raw / "insee_epci" / remote.millesime / remote.filename, int(remote.millesime))
    for year in VERSIONS:
        members = {}
        for c in codes(year):
            if epci(year, c):
                members.setdefault(epci(year, c), []).append({"code": c, "nom": name(c)})
        _write_json(
            raw / "etalab_epci" / str(year) / "epci.json",
            [
                {
                    "code": e,
                    "nom": NAMES[e],
                    "type": "METLYON" if e == LYON else {"ME": "METRO"}.get(NATURE[e], NATURE[e]),
                    "modeFinancement": "FPU",
                    "membres": m,
                }
                for e, m in sorted(members.items())
            ],
        )
        if year != 2020:
            _write_json(
                raw / "etalab_epci" / str(year) / "communes.json",
                [
                    {
                        "code": c,
                        "nom": name(c),
                        "type": "commune-actuelle",
                        "departement": dep(c),
                        "region": REGION[dep(c)],
                        "population": POP.get(c, 200),
                    }
                    for c in codes(year)
                ],
            )
    mvt = (
        "MOD,DATE_EFF,TYPECOM_AV,COM_AV,TNCC_AV,NCC_AV,NCCENR_AV,LIBELLE_AV,TYPECOM_AP,COM_AP,TNCC_AP,NCC_AP,NCCENR_AP,LIBELLE_AP\n"
        "50,2014-01-07,COM,01904,0,D,D,Delta,COM,01004,0,D,D,Delta\n"
        "32,2018-01-01,COM,01001,0,A,A,Alpha,COM,01001,0,A,A,Alpha\n"
        "32,2018-01-01,COM,01002,0,B,B,Beta,COM,01001,0,A,A,Alpha\n"
        "32,2018-01-01,COM,01002,0,B,B,Beta,COMD,01002,0,B,B,Beta\n"
        "41,2021-01-01,COM,01003,0,G,G,Gamma,COM,01005,0,G,G,Gamma-Nouveau\n"
    )
    for year in (2024, 2025, 2026):
        d = raw / "cog" / str(year)
        d.mkdir(parents=True, exist_ok=True)
        (d / f"v_mvt_commune_{year}.csv").write_text(mvt, encoding="utf-8")
        lines = ["TYPECOM,COM,REG,DEP,CTCD,ARR,TNCC,NCC,NCCENR,LIBELLE,CAN,COMPARENT"]
        lines += [f"COM,{c},{REGION[dep(c)]},{dep(c)},,,0,X,X,{name(c)},," for c in codes(year)]
        lines += ["ARM,75101,11,75,,,0,P,P,Paris 1er,,75056"]
        (d / f"v_commune_{year}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    position = {"01001": 5.0, "01005": 5.2, "01004": 5.3, "22016": -3.0, "75056": 2.3, "69123": 4.8, "13055": 5.4}
    for year in CONTOUR_YEARS:
        feats = [
            {
                "type": "Feature",
                "properties": {"code": c, "nom": name(c)},
                "geometry": mapping(box(55.45, -20.9, 55.55, -20.8) if c == "97411" else box(position[c], 46.0, position[c] + 0.1, 46.1)),
            }
            for c in codes(year)
        ]
        feats.append(
            {
                "type": "Feature",
                "properties": {"code": "75101", "nom": "Paris 1er", "commune": "75056"},
                "geometry": mapping(box(2.3, 46.0, 2.31, 46.01)),
            }
        )
        path = raw / "contours" / str(year) / "communes-100m.geojson.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            json.dump({"type": "FeatureCollection", "features": feats}, fh)


def _tables(db: Path) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "membership": con.execute(
                "select annee, code_commune, epci_siren, epci_nature from stg.epci_membership order by all"
            ).fetchall(),
            "epci": con.execute(
                "select annee, epci_siren, epci_nom, epci_nature, n_communes, epci_a_fiscalite_propre from stg.epci order by all"
            ).fetchall(),
            "passage": con.execute(
                "select annee_from, code_from, code_to, typemodif, ratio from stg.commune_passage order by all"
            ).fetchall(),
            "code_map": con.execute("select * from int.commune_code_map order by all").fetchall(),
            "mergers": con.execute("select * exclude (population) from marts.epci_mergers order by all").fetchall(),
            "communes": con.execute(
                "select annee, code_commune, nom_commune, code_departement, code_region from stg.communes order by all"
            ).fetchall(),
            "polygons": con.execute("select annee, zone, epci_siren, crs, n_communes from int.epci_polygons order by all").fetchall(),
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    out = {}
    for mode in ("embedded", "official"):
        data = tmp_path_factory.mktemp(mode) / "data"
        (build_official if mode == "official" else build_tiny_france)(data / "raw")
        settings = Settings(data_dir=data, source_mode=mode, offline=True)
        result = dg.materialize(
            [*TERRITORY_GRAPH, publication_asset(MART_KEYS)],
            resources=resources_for(settings),
            raise_on_error=False,
            tags=all_years_tags(YEARLY),
        )
        failures = [e.event_specific_data.error.message[:500] for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        assert failures == [] and result.success
        out[mode] = _tables(settings.build_db)
    return out


@pytest.mark.parametrize("table", ["membership", "epci", "passage", "code_map", "mergers", "communes"])
def test_official_and_embedded_modes_agree(both, table):
    assert both["official"][table] == both["embedded"][table]


def test_official_mode_polygons_come_from_etalab_years(both):
    years = sorted({r[0] for r in both["official"]["polygons"]})
    assert years == list(CONTOUR_YEARS)
    assert ("974" in {r[1] for r in both["official"]["polygons"]}) and all(
        (r[1] == "metro") == (r[3] == 2154) for r in both["official"]["polygons"]
    )


def test_the_communes_of_tiny_france_are_those_of_the_fixture():
    assert set(codes(2015)) == set(COMMUNES)
