"""The marts assets run by Dagster on the hand-made world (upstream tables seeded in a private build
database, tiny stand-ins for every source's raw files), their blocking checks pass, and publication
writes files with the documented schemas, comments, the map layers and the provenance of every figure:
SYNTHETIC on the embedded SIRENE sample, not on real files read from OBSERVATORY_SIRENE_DIR."""

from pathlib import Path

import dagster as dg
import duckdb
import geopandas as gpd
import pyarrow.parquet as pq
import pytest
from shapely.geometry import box

from assets.marts import columns as C
from assets.marts.defs import defs as marts_defs
from assets.sirene.source import SPEC as SIRENE
from observatory.definitions import build_definitions, resources_for
from observatory.publish import GEO_STAGING, publish
from observatory.settings import Settings
from assets.catalog import source_specs
from tests.readme import readme_queries
from tests.sources_fixture import embed_all, publisher_files

WORLD = Path(__file__).resolve().parents[1] / "fixtures" / "marts" / "world.sql"
MY_MARTS = [t for t in C.SPECS if t.startswith("marts.")]
FACILITY_MARTS = sorted(s.table for s in C.FACILITY_DERIVED)
SYNTHETIC = "SIRENE SYNTHETIC sample (data date 2026-10-31)"


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
    drom = gpd.GeoDataFrame(
        {"epci_siren": ["249720061"], "epci_nom": ["CA Test"], "annee": 2018},
        geometry=[box(700_000, 1_600_000, 710_000, 1_610_000)],
        crs="EPSG:5490",
    )
    drom.to_parquet(geo_dir / "epci_2018_972.parquet")


def _materialize(settings: Settings, world_sql: str = "") -> dg.ExecuteInProcessResult:
    settings.build_dir.mkdir(parents=True)
    con = duckdb.connect(str(settings.build_db))
    con.execute(WORLD.read_text() + world_sql)
    con.close()
    _polygons(settings.build_dir / "geo")
    embed_all(settings.raw_dir, source_specs())
    # the project's lineage, as the composition root hands it to marts.sources (used_by)
    resources = resources_for(settings, build_definitions(settings).resources["lineage"])
    return dg.materialize([*marts_defs.assets, *marts_defs.asset_checks], resources=resources, raise_on_error=False)


def _published(settings: Settings) -> duckdb.DuckDBPyConnection:
    publish(settings.build_db, settings.marts_dir, MY_MARTS, geo_dir=settings.build_dir / GEO_STAGING)
    return duckdb.connect(str(settings.marts_dir / "observatory.duckdb"), read_only=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
    return settings, _materialize(settings)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The same world, SIRENE read from a local directory of real-format files (no manifest)."""
    local = tmp_path_factory.mktemp("insee")
    publisher_files(local, SIRENE)
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), sirene_dir=local)
    stock = (
        "; create table stg.sirene_etablissements as select * from (values ('10000000100011', timestamp '2018-12-31 22:10:00'), "
        "('10000000200012', timestamp '2018-11-05 09:00:00')) v(siret, date_dernier_traitement)"
    )
    return settings, _materialize(settings, stock), local


def test_every_asset_materializes_and_every_check_passes(run):
    _, result = run
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"int/facility_territory_years", *[t.replace(".", "/") for t in MY_MARTS]}
    evaluations = result.get_asset_check_evaluations()
    # One set of named checks per table of the column spec, each with its key check.
    assert {e.asset_key.to_user_string().replace("/", ".") for e in evaluations if e.check_name == "unique_key"} == set(C.SPECS)
    assert all(e.passed for e in evaluations), [(e.asset_key, e.metadata.get("failures")) for e in evaluations if not e.passed]


def test_metadata_reports_share_joined_and_map_layers(run):
    _, result = run
    meta = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert meta["int/facility_territory_years"]["share_joined_epci_year"].value == pytest.approx(26 / 32, abs=1e-6)
    layers = meta["marts/epci_indicators"]["map_layers"].data
    assert set(layers) == {"metro", "972", "france"}
    assert layers["metro"]["features"] == 4 and "2154" in layers["metro"]["crs"]
    assert layers["france"]["features"] == 5 and layers["france"]["crs"] == "EPSG:4326"  # every zone, one national layer


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
        unit = pub.execute(
            "select comment from duckdb_columns() where table_name = 'ess_market_share' and column_name = 'share_facilities'"
        ).fetchone()[0]
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


def test_published_facility_figures_say_they_come_from_the_synthetic_sample(run):
    settings, result = run
    assert result.success
    pub = _published(settings)
    try:
        for table in FACILITY_MARTS:
            assert pub.execute(f"select distinct facility_source from {table}").fetchall() == [(SYNTHETIC,)], table
            name = table.split(".")[1]
            parquet = pq.read_table(settings.marts_dir / "parquet" / f"{name}.parquet", columns=["facility_source"])
            assert set(parquet.column("facility_source").to_pylist()) == {SYNTHETIC}, name
        rows = pub.execute("select source, mode, synthetic, label, used_by, len(files) from marts.sources order by source").fetchall()
        assert [r[0] for r in rows] == [s.name for s in source_specs()]
        assert all(r[1] == "embedded" and r[5] == len(next(s for s in source_specs() if s.name == r[0]).embedded_files) for r in rows)
        assert [r[0] for r in rows if r[2]] == ["sirene"]
        sirene = next(r for r in rows if r[0] == "sirene")
        assert sirene[3] == SYNTHETIC and sirene[4] == FACILITY_MARTS  # used_by: the project's lineage
    finally:
        pub.close()
    metro = gpd.read_parquet(settings.marts_dir / "geo" / "epci_indicators_metro.parquet")
    assert set(metro["facility_source"]) == {SYNTHETIC}  # the map layer carries it too


def test_the_readme_sources_query_answers(run):
    settings, _ = run
    pub = _published(settings)
    try:
        rows = pub.execute(readme_queries()["sources"]).fetchall()
    finally:
        pub.close()
    sirene = next(r for r in rows if r[0] == "sirene")
    assert len(rows) == len(source_specs())
    assert sirene == ("sirene", "embedded", True, "2026-10-31", SYNTHETIC, 5, FACILITY_MARTS)


def test_real_files_from_a_local_directory_are_not_labelled_synthetic(local_run):
    settings, result, local = local_run
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    real = "SIRENE publisher's files from a local directory (data date 2018-12-31)"
    pub = _published(settings)
    try:
        for table in FACILITY_MARTS:
            assert pub.execute(f"select distinct facility_source from {table}").fetchall() == [(real,)], table
        row = pub.execute(
            "select mode, synthetic, data_date, label, [f.origin for f in files] from marts.sources where source = 'sirene'"
        ).fetchone()
        assert row == ("local directory", False, "2018-12-31", real, [str(local / r.filename) for r in SIRENE.remote_files])
        assert pub.execute("select count(*) from marts.sources where mode = 'embedded' and not synthetic").fetchone()[0] == 7
    finally:
        pub.close()
