"""The territory graph materializes end to end on a tiny hand-made France (embedded format).

Six communes, 2015-2026: two EPCI merge on 1 January 2017; a commune nouvelle in 2018 and a code
change in 2021 must not show up as EPCI changes; an island stays outside any EPCI; Paris answers
for its arrondissements; a commune of La Réunion lands in the DROM polygon file.
"""

import hashlib
import json
from pathlib import Path

import dagster as dg
import duckdb
import geopandas as gpd
import polars as pl
import pytest
from shapely.geometry import box

import assets.cog.defs as cog_defs
import assets.contours.defs as contours_defs
import assets.dgcl_epci.defs as dgcl_defs
import assets.etalab_epci.defs as etalab_defs
import assets.insee_epci.defs as insee_defs
import assets.territory.defs as territory_defs
from observatory.definitions import resources_for
from observatory.__main__ import execute
from assets.common.years import YEARS as YEARLY
from observatory.partitions import all_years_tags
from observatory.publish import publication_asset
from observatory.settings import Settings
from tests.readme import readme_queries

YEARS = range(2015, 2027)
E1, E2, N, MGP, REU, LYON, AMP = "200000008", "200000016", "200000099", "200054781", "249740119", "200046977", "200054807"
# commune -> (name, département, région) ; the code history: 01002 merges into 01001 on 1 January 2018,
# 01003 becomes 01005 on 1 January 2021.
COMMUNES = {
    "01001": "Alpha",
    "01002": "Beta",
    "01003": "Gamma",
    "01004": "Delta",
    "22016": "Île-de-Bréhat",
    "75056": "Paris",
    "69123": "Lyon",
    "13055": "Marseille",
    "97411": "Saint-Denis",
}
REGION = {"01": "84", "22": "53", "75": "11", "69": "84", "13": "93", "974": "04"}
POP = {
    "01001": 1000,
    "01002": 300,
    "01003": 200,
    "01004": 500,
    "22016": 400,
    "75056": 2_100_000,
    "69123": 500_000,
    "13055": 870_000,
    "97411": 150_000,
}
PLM = {"75056": MGP, "69123": LYON, "13055": AMP}


def codes(year: int) -> list[str]:
    c = dict.fromkeys(COMMUNES)
    if year >= 2018:
        c.pop("01002")
    if year >= 2021:
        c.pop("01003")
        c["01005"] = None
    return sorted(c)


def epci(year: int, code: str) -> str | None:
    if code == "22016":
        return None
    if code in PLM:
        return PLM[code]
    if code == "97411":
        return REU
    if year <= 2016:
        return E1 if code in ("01001", "01002") else E2
    return N


NAMES = {
    E1: "CC Un",
    E2: "CC Deux",
    N: "CA Nouvelle",
    MGP: "Métropole du Grand Paris",
    REU: "CINOR",
    LYON: "Métropole de Lyon",
    AMP: "Métropole d'Aix-Marseille-Provence",
}
NATURE = {E1: "CC", E2: "CC", N: "CA", MGP: "ME", REU: "CA", LYON: "ME", AMP: "ME"}


def dep(code: str) -> str:
    return code[:3] if code.startswith("97") else code[:2]


def name(code: str) -> str:
    return COMMUNES.get(code, "Gamma-Nouveau")


def _write(raw: Path, source: str, files: dict[str, object]) -> None:
    d = raw / source / "embedded"
    d.mkdir(parents=True, exist_ok=True)
    manifest = {"synthetic": True, "data_date": "test", "files": {}}
    for fname, frame in files.items():
        path = d / fname
        if isinstance(frame, gpd.GeoDataFrame):
            frame.to_parquet(path)
        else:
            frame.write_parquet(path)
        manifest["files"][fname] = {
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "size": path.stat().st_size,
            "origin": "test",
            "url": "",
        }
    (d / "manifest.json").write_text(json.dumps(manifest))


