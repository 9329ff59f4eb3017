"""Framework pieces that every source relies on: settings, the downloader, embedded sources, publication."""

import json
from pathlib import Path

import duckdb
import pytest

from observatory.publish import PublicationRefused, publish
from observatory.quality.log import record_outcome
from observatory.resources import Downloader, DownloadError, check_not_html, qualified, sha256_of
from observatory.settings import Settings
from observatory.sources import PlanFile, SourceSpec, verify_embedded


def test_settings_from_env_defaults_are_offline_and_embedded(tmp_path):
    s = Settings.from_env({"OBSERVATORY_DATA_DIR": str(tmp_path)})
    assert s.offline is True
    assert s.source_mode == "embedded"
    assert s.build_db == tmp_path / "build" / "observatory_build.duckdb"
    assert s.marts_dir == tmp_path / "marts"


def test_settings_rejects_unknown_mode():
    with pytest.raises(ValueError, match="OBSERVATORY_SOURCE_MODE='online'"):
        Settings(source_mode="online")


def test_qualified_rejects_anything_but_layer_dot_name():
    assert qualified("stg.communes") == "stg.communes"
    for bad in ("communes", "tmp.x", "stg.x; drop table y", "stg.X"):
        with pytest.raises(ValueError):
            qualified(bad)


def test_offline_download_of_missing_file_names_file_and_fix(tmp_path):
    d = Downloader(raw_dir=str(tmp_path), offline=True)
    with pytest.raises(DownloadError) as err:
        d.fetch(source="insee_epci", millesime="2017", url="https://example.invalid/x.zip", filename="x.zip", licence="LO")
    msg = str(err.value)
    assert "insee_epci/2017/x.zip" in msg and "OBSERVATORY_OFFLINE" in msg and "https://example.invalid/x.zip" in msg


def test_offline_download_of_present_file_returns_it(tmp_path):
    target = tmp_path / "cog" / "2024" / "v_commune_2024.csv"
    target.parent.mkdir(parents=True)
    target.write_text("TYPECOM,COM\n")
    d = Downloader(raw_dir=str(tmp_path), offline=True)
    assert d.fetch(source="cog", millesime="2024", url="u", filename="v_commune_2024.csv", licence="LO") == target


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "empty file"),
        (b"  <!DOCTYPE html><html><body>503</body></html>", "HTML page"),
        (b"<html><head>", "HTML page"),
        (b"garbage", "is not a ZIP archive"),
    ],
)
def test_check_not_html_rejects_error_pages(tmp_path, content, expected):
    f = tmp_path / "Intercommunalite_Metropole_au_01-01-2017.zip"
    f.write_bytes(content)
    with pytest.raises(DownloadError, match=expected) as err:
        check_not_html(f, url="https://www.insee.fr/x.zip", expect_magic=(b"PK\x03\x04",))
    assert f.name in str(err.value)


def test_online_fetch_writes_manifest_and_skips_unchanged(tmp_path, monkeypatch):
    import requests

    calls = {"get": 0}
    payload = b"PK\x03\x04" + b"x" * 100

    class FakeResp:
        status_code = 200
        ok = True
        headers = {"ETag": '"abc"', "Content-Length": str(len(payload))}

        def iter_content(self, n):
            yield payload

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    def fake_get(url, stream, timeout):
        calls["get"] += 1
        return FakeResp()

    monkeypatch.setattr(requests, "get", fake_get)
    monkeypatch.setattr(requests, "head", lambda url, allow_redirects, timeout: FakeResp())
    d = Downloader(raw_dir=str(tmp_path), offline=False)
    kw = dict(source="insee_epci", millesime="2017", url="https://x/y.zip", filename="y.zip", licence="LO", expect_magic=(b"PK\x03\x04",))
    path = d.fetch(**kw)
    manifest = json.loads((path.parent / "manifest.json").read_text())["files"]["y.zip"]
    assert manifest["sha256"] == sha256_of(path) and manifest["size"] == len(payload) and manifest["licence"] == "LO"
    assert manifest["url"] == "https://x/y.zip"
    d.fetch(**kw)
    assert calls["get"] == 1  # second call: same ETag/length and sha256 -> no download


def test_verify_embedded_detects_modified_file(tmp_path):
    folder = tmp_path / "raw" / "demo" / "embedded"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("x\n1\n")
    (folder / "manifest.json").write_text(json.dumps({"files": {"a.csv": {"sha256": sha256_of(folder / "a.csv")}}}))
    spec = SourceSpec(
        name="demo",
        title="t",
        publisher="p",
        licence="LO",
        homepage="https://x",
        cadence="yearly",
        description="d",
        plan=(PlanFile("a", embedded="a.csv"),),
    )
    d = Downloader(raw_dir=str(tmp_path / "raw"))
    assert "a.csv" in verify_embedded(d, spec)["files"]
    (folder / "a.csv").write_text("x\n1\n2\n")
    with pytest.raises(DownloadError, match="does not match the manifest"):
        verify_embedded(d, spec)


