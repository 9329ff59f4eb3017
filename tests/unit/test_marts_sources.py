"""marts.sources and the facility_source label: exact rows on tiny hand-made raw directories, in
each mode a run can read a source (embedded copy, official files, a local directory of the
publisher's files), the lineage behind used_by, and the checks that keep a wrong label unpublished."""

import datetime as dt
import json

import dagster as dg
import duckdb
import pytest

from assets.marts import provenance, suites
from assets.sirene.source import SPEC as SIRENE
from observatory.quality import run_suite
from observatory.resources import Downloader, DownloadError
from assets.catalog import source_specs
from observatory.definitions import lineage_of
from observatory.settings import Settings
from observatory.sources import PlanFile, RemoteFile, SourceSpec, read_source
from tests.sources_fixture import SIRENE_DATA_DATE, content, embed, publisher_files, sha

DEMO = SourceSpec(
    name="demo_src",
    title="Demo",
    publisher="Pub",
    licence="LO",
    homepage="https://example.org/demo",
    cadence="yearly",
    description="d",
    plan=(
        PlanFile("data", embedded="demo.parquet"),
        PlanFile("data", part="a", official=RemoteFile("2025", "https://example.org/a.csv", "a.csv")),
        PlanFile("data", part="b", official=RemoteFile("2025", "https://example.org/b.csv", "b.csv")),
    ),
)
#: Like DREES: nothing to download, official mode reads files saved by hand.
MANUAL = SourceSpec(
    name="manual_src",
    title="Manual",
    publisher="Pub",
    licence="LO",
    homepage="https://example.org/portal",
    cadence="yearly",
    description="d",
    plan=(PlanFile("tab", embedded="tab.parquet", official=RemoteFile("manual", "https://example.org/portal", "tab.csv", manual=True)),),
)
#: Like the DGCL file: no official file declared, the embedded copy is read in every mode.
EMBEDDED_ONLY = SourceSpec(
    name="only_src",
    title="Only",
    publisher="Pub",
    licence="LO",
    homepage="https://example.org/only",
    cadence="yearly",
    description="d",
    plan=(PlanFile("only", embedded="only.parquet"),),
)
SIRENE_DATE_SQL = "max(date_dernier_traitement) filter (where date_dernier_traitement <= now()) of stg.sirene_etablissements"


def _rows(con) -> list[tuple]:
    return con.execute("select * from marts.sources order by source").fetchall()


def _file(spec: SourceSpec, name: str) -> dict:
    data = content(spec, name)
    return {"file": name, "sha256": sha(data), "size": len(data), "origin": f"test copy of {name}", "url": f"https://example.org/{name}"}


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("create schema marts; create schema stg")
    yield c
    c.close()


def test_embedded_run_exact_rows(tmp_path, con):
    raw = tmp_path / "raw"
    embed(raw, SIRENE, synthetic=True, data_date=SIRENE_DATA_DATE)
    embed(raw, DEMO, data_date="2024-06-30")
    dl = Downloader(raw_dir=str(raw), source_mode="embedded")
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    summary = provenance.build_sources(
        con, [read_source(dl, SIRENE), read_source(dl, DEMO)], {"sirene": ["marts.facilities", "marts.operators"], "demo_src": []}
    )
    after = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert _rows(con) == [
        (
            "demo_src",
            "Demo",
            "Pub",
            "LO",
            "https://example.org/demo",
            "yearly",
            "embedded",
            "this run",
            False,
            "2024-06-30",
            "manifest.json",
            "DEMO SRC embedded copy (data date 2024-06-30)",
            [_file(DEMO, "demo.parquet")],
            [],
        ),
        (
            "sirene",
            SIRENE.title,
            "INSEE",
            "Licence Ouverte 2.0",
            SIRENE.homepage,
            "monthly",
            "embedded",
            "this run",
            True,
            "2026-10-31",
            "manifest.json",
            "SIRENE SYNTHETIC sample (data date 2026-10-31)",
            [_file(SIRENE, f) for f in SIRENE.embedded_files],
            ["marts.facilities", "marts.operators"],
        ),
    ]
    # when the files were read is run metadata: in the asset's summary, not in the published rows
    assert before - dt.timedelta(seconds=1) <= dt.datetime.fromisoformat(summary["read_at"]).replace(tzinfo=None) <= after
    assert summary["synthetic"] == ["sirene"]
    assert all(o.success for o in run_suite(con, "marts.sources", suites.SOURCES)), [
        (o.name, o.error, o.examples) for o in run_suite(con, "marts.sources", suites.SOURCES) if not o.success
    ]