def build_tiny_france(raw: Path) -> None:
    cog_rows = [(c, name(c), float(POP.get(c, 200)), y) for y in range(2015, 2025) for c in codes(y)]
    passage = [
        ("2017", "2018", "01001", "01001", "2018-01-01", "f", "1.0"),
        ("2017", "2018", "01002", "01001", "2018-01-01", "f", "1.0"),
        ("2020", "2021", "01003", "01005", "01/01/2021", "c", "1.0"),
    ]
    _write(
        raw,
        "cog",
        {
            "communes_pop_2015_2024.parquet": pl.DataFrame(
                cog_rows, schema=["CODGEO", "LIBGEO", "POP", "cog_year"], orient="row"
            ).with_columns(pl.col("cog_year").cast(pl.Int32)),
            "passage_communes_2015_2024.parquet": pl.DataFrame(
                passage, schema=["cog_from", "cog_to", "cod_old", "cod_new", "annee", "typemodif", "ratio"], orient="row"
            ),
            "historiq_modifs_communales.parquet": pl.DataFrame(
                {"MOD": ["500"], "EFF": ["2014-01-07"], "C_LOFF": ["01004"], "C_LANC": ["01904"]}
            ),
        },
    )
    # INSEE 2015 still uses the former code 01904 for Delta (as it did for L'Oudon): fixed by the historiq alias.
    insee = [
        (
            y,
            "01904" if (y == 2015 and c == "01004") else c,
            name(c),
            dep(c),
            REGION[dep(c)],
            epci(y, c) or "ZZZZZZZZZ",
            NATURE.get(epci(y, c), "ZZ"),
        )
        for y in range(2015, 2020)
        for c in codes(y)
    ]
    libelles = [(y, e, NAMES[e], "1") for y in range(2015, 2020) for e in sorted({epci(y, c) for c in codes(y)} - {None})]
    _write(
        raw,
        "insee_epci",
        {
            "appartenance_epci_2015_2019.parquet": pl.DataFrame(
                insee, schema=["annee", "CODGEO", "LIBGEO", "DEP", "REG", "EPCI", "NATURE_EPCI"], orient="row"
            ).with_columns(pl.col("annee").cast(pl.Int32)),
            "libelles_epci_2015_2019.parquet": pl.DataFrame(
                libelles, schema=["annee", "CODGEO", "LIBGEO", "NB_COM"], orient="row"
            ).with_columns(pl.col("annee").cast(pl.Int32)),
        },
    )
    etalab_type = {"CC": "CC", "CA": "CA", "ME": "METRO"}
    comp = [
        (str(y), epci(y, c), NAMES[epci(y, c)], "MET69" if epci(y, c) == LYON else etalab_type[NATURE[epci(y, c)]], "FPU", c, name(c))
        for y in range(2019, 2027)
        for c in codes(y)
        if epci(y, c)
    ]
    communes = [
        (str(y), c, name(c), "commune-actuelle", dep(c), REGION[dep(c)], str(POP.get(c, 200)), "")
        for y in (2019, *range(2021, 2027))
        for c in codes(y)
    ]
    communes += [(str(y), "75101", "Paris 1er", "arrondissement-municipal", "75", "11", "16000", "") for y in (2019, *range(2021, 2027))]
    links = [(str(y), "01002", "commune-deleguee", "01001") for y in (2024, 2025, 2026)]
    _write(
        raw,
        "etalab_epci",
        {
            "epci_composition_2019_2026.parquet": pl.DataFrame(
                comp,
                schema=["annee", "epci_siren", "epci_nom", "epci_type", "mode_financement", "commune_code", "commune_nom"],
                orient="row",
            ),
            "communes_2019_2026.parquet": pl.DataFrame(
                communes, schema=["annee", "code", "nom", "type", "departement", "region", "population", "codes_postaux"], orient="row"
            ),
            "communes_rattachement_2024_2026.parquet": pl.DataFrame(links, schema=["annee", "code", "type", "code_parent"], orient="row"),
        },
    )
    dgcl = [
        (
            y,
            epci(y, c),
            NAMES[epci(y, c)],
            NATURE[epci(y, c)],
            "FPU",
            "2",
            "0",
            "0",
            c.lstrip("0") if c.startswith("0") else c,
            "2",
            name(c),
            str(POP.get(c, 200)),
            "0",
        )
        for y in range(2014, 2018)
        for c in codes(max(y, 2015))
        if epci(y, c)
    ]
    _write(
        raw,
        "dgcl_epci",
        {
            "epcicom_2014_2017.parquet": pl.DataFrame(
                dgcl,
                schema=[
                    "annee",
                    "siren",
                    "nom",
                    "nature",
                    "fiscalite",
                    "nb_com",
                    "ptot",
                    "pmun",
                    "insee",
                    "siren_com",
                    "nom_com",
                    "ptot_com",
                    "pmun_com",
                ],
                orient="row",
            ).with_columns(pl.col("annee").cast(pl.Int32))
        },
    )
    position = {
        "01001": (5.0, 46.0),
        "01002": (5.1, 46.0),
        "01003": (5.2, 46.0),
        "01005": (5.2, 46.0),
        "01004": (5.3, 46.0),
        "22016": (-3.0, 48.85),
        "75056": (2.3, 48.85),
        "69123": (4.8, 45.7),
        "13055": (5.4, 43.3),
        "97411": (55.45, -20.9),
    }

    def layer(year: int, keep_drom: bool) -> gpd.GeoDataFrame:
        cs = [c for c in codes(year) if keep_drom or not c.startswith("97")]
        if year == 2016:  # france-geojson 2016 lists Paris by arrondissement
            cs = [c for c in cs if c != "75056"] + ["75101"]
            position["75101"] = position["75056"]
        return gpd.GeoDataFrame(
            {"code_commune": cs}, geometry=[box(*position[c], position[c][0] + 0.1, position[c][1] + 0.1) for c in cs], crs=4326
        )

    _write(
        raw,
        "contours",
        {
            "communes_2016.parquet": layer(2016, True),
            "communes_2018.parquet": layer(2018, True),
            "communes_2021_metro.parquet": layer(2021, False),
            "communes_2024_metro.parquet": layer(2024, False),
        },
    )