def _build_db(path: Path, value: int, check_passed: bool | None = None) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists marts")
    con.execute(f"create or replace table marts.demo as select {value} as v")
    con.execute("comment on table marts.demo is 'demo mart'")
    con.execute("comment on column marts.demo.v is 'a value'")
    if check_passed is not None:  # the check's outcome, with the fingerprint of the content it saw
        record_outcome(con, "marts.demo", "quality", check_passed)
    con.close()


def test_publish_writes_db_parquet_manifest_and_comments(tmp_path):
    build, marts = tmp_path / "build.duckdb", tmp_path / "marts"
    _build_db(build, 1, check_passed=True)
    manifest = publish(build, marts, ["marts.demo"], run_id="r1")
    assert manifest["row_counts"] == {"demo": 1}
    con = duckdb.connect(str(marts / "observatory.duckdb"), read_only=True)
    assert con.execute("select v from marts.demo").fetchall() == [(1,)]
    assert con.execute("select comment from duckdb_tables() where table_name='demo'").fetchone()[0] == "demo mart"
    assert con.execute("select comment from duckdb_columns() where table_name='demo'").fetchone()[0] == "a value"
    con.close()
    assert duckdb.sql(f"select v from '{marts / 'parquet' / 'demo.parquet'}'").fetchall() == [(1,)]
    assert json.loads((marts / "run.json").read_text())["run_id"] == "r1"  # the run's record; manifest.json has the content only
    assert "run_id" not in json.loads((marts / "manifest.json").read_text())
    assert not list(marts.glob("versions/.staging-*"))


def test_publish_refuses_after_failed_check_and_keeps_previous_files(tmp_path):
    build, marts = tmp_path / "build.duckdb", tmp_path / "marts"
    _build_db(build, 1, check_passed=True)
    publish(build, marts, ["marts.demo"])
    before = {p: p.read_bytes() for p in marts.rglob("*") if p.is_file()}
    _build_db(build, 2, check_passed=False)
    with pytest.raises(PublicationRefused, match=r"marts.demo \(quality\)"):
        publish(build, marts, ["marts.demo"])
    after = {p: p.read_bytes() for p in marts.rglob("*") if p.is_file()}
    assert after == before


def test_reader_of_published_db_keeps_old_version_during_republication(tmp_path):
    build, marts = tmp_path / "build.duckdb", tmp_path / "marts"
    _build_db(build, 1, check_passed=True)
    publish(build, marts, ["marts.demo"])
    reader = duckdb.connect(str(marts / "observatory.duckdb"), read_only=True)
    _build_db(build, 2, check_passed=True)
    publish(build, marts, ["marts.demo"])  # must not be blocked by the open reader
    assert reader.execute("select v from marts.demo").fetchall() == [(1,)]
    reader.close()
    fresh = duckdb.connect(str(marts / "observatory.duckdb"), read_only=True)
    assert fresh.execute("select v from marts.demo").fetchall() == [(2,)]
    fresh.close()


def test_raw_asset_prefers_local_directory_of_publisher_files(tmp_path):
    import dagster as dg

    from observatory.sources import RemoteFile, raw_asset

    local = tmp_path / "insee"
    local.mkdir()
    duckdb.sql(f"copy (select 1 as a) to '{local / 'Stock.parquet'}' (format parquet)")
    spec = SourceSpec(
        name="demo",
        title="t",
        publisher="p",
        licence="LO",
        homepage="https://x",
        cadence="monthly",
        description="d",
        plan=(PlanFile("stock", local="Stock.parquet", official=RemoteFile("2026-11", "https://x/Stock.parquet", "Stock.parquet")),),
        local_dir_field="sirene_dir",
    )
    asset = raw_asset(spec)
    res = dg.materialize([asset], resources={"downloader": Downloader(raw_dir=str(tmp_path / "raw"), sirene_dir=str(local))})
    meta = res.asset_materializations_for_node(asset.op.name)[0].metadata
    assert meta["mode"].value == "local directory (sirene_dir)"
    assert meta["synthetic"].value is False
    assert meta["sha256"].value == sha256_of(local / "Stock.parquet")
    (local / "Stock.parquet").unlink()
    with pytest.raises(DownloadError, match="Stock.parquet: missing; sirene_dir must hold"):
        dg.materialize([asset], resources={"downloader": Downloader(raw_dir=str(tmp_path / "raw"), sirene_dir=str(local))})
