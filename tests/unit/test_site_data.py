"""The site's bad-input rules on hand-made frames: a territory with no facility is grey (never 0 %), a share resting
on fewer than 5 facilities is hatched, an EPCI without polygon is listed, a year without CAF data is said; plus the
site's atomic swap and the reader's use of the marts' small_count flag."""

import duckdb
import pandas as pd
import pytest

from assets.site import charts, data
from assets.site.publish import publish_site
from observatory.publish import switch_to, versions
from assets.site.reader import Published

SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]]}


def shares(rows):
    """Sector-share rows (reader.sector_shares names) from (annee, code, category, n, n_total)."""
    df = pd.DataFrame(rows, columns=["annee", "code", "category", "n", "n_total"])
    df["share"] = (df["n"] / df["n_total"]).where(df["n_total"] > 0)
    df["small"] = df["n_total"] < 5
    return df.assign(name=df["code"], places=None, places_total=None, share_places=None, places_coverage=None)


def supply(rows):
    return pd.DataFrame(rows, columns=["annee", "code", "caf_status", "taux_couverture_eaje", "caf_population_coverage"])


@pytest.fixture
def world():
    features = pd.DataFrame({"code": ["A", "B", "C"], "zone": ["metro", "metro", "971"], "geometry": [SQUARE] * 3})
    names = {"A": "CC sans crèche", "B": "CC une crèche", "C": "CA dix crèches", "D": "CC sans contour"}
    sh = shares(
        [
            (2026, "A", "ess", 0, 0),
            (2026, "A", "lucratif", 0, 0),
            (2026, "B", "ess", 1, 1),
            (2026, "B", "lucratif", 0, 1),
            (2026, "C", "ess", 3, 10),
            (2026, "C", "lucratif", 5, 10),
            (2026, "D", "ess", 2, 8),
            (2026, "D", "lucratif", 1, 8),
        ]
    )
    sup = supply(
        [
            (2020, "A", "published", 12.5, 0.4),
            (2020, "B", "no_commune_published", None, None),
            (2026, "A", "caf_year_missing", None, None),
            (2026, "B", "caf_year_missing", None, None),
            (2026, "C", "caf_year_missing", None, None),
        ]
    )
    return data.map_data(features, names, sh, sup)


def test_a_territory_without_facility_is_grey_not_zero(world):
    value, n, total, state, note = world["layers"]["ess"][2026][0]
    assert (value, n, total, state) == (None, 0, 0, charts.STATE_NONE) and note == "aucun établissement"


def test_a_share_resting_on_one_facility_is_hatched_and_keeps_its_value(world):
    assert world["layers"]["ess"][2026][1][:4] == [1.0, 1, 1, charts.STATE_SMALL]
    assert world["layers"]["lucratif"][2026][1][:4] == [0.0, 0, 1, charts.STATE_SMALL]  # a true 0 %, but on one facility
    assert world["layers"]["ess"][2026][2][:4] == [0.3, 3, 10, charts.STATE_OK]


def test_an_epci_without_polygon_is_listed(world):
    assert world["no_polygon"] == [{"code": "D", "name": "CC sans contour"}]
    assert [f["c"] for f in world["features"]] == ["A", "B", "C"]


def test_a_year_without_caf_data_is_said_and_missing_rows_are_explained(world):
    assert world["caf_missing_years"] == [2026] and 2026 not in world["layers"]["caf"]
    a, b, c = world["layers"]["caf"][2020]
    assert a[0] == 12.5 and a[3] == charts.STATE_OK and "40 %" in a[4]
    assert b[3] == charts.STATE_NONE and b[4] == "aucune commune publiée par la CAF"
    assert c[3] == charts.STATE_NONE and "pas de ligne CAF" in c[4]


