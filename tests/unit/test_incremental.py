"""Recompute only what changed (observatory.incremental) on a hand-made graph of three sources:

    raw/a -> stg/a -> marts/m <- stg/b <- raw/b        raw/c -> stg/c (no mart)

each raw asset versioned by the sha256 of its file, each other asset writing its table in a DuckDB file.
"""

import hashlib
import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from observatory.incremental import code_version, package_code, raw_data_version, stale, with_code_versions

K = dg.AssetKey.from_user_string


def _graph(folder: Path, *, check_passes: bool = True, mart_code: str = "1") -> dg.Definitions:
    db = folder / "build.duckdb"

    def raw(name: str):
        @dg.asset(key=["raw", name])
        def _raw() -> dg.MaterializeResult:
            sha = hashlib.sha256((folder / f"{name}.csv").read_bytes()).hexdigest()
            return dg.MaterializeResult(data_version=raw_data_version([(f"{name}.csv", sha)]))

        return _raw

    def table(key: str, deps: list[str]):
        @dg.asset(key=K(key), deps=[K(d) for d in deps])
        def _table() -> None:
            with duckdb.connect(str(db)) as con:
                con.execute(f"create schema if not exists {key.split('/')[0]}")
                con.execute(f"create or replace table {key.replace('/', '.')} as select 1 as x")

        return _table

    @dg.asset_check(asset=K("stg/b"), blocking=True)
    def b_is_fine() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=check_passes)

    sources = with_code_versions(
        dg.Definitions(
            assets=[raw("a"), raw("b"), raw("c"), table("stg/a", ["raw/a"]), table("stg/b", ["raw/b"]), table("stg/c", ["raw/c"])],
            asset_checks=[b_is_fine],
        ),
        "1",
    )
    marts = with_code_versions(dg.Definitions(assets=[table("marts/m", ["stg/a", "stg/b"])]), mart_code)
    return dg.Definitions.merge(sources, marts)


def _build(defs: dg.Definitions, instance: dg.DagsterInstance, keys: list[str] | None = None) -> None:
    graph = defs.resolve_asset_graph()
    selection = [K(k) for k in keys] if keys is not None else list(graph.materializable_asset_keys)
    job = defs.resolve_implicit_global_asset_job_def()
    assert job.execute_in_process(instance=instance, asset_selection=selection, raise_on_error=False).success


def _plan(defs, instance, folder):
    keys = [k for k in defs.resolve_asset_graph().materializable_asset_keys if k.path[0] != "raw"]
    plan = stale(defs, instance, keys, build_db=folder / "build.duckdb")
    return {k.to_user_string(): why for k, why in plan.why.items()}, sorted(k.to_user_string() for k in plan.skip)


@pytest.fixture
def world(tmp_path):
    for name in "abc":
        (tmp_path / f"{name}.csv").write_text(f"{name}\n1\n")
    instance = dg.DagsterInstance.ephemeral()
    defs = _graph(tmp_path)
    _build(defs, instance)
    yield tmp_path, instance, defs
    instance.dispose()


def test_nothing_is_recomputed_when_nothing_changed(world):
    folder, instance, defs = world
    _build(defs, instance, ["raw/a", "raw/b", "raw/c"])  # the inputs phase re-verifies every file
    assert _plan(defs, instance, folder) == ({}, ["marts/m", "stg/a", "stg/b", "stg/c"])


def test_a_changed_file_recomputes_its_source_and_its_descendants_only(world):
    folder, instance, defs = world
    (folder / "a.csv").write_text("a\n2\n")
    _build(defs, instance, ["raw/a", "raw/b", "raw/c"])
    assert _plan(defs, instance, folder) == ({"stg/a": "inputs changed", "marts/m": "downstream of stg/a"}, ["stg/b", "stg/c"])


def test_changed_code_recomputes_the_assets_of_that_code(world):
    folder, instance, _ = world
    assert _plan(_graph(folder, mart_code="2"), instance, folder) == ({"marts/m": "code changed"}, ["stg/a", "stg/b", "stg/c"])


def test_a_missing_table_is_rebuilt_even_when_dagster_says_fresh(world):
    folder, instance, defs = world
    with duckdb.connect(str(folder / "build.duckdb")) as con:
        con.execute("drop table stg.c")
    assert _plan(defs, instance, folder) == ({"stg/c": "table missing from the build database"}, ["marts/m", "stg/a", "stg/b"])


