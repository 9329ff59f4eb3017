"""Publication as a set: versions, one atomic switch, rollback, readers that never see a mix, a publication killed
half-way, and the gate that compares each check's fingerprint with the content being published."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from observatory.publish import PublicationRefused, current_version, publish, published_files, rollback, versions
from observatory.quality.log import record_outcome
from observatory.runs import recover
from observatory.settings import REPO_ROOT, Settings


def build_db(path: Path, value: int, *, checked: bool = True) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        con.execute(f"create or replace table marts.demo as select {value} as v, 'x' || {value} as label")
        if checked:
            record_outcome(con, "marts.demo", "quality", True, run_id=f"r{value}")


def published_value(marts: Path) -> int:
    with duckdb.connect() as con:
        return con.execute("select v from read_parquet($p)", {"p": str(marts / "parquet" / "demo.parquet")}).fetchall()[0][0]


def test_each_publication_is_a_version_made_current_by_one_switch_previous_kept_older_pruned(tmp_path):
    build, marts = tmp_path / "build.duckdb", tmp_path / "marts"
    for value in (1, 2, 3):
        build_db(build, value)
        publish(build, marts, ["marts.demo"], run_id=f"run{value}")
    assert [json.loads((v / "run.json").read_text())["run_id"] for v in versions(marts)] == ["run2", "run3"]
    assert published_value(marts) == 3
    assert os.readlink(marts / "current").startswith("versions/") and os.readlink(marts / "parquet") == "current/parquet"
    with duckdb.connect(str(marts / "observatory.duckdb"), read_only=True) as con:  # the documented path still works
        assert con.execute("select v from marts.demo").fetchall() == [(3,)]
    assert rollback(marts).name == versions(marts)[0].name
    assert published_value(marts) == 2 and json.loads((marts / "run.json").read_text())["run_id"] == "run2"
    with pytest.raises(PublicationRefused, match="no previous publication"):
        rollback(marts)


def test_the_layout_before_versions_is_taken_over(tmp_path):
    build, marts = tmp_path / "build.duckdb", tmp_path / "marts"
    (marts / "parquet").mkdir(parents=True)
    (marts / "parquet" / "old.parquet").write_bytes(b"old")
    (marts / "observatory.duckdb").write_bytes(b"old")
    (marts / "README.md").write_text("kept")
    build_db(build, 1)
    publish(build, marts, ["marts.demo"])
    assert (marts / "parquet").is_symlink() and (marts / "observatory.duckdb").is_symlink()
    assert sorted(p.name for p in (marts / "parquet").iterdir()) == ["demo.parquet"]
    assert (marts / "README.md").read_text() == "kept"
    assert sorted(p.name for p in marts.iterdir() if p.name.startswith(".")) == []  # nothing left aside


def test_a_reader_resolving_current_once_never_sees_a_mix(tmp_path):
    """300 reads during 20 publications: every manifest read matches the Parquet file beside it."""
    build, marts = tmp_path / "build.duckdb", tmp_path / "marts"
    build_db(build, 0)
    publish(build, marts, ["marts.demo"])
    done = threading.Event()

    def publisher():
        for value in range(1, 21):
            build_db(build, value)
            publish(build, marts, ["marts.demo"], run_id=f"run{value}")
        done.set()

    thread = threading.Thread(target=publisher)
    thread.start()
    reads = mixed = 0
    while not done.is_set() or reads < 300:
        folder = Path(os.path.realpath(marts / "current"))  # resolve once, then open every file under it
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            data = (folder / "parquet" / "demo.parquet").read_bytes()
        except FileNotFoundError:  # a version pruned two publications later: a reader re-resolves
            continue
        reads += 1
        mixed += manifest["files"]["parquet/demo.parquet"] != hashlib.sha256(data).hexdigest()
        if reads >= 300 and done.is_set():
            break
    thread.join()
    assert reads >= 300 and mixed == 0
    assert published_value(marts) == 20


KILLED_PUBLICATION = """
import sys, time
from pathlib import Path
from observatory.publish import publish
def hang(version_dir, out_dir):
    out_dir.mkdir()
    (Path(sys.argv[3]) / 'building').write_text('x')
    time.sleep(600)
