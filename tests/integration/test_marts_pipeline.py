"""The marts assets run by Dagster on the hand-made world (upstream tables seeded in a private build
database), their blocking checks pass, and publication writes files with the documented schemas,
comments and the map layers."""

from pathlib import Path

import dagster as dg
import duckdb
import geopandas as gpd
import pyarrow.parquet as pq
import pytest
from shapely.geometry import box

from assets.marts import columns as C
from assets.marts.defs import defs as marts_defs
from observatory.publish import GEO_STAGING, publish
from observatory.resources import Parameters, Warehouse
from observatory.settings import Settings

WORLD = Path(__file__).resolve().parents[1] / "fixtures" / "marts" / "world.sql"
MY_MARTS = [t for t in C.SPECS if t.startswith("marts.")]


def _polygons(geo_dir: Path) -> None:
    geo_dir.mkdir(parents=True, exist_ok=True)
    sirens = ["200000003", "200000004", "200000005", "200000011"]
    metro = gpd.GeoDataFrame(
        {"epci_siren": sirens, "epci_nom": sirens, "annee": 2018},
        geometry=[box(800_000 + 10_000 * i, 6_500_000, 805_000 + 10_000 * i, 6_505_000) for i in range(4)],
        crs="EPSG:2154",
    )
    metro.to_parquet(geo_dir / "epci_2018_metro.parquet")
    metro.iloc[:2].to_parquet(geo_dir / "epci_2016_metro.parquet")  # an older year: ignored
    drom = gpd.GeoDataFrame({"epci_siren": ["249720061"], "epci_nom": ["CA Test"], "annee": 2018},
                            geometry=[box(700_000, 1_600_000, 710_000, 1_610_000)], crs="EPSG:5490")
    drom.to_parquet(geo_dir / "epci_2018_972.parquet")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
    settings.build_dir.mkdir(parents=True)
    con = duckdb.connect(str(settings.build_db))
    con.execute(WORLD.read_text())
    con.close()
    _polygons(settings.build_dir / "geo")
    resources = {
        "warehouse": Warehouse(path=str(settings.build_db), published_dir=str(settings.marts_dir)),
        "parameters": Parameters(seed=settings.seed),
    }
    result = dg.materialize(
        [*marts_defs.assets, *marts_defs.asset_checks],
        resources=resources,
        raise_on_error=False,
    )
    return settings, result


def test_every_asset_materializes_and_every_check_passes(run):
    _, result = run
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"int/facility_territory_years", *[t.replace(".", "/") for t in MY_MARTS]}
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == len(C.SPECS)
    assert all(e.passed for e in evaluations), [(e.asset_key, e.metadata.get("failures")) for e in evaluations if not e.passed]


def test_metadata_reports_share_joined_and_map_layers(run):
    _, result = run
    meta = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert meta["int/facility_territory_years"]["share_joined_epci_year"].value == pytest.approx(26 / 32, abs=1e-6)
    layers = meta["marts/epci_indicators"]["map_layers"].data
    assert set(layers) == {"metro", "972"}
    assert layers["metro"]["features"] == 4 and "2154" in layers["metro"]["crs"]


def test_publication_files_have_the_documented_schemas_and_comments(run):
    settings, _ = run
    manifest = publish(settings.build_db, settings.marts_dir, MY_MARTS, geo_dir=settings.build_dir / GEO_STAGING)
    for table in MY_MARTS:
        spec = C.SPECS[table]
        name = table.split(".")[1]
        schema = pq.read_schema(settings.marts_dir / "parquet" / f"{name}.parquet")
        assert schema.names == spec.names, table
        assert manifest["row_counts"][name] > 0
    pub = duckdb.connect(str(settings.marts_dir / "observatory.duckdb"), read_only=True)
    try:
        for table in MY_MARTS:
            schema, name = table.split(".")
            cols = pub.execute(
                "select column_name, data_type, comment from duckdb_columns() where schema_name = ? and table_name = ? order by column_index",
                [schema, name],
            ).fetchall()
            assert [(c[0], c[1]) for c in cols] == [(c.name, c.type) for c in C.SPECS[table].columns], table
            assert all(c[2] for c in cols), f"{table}: a column without comment"
            assert pub.execute("select comment from duckdb_tables() where schema_name = ? and table_name = ?", [schema, name]).fetchone()[0]
        unit = pub.execute("select comment from duckdb_columns() where table_name = 'ess_market_share' and column_name = 'share_facilities'").fetchone()[0]
        assert unit.endswith("[unit: share (0-1)]")
    finally:
        pub.close()
    metro = gpd.read_parquet(settings.marts_dir / "geo" / "epci_indicators_metro.parquet")
    assert metro.crs.to_epsg() == 2154 and len(metro) == 4
    assert set(metro.columns) >= {"epci_siren", "polygon_year", "share_ess", "n_facilities", "geometry"}
    fusion = metro.set_index("epci_siren").loc["200000011"]
    assert (fusion["n_facilities"], fusion["share_lucratif"], fusion["polygon_year"]) == (4, 0.25, 2018)
    drom = gpd.read_parquet(settings.marts_dir / "geo" / "epci_indicators_972.parquet")
    assert drom.crs.to_epsg() == 5490 and drom["n_facilities"].isna().all()  # a polygon without indicators stays, with NULLs