RAW_ASSETS = [insee_defs.raw_insee_epci, etalab_defs.raw_etalab_epci, cog_defs.raw_cog, dgcl_defs.raw_dgcl_epci, contours_defs.raw_contours]
#: The territorial graph: the five sources' raw -> stg (their packages) and the territory's int and marts.
PACKAGES = [insee_defs, etalab_defs, cog_defs, dgcl_defs, contours_defs, territory_defs]
TERRITORY_GRAPH = [a for m in PACKAGES for a in (m.defs.assets or [])]
TERRITORY_CHECKS = [c for m in PACKAGES for c in (m.defs.asset_checks or [])]
MART_KEYS = [dg.AssetKey(["marts", n]) for n in ("commune_epci", "epci_lineage", "epci_mergers")]
PARTITIONED = [dg.AssetKey(["stg", n]) for n in ("communes", "epci_membership", "epci")]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    data = tmp_path_factory.mktemp("tiny") / "data"
    build_tiny_france(data / "raw")
    settings = Settings(data_dir=data)
    # As ``python -m observatory run`` does it: one run, every year of the partitioned assets.
    defs = dg.Definitions(assets=[*TERRITORY_GRAPH, publication_asset(MART_KEYS)], resources=resources_for(settings))
    instance = dg.DagsterInstance.ephemeral()
    result = execute(defs, instance)
    assert result.success
    con = duckdb.connect(str(settings.build_db), read_only=True)
    yield settings, con, result
    con.close()
    instance.dispose()


def test_the_one_command_run_records_every_year_of_every_partitioned_asset(tiny):
    _, con, result = tiny
    for key in PARTITIONED:
        partitions = sorted(e.materialization.partition for e in result.get_asset_materialization_events() if e.asset_key == key)
        assert partitions == [str(y) for y in YEARS], key
    assert con.execute("select annee, count(*) from stg.communes group by 1 order by 1").fetchall() == [(y, len(codes(y))) for y in YEARS]