def test_an_asset_whose_check_failed_runs_again_with_what_it_feeds(tmp_path):
    for name in "abc":
        (tmp_path / f"{name}.csv").write_text(f"{name}\n1\n")
    instance = dg.DagsterInstance.ephemeral()
    failing = _graph(tmp_path, check_passes=False)
    failing.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance, raise_on_error=False)
    # stg/b materialized, its blocking check failed, marts/m never ran: both run next time, stg/b first
    assert _plan(failing, instance, tmp_path) == (
        {"stg/b": "a check did not pass on its last materialization", "marts/m": "table missing from the build database"},
        ["stg/a", "stg/c"],
    )


def test_a_non_table_asset_runs_when_its_output_is_missing(world):
    folder, instance, _ = world

    @dg.asset(key=["publish", "x"], deps=[K("marts/m")], code_version="1")
    def publish_x() -> None: ...

    defs = dg.Definitions.merge(_graph(folder), dg.Definitions(assets=[publish_x]))
    _build(defs, instance, ["publish/x"])
    keys = [K("publish/x")]
    assert stale(defs, instance, keys, build_db=folder / "build.duckdb").why == {K("publish/x"): "output missing"}
    assert stale(defs, instance, keys, build_db=folder / "build.duckdb", present=keys).skip == frozenset(keys)


def test_code_version_follows_the_files_and_the_parameters(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "rule.sql").write_text("select 1")
    (pkg / "notes.md").write_text("not code")
    first = code_version(pkg)
    assert code_version(pkg) == first
    (pkg / "notes.md").write_text("still not code")
    assert code_version(pkg) == first
    assert code_version(pkg, parameters="seed=2") != first
    (pkg / "rule.sql").write_text("select 2")
    assert code_version(pkg) != first


def test_raw_data_version_is_the_set_of_files():
    one = raw_data_version([("a.csv", "1"), ("b.csv", "2")])
    assert raw_data_version([("b.csv", "2"), ("a.csv", "1")]) == one
    assert raw_data_version([("a.csv", "1")]) != one
    assert raw_data_version([("a.csv", "1"), ("b.csv", "3")]) != one


def test_a_package_code_covers_what_it_imports_transitively(tmp_path):
    for name, text in {"a": "from assets.b import x\n", "b": "import assets.c.y\n", "c": "", "d": "from assets.a import z\n"}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "m.py").write_text(text)
    (tmp_path / "catalog.py").write_text("")
    (tmp_path / "c" / "m.py").write_text("from assets.catalog import t\n")
    assert [p.name for p in package_code("a", tmp_path)] == ["a", "b", "c", "catalog.py"]
    assert [p.name for p in package_code("c", tmp_path)] == ["c", "catalog.py"]


def test_a_local_file_is_hashed_once_until_it_changes(tmp_path: Path):
    from observatory.resources import RACY_NS, sha256_cached

    f, cache = tmp_path / "StockEtablissement_utf8.parquet", tmp_path / "build" / "file_sha256.json"
    f.write_bytes(b"month 1")
    first = sha256_cached(f, cache)
    assert first == hashlib.sha256(b"month 1").hexdigest()
    (entry,) = json.loads(cache.read_text()).values()
    assert entry["identity"][0] == 7 and entry["sha256"] == first
    # just written, just hashed: not trusted yet (a rewrite in the same clock tick would keep the identity)
    cache.write_text(json.dumps({str(f.resolve()): {**entry, "sha256": "remembered"}}))
    assert sha256_cached(f, cache) == first
    # hashed well after its last change: the cache answers while the identity holds (a planted value proves it)
    trusted = {**entry, "sha256": "remembered", "hashed_at_ns": entry["identity"][2] + RACY_NS + 1}
    cache.write_text(json.dumps({str(f.resolve()): trusted}))
    assert sha256_cached(f, cache) == "remembered"
    f.write_bytes(b"month 2, bigger")  # next month's file: another identity, hashed again
    assert sha256_cached(f, cache) == hashlib.sha256(b"month 2, bigger").hexdigest()
    assert sha256_cached(f, None) == hashlib.sha256(b"month 2, bigger").hexdigest()  # no cache: always hashed
