"""The site in a real browser: the session's embedded pipeline run (which builds data/marts/site/ after publication), then
Debian's headless chromium driven by Playwright opens it from file:// and checks what a reader sees: no console error,
no request leaving file://, one map shape per EPCI, hatched small counts, the coverage layer saying when a year has no
CAF data, the search box, the merger chart's intervals, the SYNTHETIC banner on every page. Screenshots go to
tests/screenshots/ (git-ignored)."""

import tempfile
from pathlib import Path

import duckdb
import geopandas as gpd
import pytest

from assets.site.reader import NATIONAL_LAYER, SMALL_COUNT_THRESHOLD
from observatory.settings import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = REPO_ROOT / "tests" / "screenshots"
LYON = "200046977"


@pytest.fixture(scope="module")
def site(embedded_world):
    """The session's one embedded run (tests/conftest.py): it built data/marts/site/ after publication."""
    w = embedded_world
    assert w.result.success and w.marts is not None, [e.step_key for e in w.result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert w.materialization("publish/site")["pages"] > 1000
    return w.settings.marts_dir, w.marts


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the site's browser test needs Debian's chromium "
            "(apt-get update && apt-get install -y chromium; .ci/run installs it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=FLAGS, headless=True, viewport={"width": 1280, "height": 900}
        )
        yield ctx
        ctx.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("request", lambda r: None if r.url.startswith("file://") else page.problems.append(f"request left file://: {r.url}"))
    yield page
    page.close()


def open_page(page, marts_dir: Path, rel: str) -> None:
    page.goto((marts_dir / "site" / rel).as_uri())
    page.wait_for_function("Array.from(document.querySelectorAll('[data-chart]')).every(e => e.dataset.drawn || e.querySelector('.empty'))")
    assert page.locator("#banner-synthetic").is_visible(), f"{rel}: no SYNTHETIC banner"
    assert "échantillon synthétique" in page.locator("#banner-synthetic").inner_text()


def shoot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_france_page_draws_its_charts(site, page):
    marts_dir, con = site
    open_page(page, marts_dir, "index.html")
    assert page.locator("#chart-area svg .mark-area path").count() == 5  # one stacked area per sector
    total = con.execute(
        "select n_facilities_total from marts.ess_market_share where geography = 'latest' and territory_level = 'france' "
        "and breakdown = 'sector' and category = 'ess' order by annee desc limit 1"
    ).fetchone()[0]
    assert f"{total:,}".replace(",", "\u202f") in page.locator(".figures").inner_text()
    shoot(page, "france")
    assert page.problems == []


def test_map_draws_one_shape_per_epci_with_small_counts_hatched(site, page):
    marts_dir, con = site
    layer = gpd.read_parquet(marts_dir / NATIONAL_LAYER)
    page.goto((marts_dir / "site" / "carte.html").as_uri())
    page.wait_for_function("document.getElementById('map').dataset.drawn === 'ess:2026'")
    assert (
        page.locator("#map g.mark-shape path").count()
        == len(layer)
        == con.execute("select count(*) from marts.epci_indicators where has_geometry").fetchone()[0]
    )
    small, empty = con.execute(
        f"select count(*) filter (where n_facilities_total between 1 and {SMALL_COUNT_THRESHOLD - 1}), count(*) filter (where n_facilities_total = 0) "
        "from marts.ess_market_share where geography = 'latest' and territory_level = 'epci' and breakdown = 'sector' "
        "and category = 'ess' and annee = 2026 and territory_code not in ('hors_epci', 'non_localise')"
    ).fetchone()  # gap rows: no shape
    fills = page.evaluate("Array.from(document.querySelectorAll('#map g.mark-shape path')).map(p => p.getAttribute('fill'))")
    assert small > 0 and fills.count("url(#hachures)") == small
    assert fills.count("#cfcfcf") == empty
    assert page.locator("#banner-synthetic").is_visible()
    shoot(page, "carte")
    # a year without CAF data: the coverage layer says so; a year with data draws rates
    page.select_option("#couche", "caf")
    page.wait_for_function("document.getElementById('map').dataset.drawn === 'caf:2026'")
    assert page.locator("#map-message").is_visible() and "Pas de données CAF pour 2026" in page.locator("#map-message").inner_text()
    page.select_option("#annee", "2020")
    page.wait_for_function("document.getElementById('map').dataset.drawn === 'caf:2020'")
    assert page.locator("#map-message").is_hidden()
    shoot(page, "carte_caf_2020")
    # a shape's tooltip names its EPCI, a click opens its page
    shape = page.locator("#map g.zone_metro_marks path").nth(100)
    shape.hover(force=True)
    assert "EPCI" in page.locator("#vg-tooltip-element").inner_text()
    shape.click(force=True)
    page.wait_for_url("**/epci/*.html")
    assert page.locator("#territory-name").inner_text() in set(layer["epci_nom"].dropna())
    assert page.problems == []


