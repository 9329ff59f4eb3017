"""The one resolver of file plans (observatory.sources.resolve): which files a run reads, for which years."""

import json

import pytest

from observatory.resources import Downloader, sha256_of
from observatory.sources import EMBEDDED, LOCAL, OFFICIAL, PlanError, PlanFile, RemoteFile, SourceSpec, resolve, resolve_one, years


def _remote(name: str, year: int) -> RemoteFile:
    return RemoteFile(str(year), f"https://example.org/{year}/{name}", name)


A = SourceSpec(
    name="a",
    title="a",
    publisher="p",
    licence="l",
    homepage="h",
    cadence="yearly",
    description="d",
    plan=(
        PlanFile("list", years((2015, 2018)), embedded="a_2015_2018.parquet"),
        *(PlanFile("list", (y,), official=_remote("a.csv", y)) for y in (2017, 2018)),
        PlanFile("moves", years((2015, 2017)), official=_remote("mvt_2018.csv", 2018)),
        PlanFile("moves", years((2015, 2018)), official=_remote("mvt_2019.csv", 2019)),  # a newer edition supersedes
        PlanFile("shapes", (2016,), embedded="metro.parquet", part="metro"),
        PlanFile("shapes", (2016,), embedded="drom.parquet", part="drom"),
    ),
)
B = SourceSpec(
    name="b",
    title="b",
    publisher="p",
    licence="l",
    homepage="h",
    cadence="yearly",
    description="d",
    local_dir_field="sirene_dir",
    plan=(PlanFile("list", years((2018, 2020)), embedded="b_2018_2020.parquet", local="b.parquet"),),
)


def _files(raw, spec, official=False):
    d = raw / spec.name / "embedded"
    d.mkdir(parents=True, exist_ok=True)
    for name in spec.embedded_files:
        (d / name).write_bytes(b"PAR1 fake PAR1")  # head and footer magic: passes the sniff
    (d / "manifest.json").write_text(json.dumps({"files": {n: {"sha256": sha256_of(d / n)} for n in spec.embedded_files}}))
    if official:
        for r in spec.remote_files:
            (raw / spec.name / r.millesime).mkdir(parents=True, exist_ok=True)
            (raw / spec.name / r.millesime / r.filename).write_text("x")


def _show(files):
    return [(f.spec.name, f.variant, f.path.name, f.years) for f in files]


def test_embedded_mode_takes_each_year_from_the_first_source_covering_it(tmp_path):
    _files(tmp_path, A), _files(tmp_path, B)
    dl = Downloader(raw_dir=str(tmp_path), source_mode="embedded")
    assert _show(resolve(dl, [(A, "list"), (B, "list")], range(2016, 2021))) == [
        ("a", EMBEDDED, "a_2015_2018.parquet", (2016, 2017, 2018)),
        ("b", EMBEDDED, "b_2018_2020.parquet", (2019, 2020)),
    ]
    assert _show(resolve(dl, [(A, "list"), (B, "list")])) == [  # years=None: every year covered
        ("a", EMBEDDED, "a_2015_2018.parquet", (2015, 2016, 2017, 2018)),
        ("b", EMBEDDED, "b_2018_2020.parquet", (2019, 2020)),
    ]
    with pytest.raises(PlanError, match=r"a:list \(embedded\) / b:list \(embedded\) covers \[2021\]; add the year's entry"):
        resolve(dl, [(A, "list"), (B, "list")], [2020, 2021])


def test_official_mode_reads_the_publishers_files_and_falls_back_to_the_embedded_copy(tmp_path):
    _files(tmp_path, A, official=True), _files(tmp_path, B)
    dl = Downloader(raw_dir=str(tmp_path), source_mode="official")
    assert _show(resolve_one(dl, A, "list")) == [
        ("a", EMBEDDED, "a_2015_2018.parquet", (2015, 2016)),
        ("a", OFFICIAL, "a.csv", (2017,)),
        ("a", OFFICIAL, "a.csv", (2018,)),
    ]
    assert [f.path.parent.name for f in resolve_one(dl, A, "list", [2017, 2018])] == ["2017", "2018"]
    with pytest.raises(PlanError, match=r"covers \[2015, 2016\]"):
        resolve_one(dl, A, "list", [2015, 2016, 2017], fallback=False)
    # a newer edition wins every year it covers
    assert _show(resolve_one(dl, A, "moves")) == [("a", OFFICIAL, "mvt_2019.csv", (2015, 2016, 2017, 2018))]


def test_parts_complement_each_other(tmp_path):
    _files(tmp_path, A)
    dl = Downloader(raw_dir=str(tmp_path), source_mode="embedded")
    assert _show(resolve_one(dl, A, "shapes")) == [("a", EMBEDDED, "metro.parquet", (2016,)), ("a", EMBEDDED, "drom.parquet", (2016,))]


def test_a_local_directory_wins_and_a_missing_file_is_named(tmp_path):
    _files(tmp_path, B)
    local = tmp_path / "local"
    local.mkdir()
    dl = Downloader(raw_dir=str(tmp_path), source_mode="embedded", sirene_dir=str(local))
    with pytest.raises(PlanError, match=r"local/b.parquet: missing; sirene_dir must hold the publisher's file b.parquet"):
        resolve_one(dl, B, "list")
    (local / "b.parquet").write_bytes(b"PAR1 fake PAR1")  # head and footer magic: passes the sniff
    assert _show(resolve_one(dl, B, "list")) == [("b", LOCAL, "b.parquet", (2018, 2019, 2020))]


def test_an_official_file_not_downloaded_says_how_to_get_it(tmp_path):
    _files(tmp_path, A)
    dl = Downloader(raw_dir=str(tmp_path), source_mode="official")
    with pytest.raises(
        PlanError, match=r"a/2017/a.csv: missing; materialize raw/a in official mode first \(it downloads https://example.org/2017/a.csv\)"
    ):
        resolve_one(dl, A, "list", [2017])


def test_years_helper_and_plan_years():
    assert years((2015, 2017), 2020) == (2015, 2016, 2017, 2020)
    assert A.plan_years("list") == (2015, 2016, 2017, 2018) and A.plan_years("list", OFFICIAL) == (2017, 2018)
    assert A.with_plan(PlanFile("list", (2019,), embedded="a_2019.parquet")).plan_years("list") == (2015, 2016, 2017, 2018, 2019)
    assert A.embedded_files == ("a_2015_2018.parquet", "metro.parquet", "drom.parquet")
    assert [r.filename for r in A.remote_files] == ["a.csv", "a.csv", "mvt_2018.csv", "mvt_2019.csv"]