def test_every_commune_of_every_year_has_one_membership_row(tiny):
    _, con, _ = tiny
    counts = con.execute("select annee, count(*), count(epci_siren) from stg.epci_membership group by 1 order by 1").fetchall()
    assert counts == [(y, len(codes(y)), len(codes(y)) - 1) for y in YEARS]
    assert con.execute("select distinct code_commune from stg.epci_membership where epci_siren is null").fetchall() == [("22016",)]
    # INSEE 2015's former code 01904 was brought to the COG code 01004, and recorded
    assert con.execute("select epci_siren from stg.epci_membership where annee = 2015 and code_commune = '01004'").fetchall() == [(E2,)]


def test_the_fusion_is_the_only_epci_change(tiny):
    _, con, _ = tiny
    rows = con.execute(
        "select annee, type_evenement, epci_siren, epci_nom, predecessors, successors, communes, n_communes, population, perimetre_identique from marts.epci_mergers"
    ).fetchall()
    assert rows == [(2017, "fusion", N, "CA Nouvelle", [E1, E2], [N], ["01001", "01002", "01003", "01004"], 4, 2000, True)]


def test_lineage_shares(tiny):
    _, con, _ = tiny
    rows = con.execute(
        "select epci_siren_avant, epci_siren_apres, n_communes, population, share_population_avant, share_population_apres "
        "from marts.epci_lineage where annee = 2017 and epci_siren_apres = ? order by 1",
        [N],
    ).fetchall()
    assert rows == [(E1, N, 2, 1300, 1.0, 0.65), (E2, N, 2, 700, 1.0, 0.35)]
    # the 2018 commune nouvelle and the 2021 code change keep the EPCI whole
    assert con.execute(
        "select n_communes, share_communes_avant from marts.epci_lineage where annee in (2018, 2021) and epci_siren_avant = ? order by annee",
        [N],
    ).fetchall() == [(4, 1.0), (3, 1.0)]


def test_commune_x_in_year_y(tiny):
    _, con, _ = tiny
    q = "select code_commune_annee, method, estimated, epci_siren from marts.commune_epci where code_commune = ? and annee = ?"
    assert con.execute(q, ["01002", 2016]).fetchall() == [("01002", "identique", False, E1)]
    assert con.execute(q, ["01002", 2026]).fetchall() == [("01001", "fusion", False, N)]
    assert con.execute(q, ["01001", 2015]).fetchall() == [("01001", "retour_code_conserve", True, E1)]
    assert con.execute(q, ["01005", 2015]).fetchall() == [("01003", "changement_code", False, E2)]
    assert con.execute(q, ["75101", 2020]).fetchall() == [("75056", "arrondissement", False, MGP)]
    assert con.execute(q, ["69381", 2015]).fetchall() == [("69123", "arrondissement", False, LYON)]
    assert con.execute("select count(*) from marts.commune_epci").fetchall() == [((10 + 45) * 12,)]  # 10 codes + the 45 arrondissements


def test_epci_counts_and_lyon_flag(tiny):
    _, con, _ = tiny
    assert con.execute("select annee, count(*) from stg.epci group by 1 order by 1").fetchall() == [
        (y, 6 if y <= 2016 else 5) for y in YEARS
    ]
    assert con.execute("select distinct epci_siren, epci_nature from stg.epci where not epci_a_fiscalite_propre").fetchall() == [
        (LYON, "MET69")
    ]
    assert con.execute("select population from stg.epci where annee = 2017 and epci_siren = ?", [N]).fetchall() == [(2000,)]


def test_dgcl_codes_zero_padded_and_recorded(tiny):
    _, con, result = tiny
    assert con.execute("select count(*) from stg.dgcl_epci_membership where code_commune like '01%'").fetchall()[0][0] == 4 * 4
    meta = result.asset_materializations_for_node("stg__dgcl_epci_membership")[0].metadata
    assert meta["fixes"].value["insee: zero-padded to 5 characters"]["count"] == 16