def test_a_source_this_run_did_not_read_keeps_the_row_recorded_when_its_tables_were_built(tmp_path, con):
    raw = tmp_path / "raw"
    embed(raw, SIRENE, synthetic=True, data_date=SIRENE_DATA_DATE)
    embed(raw, DEMO, data_date="2024-06-30")
    dl = Downloader(raw_dir=str(raw), source_mode="embedded")
    provenance.build_sources(con, [read_source(dl, SIRENE), read_source(dl, DEMO)], {})
    first = {r[0]: r for r in _rows(con)}
    # DEMO's staging rebuilt (its raw asset not), SIRENE untouched; marts/sources itself reads every raw asset
    parents = {"raw/demo_src": [], "stg/demo": ["raw/demo_src"], "raw/sirene": [], "marts/sources": ["raw/demo_src", "raw/sirene"]}
    assert provenance.read_by_run(parents, ["stg/demo", "marts/sources"], [SIRENE, DEMO]) == {"demo_src"}
    assert provenance.read_by_run(parents, ["marts/sources"], [SIRENE, DEMO]) == set()
    earlier = provenance.earlier_records(con, ["sirene"])
    assert list(earlier) == ["sirene"] and earlier["sirene"] == first["sirene"][6:7] + first["sirene"][8:13]
    embed(raw, SIRENE, synthetic=False, data_date="2027-01-31")  # what a new read would find: not what the tables hold
    summary = provenance.build_sources(con, [read_source(dl, DEMO)], {"sirene": ["marts.facilities"]}, [(SIRENE, earlier["sirene"])])
    rows = {r[0]: r for r in _rows(con)}
    assert rows["demo_src"] == first["demo_src"]
    assert rows["sirene"] == (*first["sirene"][:7], "an earlier run", *first["sirene"][8:13], ["marts.facilities"])
    assert summary["read_by_an_earlier_run"] == ["sirene"] and summary["synthetic"] == ["sirene"]
    assert all(o.success for o in run_suite(con, "marts.sources", suites.SOURCES))


def test_a_modified_embedded_file_is_refused(tmp_path):
    raw = tmp_path / "raw"
    embed(raw, DEMO)
    (raw / "demo_src" / "embedded" / "demo.parquet").write_bytes(b"changed")
    with pytest.raises(DownloadError, match="demo.parquet: sha256 .* does not match the manifest"):
        read_source(Downloader(raw_dir=str(raw)), DEMO)


def test_official_files_downloaded_placed_by_hand_or_saved_manually(tmp_path, con):
    raw = tmp_path / "raw"
    for spec in (DEMO, MANUAL, EMBEDDED_ONLY):
        embed(raw, spec)
    dl = Downloader(raw_dir=str(raw), source_mode="official")
    with pytest.raises(
        DownloadError,
        match=r"demo_src/2025/a.csv: missing; materialize raw/demo_src in official mode first \(it downloads https://example.org/a.csv\)",
    ):
        read_source(dl, DEMO)
    with pytest.raises(DownloadError, match=r"manual/tab.csv: missing; save tab.csv from https://example.org/portal there"):
        read_source(dl, MANUAL)
    (raw / "demo_src" / "2025").mkdir()
    (raw / "demo_src" / "2025" / "a.csv").write_bytes(b"downloaded a\n")
    (raw / "demo_src" / "2025" / "b.csv").write_bytes(b"by hand b\n")
    # the Downloader's manifest records a.csv only (b.csv was copied there by hand)
    (raw / "demo_src" / "2025" / "manifest.json").write_text(
        json.dumps(
            {
                "files": {
                    "a.csv": {
                        "sha256": sha(b"downloaded a\n"),
                        "downloaded_at": "2026-01-02T03:04:05+00:00",
                        "last-modified": "Wed, 31 Dec 2025 10:00:00 GMT",
                    }
                }
            }
        )
    )
    (raw / "manual_src" / "manual").mkdir()
    (raw / "manual_src" / "manual" / "tab.csv").write_bytes(b"table\n")
    provenance.build_sources(con, [read_source(dl, s) for s in (DEMO, MANUAL, EMBEDDED_ONLY)], {})
    assert con.execute(
        "select source, mode, synthetic, data_date, data_date_basis, label, files from marts.sources order by source"
    ).fetchall() == [
        (
            "demo_src",
            "official",
            False,
            "millesime 2025",
            "official millesimes",
            "DEMO SRC official files (data date millesime 2025)",
            [
                {
                    "file": "2025/a.csv",
                    "sha256": sha(b"downloaded a\n"),
                    "size": 13,
                    "origin": "downloaded 2026-01-02T03:04:05+00:00",
                    "url": "https://example.org/a.csv",
                },
                {
                    "file": "2025/b.csv",
                    "sha256": sha(b"by hand b\n"),
                    "size": 10,
                    "origin": "placed by hand (no download manifest)",
                    "url": "https://example.org/b.csv",
                },
            ],
        ),
        (
            "manual_src",
            "official",
            False,
            None,
            None,
            "MANUAL SRC official files (data date not recorded)",
            [
                {
                    "file": "manual/tab.csv",
                    "sha256": sha(b"table\n"),
                    "size": 6,
                    "origin": "saved by hand",
                    "url": "https://example.org/portal",
                },
            ],
        ),
        # no official file declared: the embedded copy is what official mode reads too
        (
            "only_src",
            "embedded",
            False,
            "2024-01-01",
            "manifest.json",
            "ONLY SRC embedded copy (data date 2024-01-01)",
            [_file(EMBEDDED_ONLY, "only.parquet")],
        ),
    ]