def test_search_finds_an_epci_by_part_of_its_name_and_opens_its_page(site, page):
    marts_dir, con = site
    name = con.execute("select epci_nom from marts.epci_indicators where epci_siren = ?", [LYON]).fetchone()[0]
    open_page(page, marts_dir, "index.html")
    page.fill("#search", "tropole de lyo")  # part of the name, without its accent
    link = page.locator("#search-results a", has_text=name).first
    link.click()
    page.wait_for_url(f"**/epci/{LYON}.html")
    page.wait_for_function("Array.from(document.querySelectorAll('[data-chart]')).every(e => e.dataset.drawn || e.querySelector('.empty'))")
    assert page.locator("#territory-name").inner_text() == name
    assert page.locator("#banner-synthetic").is_visible()
    shoot(page, "epci_lyon")
    page.fill("#search", LYON[:6])  # by SIREN
    assert page.locator("#search-results a").count() >= 1
    assert page.problems == []


def test_merger_chart_shows_its_intervals(site, page):
    marts_dir, con = site
    n = con.execute(
        "select count(*) from marts.merger_effect where cohort = 2017 and outcome = 'n_associations' "
        "and estimand = 'ecart_relatif_pct' and estimator = 'event_study' and ci_low is not null"
    ).fetchone()[0]
    open_page(page, marts_dir, "fusions.html")
    assert n > 10 and page.locator("#event-study .intervals_marks line").count() == n
    pre = page.evaluate("Array.from(document.querySelectorAll('#event-study .intervals_marks line')).length")
    assert pre == n
    assert page.locator("#estimands tbody tr").count() >= 6  # did and pre_trend of every outcome
    shoot(page, "fusions")
    assert page.problems == []


def test_departement_region_and_data_pages_render(site, page):
    marts_dir, _ = site
    for rel, shot in (("departement/69.html", "departement_69"), ("region/84.html", "region_84"), ("donnees.html", "donnees")):
        open_page(page, marts_dir, rel)
        shoot(page, shot)
    files = page.evaluate("Array.from(document.querySelectorAll('#files a[href^=\"../\"]')).map(a => a.getAttribute('href'))")
    assert "../observatory.duckdb" in files and f"../{NATIONAL_LAYER}" in files
    assert page.problems == []


def test_marts_published_later_render_when_present(site, tmp_path):
    """marts.facility_transitions and a merger diagnostics mart (built by other parts of the pipeline) appear on the
    merger page and in the data dictionary as soon as a publication holds them; without them the page says so."""
    import shutil

    from assets.site.build import build_site

    marts_dir, _ = site
    published = (marts_dir / "site" / "fusions.html").read_text()
    assert ('id="transitions"' in published) != ('id="transitions-absent"' in published)  # one or the other, never neither
    pub = tmp_path / "marts"
    pub.mkdir()
    for name in ("observatory.duckdb", "manifest.json", "geo"):
        (shutil.copytree if (marts_dir / name).is_dir() else shutil.copy2)(marts_dir / name, pub / name)
    con = duckdb.connect(str(pub / "observatory.duckdb"))
    has_transitions = con.execute("select count(*) from duckdb_tables() where table_name = 'facility_transitions'").fetchone()[0]
    if not has_transitions:
        con.execute(
            "create table marts.facility_transitions as select 2017 as annee, 'ess_association' as operator_class_before, "
            "'public_intercommunal' as operator_class_after, 12 as n_facilities"
        )
    con.execute("create table marts.merger_diagnostics as select 'pre_trend_joint_test' as diagnostic, 0.42 as p_value")
    con.close()
    build_site(pub, tmp_path / "site")
    fusions = (tmp_path / "site" / "fusions.html").read_text()
    assert 'id="transitions"' in fusions and "transitions-absent" not in fusions
    assert "pre_trend_joint_test" in fusions
    assert 'id="table-merger_diagnostics"' in (tmp_path / "site" / "donnees.html").read_text()