def test_polygons_per_year_and_zone_with_their_crs(tiny):
    settings, con, _ = tiny
    rows = con.execute("select annee, zone, epci_siren, crs, n_communes from int.epci_polygons order by 1, 2, 3").fetchall()
    plm = [(LYON, 2154, 1), (MGP, 2154, 1), (AMP, 2154, 1)]
    assert [r for r in rows if r[0] == 2017] == [(2017, "974", REU, 2975, 1), (2017, "metro", N, 2154, 4)] + [
        (2017, "metro", *p) for p in plm
    ]
    assert [r for r in rows if r[0] == 2016] == [
        (2016, "974", REU, 2975, 1),
        (2016, "metro", E1, 2154, 2),
        (2016, "metro", E2, 2154, 2),
    ] + [(2016, "metro", *p) for p in plm]
    reunion = gpd.read_parquet(settings.build_dir / "geo" / "epci_2024_974.parquet")
    assert reunion.crs.to_epsg() == 2975 and list(reunion["epci_siren"]) == [REU]
    assert 300_000 < reunion.geometry.iloc[0].centroid.x < 400_000  # UTM 40S: La Réunion at its real position
    assert sorted(p.name for p in (settings.build_dir / "geo").glob("epci_*.parquet")) == sorted(
        f"epci_{y}_{z}.parquet" for y in (2016, 2017, 2018, 2021, 2024) for z in ("974", "metro")
    )


def test_marts_are_published_with_their_comments(tiny):
    settings, _, _ = tiny
    pub = duckdb.connect(str(settings.marts_dir / "observatory.duckdb"), read_only=True)
    try:
        comment = pub.execute("select comment from duckdb_tables() where table_name = 'epci_mergers'").fetchall()[0][0]
        assert comment.startswith("EPCI changes on 1 January of annee")
        col = pub.execute(
            "select comment from duckdb_columns() where table_name = 'epci_lineage' and column_name = 'share_population_avant'"
        ).fetchall()
        assert col == [("share of the predecessor's population (0-1)",)]
    finally:
        pub.close()
    assert (settings.marts_dir / "parquet" / "commune_epci.parquet").exists()


def test_the_documented_queries_answer_on_the_published_database(tiny):
    settings, _, _ = tiny
    queries = readme_queries()
    fusion_sql, commune_sql = queries["fusions_2017"], queries["commune_epci"]
    pub = duckdb.connect(str(settings.marts_dir / "observatory.duckdb"), read_only=True)
    try:
        assert pub.execute(fusion_sql).fetchall() == [
            (N, "CA Nouvelle", E1, "CC Un", 2, 1300, 0.65),
            (N, "CA Nouvelle", E2, "CC Deux", 2, 700, 0.35),
        ]
        for year in YEARS:
            q = commune_sql.replace("'64102'", "'01002'").replace("annee = 2016", f"annee = {year}")
            (row,) = pub.execute(q).fetchall()
            assert row[3] == (E1 if year <= 2016 else N)
    finally:
        pub.close()


def test_a_bad_membership_file_stops_the_graph_and_nothing_is_published(tmp_path):
    data = tmp_path / "data"
    build_tiny_france(data / "raw")
    comp_path = data / "raw" / "etalab_epci" / "embedded" / "epci_composition_2019_2026.parquet"
    comp = pl.read_parquet(comp_path)
    pl.concat([comp, comp.head(1)]).write_parquet(comp_path)  # a duplicated commune
    manifest = json.loads((comp_path.parent / "manifest.json").read_text())
    manifest["files"][comp_path.name]["sha256"] = hashlib.sha256(comp_path.read_bytes()).hexdigest()
    (comp_path.parent / "manifest.json").write_text(json.dumps(manifest))
    result = dg.materialize(
        [*TERRITORY_GRAPH, publication_asset(MART_KEYS)],
        resources=resources_for(Settings(data_dir=data)),
        raise_on_error=False,
        tags=all_years_tags(YEARLY),
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "stg__epci_membership"
    message = failure.event_specific_data.error.cause.message
    assert "epci_composition_2019_2026.parquet (annee 2019)" in message and "more than once in column(s) ['commune_code']" in message
    assert not (data / "marts" / "observatory.duckdb").exists()