def test_share_lines_leave_out_years_without_facility():
    rows = data.records(shares([(2015, "A", "ess", 0, 0), (2016, "A", "ess", 1, 2), (2016, "A", "public", 1, 2)]))
    lines = data.series_rows(rows)["shares"]
    assert [(r["annee"], r["label"], r["share"], r["small"]) for r in lines] == [(2016, "ESS", 0.5, True), (2016, "Public", 0.5, True)]


def test_lineage_follows_a_fusion_back_and_a_former_epci_forward():
    lineage = pd.DataFrame(
        [
            (2017, "P1", "Ancienne CC 1", "N", "Nouvelle CA", 0.6, 0.6, 1.0, False),
            (2017, "P2", "Ancienne CC 2", "N", "Nouvelle CA", 0.4, 0.4, 1.0, False),
            (2018, "N", "Nouvelle CA", "N", "Nouvelle CA", 1.0, 1.0, 1.0, True),
        ],
        columns=[
            "annee",
            "before",
            "before_name",
            "after",
            "after_name",
            "share_population_after",
            "population",
            "share_population_before",
            "same_siren",
        ],
    ).assign(n_communes=3)
    edges, seen = data.ancestry("N", data.lineage_index(lineage))
    assert seen == {"N", "P1", "P2"} and [(e["annee"], e["before"]) for e in edges] == [(2017, "P1"), (2017, "P2")]
    assert data.successor_map(lineage, {"N"}) == {"P1": "N", "P2": "N"}


def test_publish_site_swaps_atomically_and_keeps_the_previous_site_when_a_build_fails(tmp_path):
    def build(version):
        def _build(marts_dir, out):
            out.mkdir()
            (out / "index.html").write_text(version)
            if version == "broken":
                raise RuntimeError("chart failed")
            return {"pages": 1}

        return _build

    first = tmp_path / "versions" / "20260101T000000000000Z-first"  # a publication without a site yet
    first.mkdir(parents=True)
    (first / "manifest.json").write_text('{"run_id": "first", "files": {}}')
    (first / "observatory.duckdb").write_text("db")
    switch_to(tmp_path, first)
    publish_site(tmp_path, build("v1"))
    assert (tmp_path / "site" / "index.html").read_text() == "v1"
    assert (tmp_path / "observatory.duckdb").read_text() == "db"  # the data files carried over (hard links)
    with pytest.raises(RuntimeError, match="chart failed"):
        publish_site(tmp_path, build("broken"))
    assert (tmp_path / "site" / "index.html").read_text() == "v1"
    figures = publish_site(tmp_path, build("v2"))
    assert (tmp_path / "site" / "index.html").read_text() == "v2" and figures["pages"] == 1
    assert not list((tmp_path / "versions").glob(".staging-*"))  # no staging folder left
    assert len(versions(tmp_path)) == 2  # the current version and the previous one (rollback)


@pytest.mark.parametrize("flag", [True, False])
def test_reader_uses_the_marts_small_count_flag_when_published(tmp_path, flag):
    con = duckdb.connect(str(tmp_path / "observatory.duckdb"))
    con.execute("create schema marts")
    con.execute(
        "create table marts.ess_market_share as select * from (values "
        "('latest', 2026, 'epci', 'A', 'CC A', 'sector', 'ess', 2, 4, 0.5, null::double, null::double, null::double, null::double, false), "
        "('latest', 2026, 'epci', 'B', 'CC B', 'sector', 'ess', 3, 6, 0.5, null, null, null, null, true)) "
        "t(geography, annee, territory_level, territory_code, territory_name, breakdown, category, n_facilities, "
        "n_facilities_total, share_facilities, places, places_total, share_places, places_coverage, small_count)"
    )
    if not flag:
        con.execute("alter table marts.ess_market_share drop column small_count")
    con.close()
    pub = Published(tmp_path)
    small = dict(pub.sector_shares("epci")[["code", "small"]].itertuples(index=False))
    pub.close()
    # with the flag, the mart decides (A: false, B: true); without it, the same rule: fewer than 5 facilities
    assert small == ({"A": False, "B": True} if flag else {"A": True, "B": False})