def _stock_dates(con, *timestamps: str) -> None:
    con.execute("create or replace table stg.sirene_etablissements (siret varchar, date_dernier_traitement timestamp)")
    con.executemany("insert into stg.sirene_etablissements values (?, ?)", [(f"{i:014d}", t) for i, t in enumerate(timestamps)])


def test_a_local_directory_of_real_files_is_not_synthetic_and_is_dated_by_the_stock(tmp_path, con):
    raw, local = tmp_path / "raw", tmp_path / "insee"
    embed(raw, SIRENE, synthetic=True, data_date=SIRENE_DATA_DATE)  # present, but the local directory wins
    files = publisher_files(local, SIRENE)
    _stock_dates(con, "2025-11-30 21:15:00", "2025-11-02 08:00:00", "2999-01-01 00:00:00")  # a bogus future date is ignored
    read = read_source(Downloader(raw_dir=str(raw), source_mode="embedded", sirene_dir=str(local)), SIRENE)
    provenance.build_sources(con, [read], {"sirene": ["marts.facilities"]})
    assert _rows(con) == [
        (
            "sirene",
            SIRENE.title,
            "INSEE",
            "Licence Ouverte 2.0",
            SIRENE.homepage,
            "monthly",
            "local directory",
            "this run",
            False,
            "2025-11-30",
            SIRENE_DATE_SQL,
            "SIRENE publisher's files from a local directory (data date 2025-11-30)",
            [
                {
                    "file": r.filename,
                    "sha256": sha(files[r.filename]),
                    "size": len(files[r.filename]),
                    "origin": str(local / r.filename),
                    "url": r.url,
                }
                for r in SIRENE.remote_files
            ],
            ["marts.facilities"],
        ),
    ]
    assert all(o.success for o in run_suite(con, "marts.sources", suites.SOURCES))
    _stock_dates(con, "2999-01-01 00:00:00")  # nothing dated up to today
    with pytest.raises(RuntimeError, match="stg.sirene_etablissements: .* is NULL; cannot date source 'sirene'"):
        provenance.build_sources(con, [read], {})


def test_a_local_directory_holding_the_synthetic_sample_says_so(tmp_path):
    local = tmp_path / "copy"
    manifest = embed(local.parent, SIRENE, synthetic=True, data_date=SIRENE_DATA_DATE)
    sample = local.parent / "sirene" / "embedded"
    read = read_source(Downloader(raw_dir=str(tmp_path / "raw"), sirene_dir=str(sample)), SIRENE)
    assert (read.mode, read.synthetic, read.data_date, read.label) == (
        "local directory",
        True,
        "2026-10-31",
        "SIRENE SYNTHETIC sample (data date 2026-10-31)",
    )
    name = SIRENE.remote_files[0].filename
    manifest["files"][name]["sha256"] = "0" * 64
    (sample / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DownloadError, match=f"sha256 of {name} is 000000000000..., the file's is .*the manifest describes other files"):
        read_source(Downloader(raw_dir=str(tmp_path / "raw"), sirene_dir=str(sample)), SIRENE)


