"""Identical inputs give byte-identical published files (issue 15 item 7): every Parquet, GeoParquet, site file
and ``manifest.json``; ``run.json`` (run id, time, version, build seconds, the DuckDB file's sha256) is the one
file that differs, and the DuckDB file, whose bytes are not stable, has the same tables row for row."""

import json
from pathlib import Path

import dagster as dg
import duckdb

import tiny_graph
from observatory.publish import DATABASE, GEO_STAGING, RUN_RECORD, content_digest, current_version, publish
from observatory.quality.log import record_outcome
from observatory.settings import Settings


def files(version: Path) -> dict[str, bytes]:
    return {str(p.relative_to(version)): p.read_bytes() for p in sorted(version.rglob("*")) if p.is_file()}


def assert_same_publication(a: Path, b: Path) -> dict[str, bytes]:
    """Every file of the two versions byte-identical but run.json and the database, whose tables are compared."""
    fa, fb = files(a), files(b)
    assert sorted(fa) == sorted(fb)
    differ = sorted(k for k in fa if fa[k] != fb[k] and k not in (RUN_RECORD, DATABASE))
    assert differ == []
    assert content_digest(a / DATABASE) == content_digest(b / DATABASE)
    assert json.loads(fa[RUN_RECORD])["run_id"] != json.loads(fb[RUN_RECORD])["run_id"]
    return fa


def build_db(path: Path, order: str) -> None:
    """The same rows (fractions, a list, NULLs) stored in another order, as two runs' parallel steps leave them."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.demo as select i, 1.0 / (i + 3) as share, [i, i * 2] as codes, "
            f"case when i % 3 = 0 then null else 'c' || i end as label from range(50) t(i) order by {order}"
        )
        con.execute("comment on table marts.demo is 'Demo'")
        record_outcome(con, "marts.demo", "quality", True, run_id=order)


def tiny_site(version: Path, out: Path) -> dict:
    """A site made from the staged manifest, as assets/site reads it."""
    out.mkdir()
    (out / "index.html").write_text(f"publication {json.loads((version / 'manifest.json').read_text())['publication']}")
    return {"pages": 1}


def test_the_same_rows_in_another_order_publish_the_same_files(tmp_path):
    published = []
    for order in ("i", "i desc"):
        build, marts = tmp_path / f"{order}.duckdb", tmp_path / f"marts-{order}"
        build_db(build, order)
        publish(build, marts, ["marts.demo"], run_id=f"run-{order}", builders={"site": tiny_site})
        published.append(current_version(marts))
    fa = assert_same_publication(*published)
    manifest = json.loads(fa["manifest.json"])
    assert "run_id" not in manifest and "published_at" not in manifest
    assert manifest["row_counts"] == {"demo": 50} and sorted(manifest["files"]) == ["parquet/demo.parquet"]
    assert fa["site/index.html"].decode() == f"publication {manifest['publication']}"
    with duckdb.connect() as con:  # written in the one order, whatever order the build left
        assert [
            r[0] for r in con.execute("select i from read_parquet($p)", {"p": str(published[0] / "parquet/demo.parquet")}).fetchall()
        ] == list(range(50))


def test_two_runs_of_the_tiny_graph_publish_the_same_files(tmp_path):
    """Two whole runs (guarded_run, checks, gate, publication) whose mart sums fractions over rows in another
    random order each time."""
    published = []
    for name in ("first", "second"):
        settings = Settings(data_dir=tmp_path / name)
        with dg.DagsterInstance.ephemeral() as instance:
            assert tiny_graph.run(settings, instance, "floats", say=lambda _: None).success
        published.append(current_version(settings.marts_dir))
    fa = assert_same_publication(*published)
    assert json.loads(fa["manifest.json"])["row_counts"] == {"tiny": 5}


def test_the_embedded_marts_rebuilt_and_republished_are_the_same_files(embedded_world, tmp_path):
    """The embedded world's marts rebuilt from its staging tables (another run of every builder, the merger study's
    bootstrap included) and published again, site and map layers included: the gate finds every checked fingerprint
    unchanged and every published file is the same."""
    from assets.marts.build import rebuild_marts
    from assets.site.build import build_site
    from observatory.definitions import build_definitions, declared_minimums

    world = embedded_world.settings
    before = current_version(world.marts_dir)
    build = tmp_path / "build" / "observatory_build.duckdb"
    build.parent.mkdir()
    embedded_world.copy_build_db(build.parent)
    with duckdb.connect(str(build)) as con:
        rebuild_marts(con, world.seed, geo_dir=world.build_db.parent / "geo", geo_out_dir=build.parent / GEO_STAGING)
    tables = [f"marts.{t}" for t in json.loads((before / "manifest.json").read_text())["row_counts"]]
    # the same staging minimums as the composition root gives the publication (they are what the manifest's
    # staging_row_counts lists)
    minimums = declared_minimums(build_definitions(world))
    publish(
        build,
        tmp_path / "marts",
        tables,
        geo_dir=build.parent / GEO_STAGING,
        run_id="again",
        builders={"site": build_site},
        minimums=minimums,
    )
    fa = assert_same_publication(before, current_version(tmp_path / "marts"))
    assert sum(k.startswith("site/") for k in fa) > 100 and sum(k.startswith("geo/") for k in fa) >= 2
