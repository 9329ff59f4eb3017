"""CAF and DREES staging on the embedded real data: invariants of the published files and the
blocking suites (no network; the embedded copies are checked against their manifests)."""

import duckdb
import pytest

from assets.caf import stage as caf_load
from assets.caf.defs import COVERAGE, COVERAGE_SUITE, PLACES, PLACES_SUITE
from assets.caf.source import EMBEDDED, SPEC as CAF
from assets.drees.defs import SUITE as DREES_SUITE
from assets.drees.stage import load_drees
from assets.drees.source import SPEC as DREES, TABLES
from observatory.quality import run_suite
from observatory.resources import Downloader
from observatory.settings import Settings
from observatory.sources import embedded_path, verify_embedded

DOWNLOADER = Downloader(raw_dir=str(Settings().raw_dir))


@pytest.fixture(scope="module")
def con():
    verify_embedded(DOWNLOADER, CAF)
    verify_embedded(DOWNLOADER, DREES)
    c = duckdb.connect()
    c.execute("create schema stg")
    frames = {k: caf_load.read_kind([embedded_path(DOWNLOADER, CAF, EMBEDDED[k])], k, "embedded")[0] for k in caf_load.KINDS}
    caf_load.load_caf(c, frames["places"], frames["coverage"])
    load_drees(c, {n: embedded_path(DOWNLOADER, DREES, f"drees_tab{n}.parquet") for n in TABLES})
    yield c
    c.close()


def test_caf_years_and_communes_per_year(con):
    per_year = dict(con.execute("select caf_annee, count(*) from stg.caf_places_commune group by 1 order by 1").fetchall())
    assert list(per_year) == [2017, 2018, 2019, 2020, 2021, 2022]
    # about 1,040 published units a year, minus the 45 arrondissements folded into 3 communes
    assert all(980 <= n <= 1020 for n in per_year.values()), per_year
    paris = con.execute("select n_units_published from stg.caf_places_commune where code_commune = '75056'").fetchall()
    assert {r[0] for r in paris} == {20}


def test_caf_national_orders_of_magnitude(con):
    # CAF 2022, communes above 10,000 inhabitants: a few hundred thousand EAJE places, mostly PSU
    eaje, psu, hors = con.execute(
        "select sum(places_eaje), sum(places_psu), sum(places_hors_psu) from stg.caf_places_commune where caf_annee = 2022"
    ).fetchone()
    assert 200_000 < eaje < 400_000
    assert 0.05 < hors / eaje < 0.30
    children = con.execute("select sum(enfants_moins_3_ans) from stg.caf_coverage_commune where caf_annee = 2022").fetchone()[0]
    assert 800_000 < children < 1_600_000  # France has about 2.1 M children under 3, about half in these communes


@pytest.mark.parametrize("table, suite", [(PLACES, PLACES_SUITE), (COVERAGE, COVERAGE_SUITE), ("stg.drees_offre_departement", DREES_SUITE)])
def test_blocking_suites_pass_on_embedded_data(con, table, suite):
    failed = [(o.name, o.examples[:2]) for o in run_suite(con, table, suite) if not o.success]
    assert failed == []


def test_drees_subtotals_dropped_and_secret_values_null(con):
    codes = {r[0] for r in con.execute("select distinct code_departement from stg.drees_offre_departement").fetchall()}
    assert not codes & {"6AE", "69D", "69M"} and {"67", "68", "69", "2A", "974"} <= codes
    corse = con.execute(
        "select valeur from stg.drees_offre_departement where indicateur = 'places_gestion_parentale' "
        "and code_departement = '2A' and annee = 2019"
    ).fetchone()[0]
    assert corse is None
    ain = con.execute(
        "select valeur from stg.drees_offre_departement where indicateur = 'agrements_assistants_maternels' "
        "and code_departement = '01' and annee = 2010"
    ).fetchone()[0]
    assert ain == 5707.0  # "5 707" with a thousands separator