def test_facility_source_label_and_the_checks_that_guard_it(tmp_path, con):
    con.execute("create table marts.facilities as select 1 as n")
    assert provenance.stamp_facility_source(con, "marts.facilities") == provenance.NOT_RECORDED
    rule = [suites.FACILITY_SOURCE_RULE]
    assert not run_suite(con, "marts.facilities", rule)[0].success  # no marts.sources: never published
    raw = tmp_path / "raw"
    embed(raw, SIRENE, synthetic=True, data_date=SIRENE_DATA_DATE)
    provenance.build_sources(con, [read_source(Downloader(raw_dir=str(raw)), SIRENE)], {})
    con.execute("create or replace table marts.facilities as select 1 as n")
    assert provenance.stamp_facility_source(con, "marts.facilities") == "SIRENE SYNTHETIC sample (data date 2026-10-31)"
    assert con.execute("select * from marts.facilities").fetchall() == [(1, "SIRENE SYNTHETIC sample (data date 2026-10-31)")]
    assert run_suite(con, "marts.facilities", rule)[0].success
    con.execute("update marts.facilities set facility_source = 'SIRENE stock (data date 2026-10-31)'")
    outcome = run_suite(con, "marts.facilities", rule)[0]
    assert not outcome.success and outcome.unexpected_count == 1
    # a synthetic source whose label hides it is refused too
    con.execute("update marts.sources set label = 'SIRENE embedded copy (data date 2026-10-31)'")
    by_name = {o.name: o for o in run_suite(con, "marts.sources", suites.SOURCES)}
    assert not by_name["a synthetic source says SYNTHETIC in its label, a real one does not"].success


def test_used_by_follows_the_lineage_but_not_through_marts_sources():
    a = SourceSpec(name="a", title="a", publisher="p", licence="l", homepage="h", cadence="yearly", description="d")
    b = SourceSpec(name="b", title="b", publisher="p", licence="l", homepage="h", cadence="yearly", description="d")
    K = dg.AssetKey
    specs = [
        dg.AssetSpec(a.raw_key),
        dg.AssetSpec(b.raw_key),
        dg.AssetSpec(K(["stg", "a"]), deps=[a.raw_key]),
        dg.AssetSpec(K(["marts", "x"]), deps=[K(["stg", "a"])]),
        dg.AssetSpec(provenance.SOURCES_KEY, deps=[a.raw_key, b.raw_key]),
        dg.AssetSpec(K(["marts", "y"]), deps=[b.raw_key, provenance.SOURCES_KEY]),
        dg.AssetSpec(K(["marts", "z"]), deps=[K(["marts", "x"]), K(["marts", "y"])]),
    ]
    parents = lineage_of(specs).parents()
    assert provenance.used_by(parents, [a, b]) == {"a": ["marts.x", "marts.z"], "b": ["marts.y", "marts.z"]}


def test_every_source_of_the_project_is_found_and_its_lineage_is_derived():
    from observatory.definitions import build_definitions

    defs = build_definitions(Settings())
    graph = defs.resolve_asset_graph()
    specs = source_specs()
    raw_keys = {k for k in graph.get_all_asset_keys() if k.path[0] == "raw"}
    assert {s.raw_key for s in specs} == raw_keys  # no raw asset without its spec, no spec without its raw asset
    assert [s.name for s in specs] == ["caf", "cog", "contours", "dgcl_epci", "drees", "etalab_epci", "insee_epci", "sirene"]
    used = provenance.used_by(defs.resources["lineage"].parents(), specs)  # what the composition root hands in
    facility_marts = sorted(s.table for s in provenance.C.FACILITY_DERIVED)
    assert used["sirene"] == facility_marts  # exactly the marts that carry facility_source
    assert used["contours"] == ["marts.epci_indicators"]  # polygons feed the map layer only
    territory = {"marts.commune_epci", "marts.epci_lineage", "marts.epci_mergers"}
    assert territory <= set(used["insee_epci"]) and not territory & set(used["caf"])
    assert all("marts.sources" not in marts for marts in used.values())