publish(Path(sys.argv[1]), Path(sys.argv[2]), ['marts.demo'], builders={'site': hang})
"""


def test_a_publication_killed_half_way_leaves_the_previous_set_and_the_next_run_cleans_up(tmp_path):
    import dagster as dg

    settings = Settings(data_dir=tmp_path / "data")
    build, marts = tmp_path / "build.duckdb", settings.marts_dir
    build_db(build, 1)
    publish(build, marts, ["marts.demo"])
    before = published_files(marts)
    build_db(build, 2)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_PUBLICATION, str(build), str(marts), str(tmp_path)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    for _ in range(600):
        if (tmp_path / "building").exists() or proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (tmp_path / "building").exists()
    (staging,) = (marts / "versions").glob(".staging-*")  # database and Parquet written, site half-built, never switched
    assert (staging / "parquet" / "demo.parquet").exists()
    assert published_files(marts) == before and published_value(marts) == 1
    lines: list[str] = []
    with dg.DagsterInstance.ephemeral() as instance:
        recover(settings, instance, say=lines.append)
    assert len(lines) == 1 and lines[0].startswith("Recovered: removed 1 stale staging folder(s) (")
    assert not staging.exists()
    publish(build, marts, ["marts.demo"])
    assert published_value(marts) == 2


def test_the_gate_refuses_content_rebuilt_after_its_check_and_a_declared_check_never_run(tmp_path):
    build, marts = tmp_path / "build.duckdb", tmp_path / "marts"
    build_db(build, 1)
    publish(build, marts, ["marts.demo"], checks={"marts.demo": ["quality"]})
    before = published_files(marts)
    build_db(build, 2, checked=False)  # rebuilt (e.g. by a run killed before its check), last check passed on v=1
    with pytest.raises(PublicationRefused, match=r"content changed since its check for marts.demo \(quality\)"):
        publish(build, marts, ["marts.demo"], checks={"marts.demo": ["quality"]})
    with pytest.raises(PublicationRefused, match=r"never checked: marts.demo \(rows\)"):
        publish(build, marts, ["marts.demo"], checks={"marts.demo": ["quality", "rows"]})
    assert published_files(marts) == before
    with duckdb.connect(str(build)) as con:  # the check runs again, on this content
        record_outcome(con, "marts.demo", "quality", True)
    publish(build, marts, ["marts.demo"], checks={"marts.demo": ["quality"]})
    assert published_value(marts) == 2 and current_version(marts) is not None


def test_a_mart_with_a_fraction_of_the_published_rows_is_refused_unless_the_drop_is_expected(tmp_path):
    build, marts = tmp_path / "build.duckdb", tmp_path / "marts"

    def rows(n: int) -> None:
        with duckdb.connect(str(build)) as con:
            con.execute("create schema if not exists marts")
            con.execute(f"create or replace table marts.demo as select range as v from range({n})")
            record_outcome(con, "marts.demo", "quality", True)

    rows(10)
    publish(build, marts, ["marts.demo"])
    before = published_files(marts)
    rows(8)  # -20 %: at the threshold, published
    publish(build, marts, ["marts.demo"])
    rows(0)  # an empty stock
    with pytest.raises(
        PublicationRefused,
        match=r"marts.demo: 0 rows against 8 in the current publication \(100% fewer\) "
        r"\(blocking above 20% fewer rows .*OBSERVATORY_MAX_ROW_DROP=1\)",
    ):
        publish(build, marts, ["marts.demo"])
    rows(5)
    with pytest.raises(PublicationRefused, match=r"marts.demo: 5 rows against 8 in the current publication \(38% fewer\)"):
        publish(build, marts, ["marts.demo"])
    assert published_files(marts) != before and len(duckdb.sql(f"select * from '{marts}/parquet/demo.parquet'").fetchall()) == 8
    publish(build, marts, ["marts.demo"], max_row_drop=1)  # the setting, when a real change is expected
    assert len(duckdb.sql(f"select * from '{marts}/parquet/demo.parquet'").fetchall()) == 5


def test_a_staging_table_under_its_minimum_or_far_below_the_published_one_is_refused(tmp_path):
    build, marts = tmp_path / "build.duckdb", tmp_path / "marts"

    def stock(n: int) -> None:
        with duckdb.connect(str(build)) as con:
            con.execute("create schema if not exists stg; create schema if not exists marts")
            con.execute(f"create or replace table stg.stock as select range as v from range({n})")
            con.execute("create or replace table marts.demo as select 1 as v")
            record_outcome(con, "marts.demo", "quality", True)

    stock(10)
    publish(build, marts, ["marts.demo"], minimums={"stg.stock": 6})
    assert json.loads((marts / "manifest.json").read_text())["staging_row_counts"] == {"stg.stock": 10}
    before = published_files(marts)
    stock(5)  # under the declared minimum: refused whatever the drop setting says
    for max_row_drop in (0.2, 1):
        with pytest.raises(
            PublicationRefused,
            match=r"^not publishing: stg.stock: 5 rows, below its declared minimum of 6 \(min_rows\) "
            r"\(an empty or partial input: check the source's files; .* lower its min_rows beside its asset",
        ):
            publish(build, marts, ["marts.demo"], minimums={"stg.stock": 6}, max_row_drop=max_row_drop)
    with pytest.raises(PublicationRefused, match=r"^not publishing: stg.missing: 0 rows, below its declared minimum of 1"):
        publish(build, marts, ["marts.demo"], minimums={"stg.missing": 1})
    stock(7)  # above the minimum, 30 % fewer than the stock behind the current publication
    with pytest.raises(
        PublicationRefused,
        match=r"^not publishing: stg.stock: 7 rows against 10 in the current publication \(30% fewer\) "
        r"\(blocking above 20% fewer rows .*OBSERVATORY_MAX_ROW_DROP=1\)$",
    ):
        publish(build, marts, ["marts.demo"], minimums={"stg.stock": 6})
    assert published_files(marts) == before  # byte-identical
    publish(build, marts, ["marts.demo"], minimums={"stg.stock": 6}, max_row_drop=1)  # a real change, expected
    assert json.loads((marts / "manifest.json").read_text())["staging_row_counts"] == {"stg.stock": 7}


def test_a_run_whose_staging_table_is_under_its_declared_minimum_fails_naming_it_and_publishes_nothing(tmp_path):
    """The minimum declared beside the staging asset (metadata min_rows) reaches the gate through the composition
    root's declared_minimums; the run's last line names the table, its count and the minimum."""
    import dagster as dg

    from observatory.__main__ import summary
    from observatory.definitions import declared_minimums, resources_for
    from observatory.publish import MIN_ROWS, publication_asset
    from observatory.resources import Warehouse

    def definitions(settings: Settings, n: int) -> dg.Definitions:
        @dg.asset(key=["stg", "stock"], metadata={MIN_ROWS: 3}, pool="duckdb")
        def stock(warehouse: Warehouse) -> None:
            with warehouse.connect() as con:
                con.execute(f"create or replace table stg.stock as select range as v from range({n})")

        @dg.asset(key=["marts", "demo"], deps=[stock], pool="duckdb")
        def demo(warehouse: Warehouse) -> None:
            with warehouse.connect() as con:
                con.execute("create or replace table marts.demo as select count(*) as n from stg.stock")
                record_outcome(con, "marts.demo", "quality", True)

        base = dg.Definitions(assets=[stock, demo])
        publication = publication_asset([dg.AssetKey(["marts", "demo"])], minimums=declared_minimums(base))
        return dg.Definitions(assets=[stock, demo, publication], resources=resources_for(settings))

    settings = Settings(data_dir=tmp_path / "data")
    results = []
    for n in (4, 2):
        defs = definitions(settings, n)
        with dg.DagsterInstance.ephemeral() as instance:
            result = defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance, raise_on_error=False)
            results.append((result.success, summary(settings, defs, [result], instance, 1.0)[1][-1]))
        if n == 4:
            before = published_files(settings.marts_dir)
    assert results[0][0] and results[1][0] is False
    assert results[1][1] == (
        "FAILED publish/observatory: not publishing: stg.stock: 2 rows, below its declared minimum of 3 (min_rows) (an empty "
        "or partial input: check the source's files; if the table is really that small now, lower its min_rows beside its "
        "asset in assets/<source>/defs.py)"
    )
    assert published_files(settings.marts_dir) == before
