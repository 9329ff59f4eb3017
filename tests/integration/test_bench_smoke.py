"""Smoke run of the national benchmark at a tiny scale: correctness, never timing.

Generates SIRENE-shaped files at scale 0.001 (44,100 establishments, 30,000 legal units), checks
them against the INSEE schema and against the generator's planted truth, then runs
``benchmarks.run`` end to end (floors, every pipeline stage, the Polars reference, the pandas
baseline) and checks that the floors, the pipeline, Polars, pandas and the truth count exactly the
same rows. ``make bench-smoke`` runs
this file. The territorial / CAF reference tables are those of the session's embedded world
(``--reference-db``, tests/conftest.py) rather than a second build of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from assets.sirene.schema import STOCK_FILES

ROOT = Path(__file__).resolve().parents[2]
SCALE = 0.001


def _python(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d >= 5 else d * 2
        total += d
    return total % 10 == 0


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sirene") / f"scale_{SCALE}"
    _python("-m", "benchmarks.generate", "--scale", str(SCALE), "--out", str(out))
    return out


@pytest.fixture(scope="module")
def bench(generated: Path, tmp_path_factory, embedded_world) -> dict:
    work = tmp_path_factory.mktemp("work")
    result = work / "result.json"
    _python(
        "-m",
        "benchmarks.run",
        "--scale",
        str(SCALE),
        "--sirene-dir",
        str(generated),
        "--work-dir",
        str(work),
        "--repeat",
        "1",
        "--no-geo",
        "--reference-db",
        str(embedded_world.settings.build_db),
        "--out",
        str(result),
    )
    return json.loads(result.read_text())


def test_files_have_the_insee_names_columns_types_and_scaled_row_counts(generated: Path) -> None:
    con = duckdb.connect()
    manifest = json.loads((generated / "manifest.json").read_text())
    for stock in STOCK_FILES:
        path = generated / stock.filename
        described = [(r[0], str(r[1])) for r in con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()]
        assert described == list(stock.columns), stock.filename
        assert manifest["files"][stock.filename]["rows"] == con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchone()[0]
    f = {s.key: str(generated / s.filename) for s in STOCK_FILES}
    assert manifest["files"]["StockEtablissement_utf8.parquet"]["rows"] == 44_100
    assert manifest["files"]["StockUniteLegale_utf8.parquet"]["rows"] == 30_000
    # the stock's number of periods is the number of history rows, one of them current
    for stock, hist, key, n in (
        ("etablissement", "etablissement_historique", "siret", "nombrePeriodesEtablissement"),
        ("unite_legale", "unite_legale_historique", "siren", "nombrePeriodesUniteLegale"),
    ):
        bad = con.execute(
            f"""select count(*) from read_parquet('{f[stock]}') s
                full join (select {key}, count(*) as k, count(*) filter (where dateFin is null) as cur
                           from read_parquet('{f[hist]}') group by 1) h using ({key})
                where s.{n} is distinct from h.k or h.cur <> 1"""
        ).fetchone()[0]
        assert bad == 0, f"{stock}: {bad} units whose history disagrees with nombrePeriodes"
    # rows sorted by siret like INSEE's files; identifiers carry a valid Luhn key
    sirets = [r[0] for r in con.execute(f"select siret from read_parquet('{f['etablissement']}')").fetchall()]
    assert sirets == sorted(sirets) and len(set(sirets)) == len(sirets)
    assert all(_luhn_ok(s) for s in sirets) and all(_luhn_ok(s[:9]) for s in sirets)
    # ~38 % of establishments active, as in the national stock (16.7 M / 44.1 M)
    active = con.execute(f"select avg((etatAdministratifEtablissement = 'A')::int) from read_parquet('{f['etablissement']}')").fetchone()[0]
    assert 0.36 < active < 0.40


def test_planted_truth_is_exactly_the_establishments_ever_in_88_91a(generated: Path) -> None:
    con = duckdb.connect()
    hist = generated / "StockEtablissementHistorique_utf8.parquet"
    stock = generated / "StockEtablissement_utf8.parquet"
    found = {
        r[0]
        for r in con.execute(
            f"select siret from read_parquet('{hist}') where activitePrincipaleEtablissement = '88.91A' "
            f"union select siret from read_parquet('{stock}') where activitePrincipaleEtablissement = '88.91A'"
        ).fetchall()
    }
    planted = {r[0] for r in con.execute(f"select siret from read_parquet('{generated / 'planted_eaje.parquet'}')").fetchall()}
    expected = json.loads((generated / "manifest.json").read_text())["expected"]
    assert found == planted
    assert len(planted) == expected["etablissements"] > 0
    # the stock shows 88.91A for every planted establishment except those whose code changed away from it
    in_stock = con.execute(f"select count(*) from read_parquet('{stock}') where activitePrincipaleEtablissement = '88.91A'").fetchone()[0]
    assert in_stock == len(planted) - expected["changed_away_from_88_91A"]


def test_generation_is_deterministic(generated: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    _python("-m", "benchmarks.generate", "--scale", str(SCALE), "--out", str(again))
    con = duckdb.connect()
    for stock in STOCK_FILES:
        a, b = (
            con.execute(f"select count(*), sum(hash(columns(*))) from read_parquet('{d / stock.filename}')").fetchall()
            for d in (generated, again)
        )
        assert a == b, stock.filename


def test_benchmark_run_counts_agree_everywhere(bench: dict, generated: Path) -> None:
    expected = json.loads((generated / "manifest.json").read_text())["expected"]
    statuses = {r["stage"]: r["status"] for r in bench["runs"]}
    assert statuses == {
        s: "ok"
        for s in (
            "floor",
            "floor_keys",
            "extract_establishments",
            "extract_legal_units",
            "extract_successions",
            "classification",
            "facility_years",
            "marts",
            "polars",
            "pandas",
        )
    }, bench["runs"]
    c = bench["correctness"]
    assert set(c["views"]) == {"floor", "floor_keys", "pipeline", "polars", "pandas", "generator_truth"}
    assert c["agree"] and not c["mismatches"]
    # the succession links touching the selection: the same number in every view that reads the file
    links = {name: view["succession_links"] for name, view in c["views"].items() if name != "generator_truth"}
    assert len(set(links.values())) == 1 and links["pipeline"] > 0, links
    # the extraction finds exactly the planted establishments, their periods and legal units
    assert c["views"]["pipeline"]["etablissements"] == expected["etablissements"]
    assert c["views"]["floor"]["unite_legale_periodes"] == expected["unite_legale_periodes"]


def test_benchmark_run_built_every_table_on_the_generated_files(bench: dict, generated: Path) -> None:
    expected = json.loads((generated / "manifest.json").read_text())["expected"]
    con = duckdb.connect(bench["db"], read_only=True)
    count = lambda t: con.execute(f"select count(*) from {t}").fetchone()[0]  # noqa: E731
    assert count("stg.sirene_etablissements") == expected["etablissements"]
    assert count("stg.sirene_unite_legale_periodes") == expected["unite_legale_periodes"]
    # one row per facility and 1 January 2010..2026 at most; every extracted operator classified every year
    facility_years = count("int.facility_years") + count("int.facility_years_hors_champ")
    assert 0 < facility_years <= 17 * expected["etablissements"]
    first, last, n_years = con.execute("select min(annee), max(annee), count(distinct annee) from int.operator_years").fetchone()
    assert first == 2010 and n_years == last - first + 1
    assert count("int.operator_years") == n_years * expected["sirens"]
    for mart in ("marts.ess_market_share", "marts.facilities", "marts.operators", "marts.merger_effect"):
        assert count(mart) > 0, mart
    result = next(r for r in bench["runs"] if r["stage"] == "marts")["result"]
    assert set(result["timings"]) >= {"int.facility_territory_years", "marts.ess_market_share", "marts.merger_effect"}
