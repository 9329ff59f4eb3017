"""The blocking checks, before / after issue 14 item 3: ``python -m benchmarks.checks [--data-dir D] [--rows N]``.

*Before* is the checks' former path, still in the tree as the reference: the value rules validated by Great
Expectations on a pandas copy of the columns they read (``run_suite(..., engine="gx")``), the table's
content fingerprint hashed once per named check. *After* is what the checks run now: the same rules as
DuckDB aggregates (``engine="sql"``), the fingerprint hashed once per step. Three measures:

1. ``steps``: every check step of the definitions executed by Dagster (in-process, one run of all asset
   checks, no asset) on the embedded build, once per mode: the wall time of the run, import of GX included
   (a run imports it once, in its first check step);
2. ``suites``: each table's suite evaluated alone on the same build (best of ``--repeat``), and the two
   engines' outcomes compared (they must agree on every rule of the real data);
3. ``large``: a synthetic table of ``--rows`` facility-years and a passing value suite, both engines: how the
   cost grows with the rows (the pandas copy grows with them, the aggregates scan them once).

The embedded build is made once in ``--data-dir`` (default ``benchmarks/out/checks/data``: the whole run on
the embedded data, as ``make run``) and reused by later invocations. Results: printed, and written as JSON
to ``benchmarks/out/checks.json``. A benchmark, not a test: nothing here asserts a duration.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"


def build_embedded(data_dir: Path) -> float:
    """The whole pipeline on the embedded data into ``data_dir`` (skipped if its build database exists)."""
    import dagster as dg

    from observatory.__main__ import execute
    from observatory.definitions import build_definitions
    from observatory.settings import Settings

    settings = Settings(data_dir=data_dir)
    if settings.build_db.exists():
        return 0.0
    data_dir.mkdir(parents=True, exist_ok=True)
    raw = data_dir / "raw"
    if not raw.exists():
        raw.symlink_to(REPO / "data" / "raw", target_is_directory=True)
    start = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        result = execute(build_definitions(settings), instance, log_level="WARNING")
    if not result.success:
        raise SystemExit(f"the embedded build in {data_dir} failed: see the log above")
    return time.perf_counter() - start


@contextmanager
def before_mode() -> Iterator[None]:
    """The check steps as they were: GX on pandas, the fingerprint recomputed for every named check."""
    import observatory.quality.check as check
    from observatory.quality.log import record_outcome
    from observatory.quality.suite import run_suite

    def gx_suite(con, table, specs):
        return run_suite(con, table, specs, engine="gx")

    def per_check_fingerprint(*args, fingerprint=None, **kwargs):
        return record_outcome(*args, **kwargs)

    saved = check.run_suite, check.record_outcome
    check.run_suite, check.record_outcome = gx_suite, per_check_fingerprint
    try:
        yield
    finally:
        check.run_suite, check.record_outcome = saved


def time_steps(data_dir: Path, mode: str) -> dict[str, Any]:
    """One Dagster run of every asset check of the definitions (no asset) on the build in ``data_dir``."""
    import dagster as dg

    from observatory.definitions import build_definitions
    from observatory.settings import Settings

    defs = build_definitions(Settings(data_dir=data_dir))
    job = dg.define_asset_job("all_checks", selection=dg.AssetSelection.all_asset_checks())
    defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[job]))
    ctx = before_mode() if mode == "before" else _nothing()
    with ctx, dg.DagsterInstance.ephemeral() as instance:
        start = time.perf_counter()
        result = defs.resolve_job_def("all_checks").execute_in_process(instance=instance, raise_on_error=False)
        wall = time.perf_counter() - start
        evaluations = result.get_asset_check_evaluations()
    return {
        "wall_s": round(wall, 2),
        "checks": len(evaluations),
        "failed": sorted(f"{e.asset_key.to_user_string()}:{e.check_name}" for e in evaluations if not e.passed),
    }


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _best(repeat: int, fn, *args, **kwargs) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best, out


def _comparable(outcomes) -> list[tuple]:
    return [(o.name, o.success, o.unexpected_count, o.examples, o.error, o.unexpected_percent) for o in outcomes]


def _import_seconds(module: str, after: str = "dagster, duckdb") -> float:
    """What importing ``module`` costs a fresh interpreter that has imported ``after`` already, as a check run
    has when its first GX step imports GX."""
    import subprocess
    import sys

    code = f"import {after}; import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ})
    return float(out.stdout.strip().splitlines()[-1])


def time_suites(build_db: Path, repeat: int) -> dict[str, Any]:
    """Each registered suite alone, both engines, on a read-only connection to the build."""
    import duckdb

    import observatory.definitions  # noqa: F401  (builds every table_check: fills SUITES)
    from observatory.quality import Columns, Sql
    from observatory.quality.check import SUITES
    from observatory.quality.gx import _import_gx
    from observatory.quality.suite import run_suite
    from observatory.resources import table_exists

    gx_import = _import_seconds("great_expectations")
    _import_gx()
    rows, mismatches = [], []
    with duckdb.connect(str(build_db), read_only=True) as con:
        for table, suite in sorted(SUITES.items()):
            if not table_exists(con, table):
                continue
            n = con.execute(f"select count(*) from {table}").fetchone()[0]
            sql_s, sql = _best(repeat, run_suite, con, table, suite)
            gx_s, gx = _best(repeat, run_suite, con, table, suite, engine="gx")
            if _comparable(sql) != _comparable(gx):
                mismatches.append(table)
            # The value rules alone: what the engines evaluate differently (Columns and Sql rules are the same code).
            values = [s for s in suite if not isinstance(s, (Columns, Sql))]
            v_sql_s, _ = _best(repeat, run_suite, con, table, values)
            v_gx_s, _ = _best(repeat, run_suite, con, table, values, engine="gx")
            rows.append(
                {
                    "table": table,
                    "rows": n,
                    "rules": len(suite),
                    "value_rules": len(values),
                    "gx_s": round(gx_s, 4),
                    "sql_s": round(sql_s, 4),
                    "value_gx_s": round(v_gx_s, 4),
                    "value_sql_s": round(v_sql_s, 4),
                }
            )
    return {"gx_import_s": round(gx_import, 2), "tables": rows, "mismatches": mismatches}


def time_large(n_rows: int, repeat: int) -> dict[str, Any]:
    """A passing suite of value rules on ``n_rows`` synthetic facility-years (an in-memory DuckDB table)."""
    import duckdb

    from observatory.quality import Between, InSet, Matches, NotNull, RowCount, Unique
    from observatory.quality.suite import run_suite

    suite = [
        Unique("siret", "annee"),
        NotNull("siret"),
        NotNull("annee"),
        Matches("siret", r"^[0-9]{14}$"),
        Matches("code_commune", r"^(?:[0-9]{2}|2A|2B)[0-9]{3}$"),
        Between("annee", 2015, 2026),
        Between("share", 0, 1),
        InSet("sector", ("public", "ess", "lucratif", "autre_prive", "indetermine")),
        RowCount(min_value=1),
    ]
    with duckdb.connect() as con:
        con.execute("create schema int")
        con.execute(
            f"""create table int.large as select
                lpad(cast(i // 12 as varchar), 14, '0') as siret, 2015 + (i % 12)::integer as annee,
                lpad(cast(1000 + i % 95000 as varchar), 5, '0') as code_commune,
                (i % 1000) / 1000.0 as share,
                ['public', 'ess', 'lucratif', 'autre_prive', 'indetermine'][1 + i % 5] as sector
            from range({int(n_rows)}) t(i)"""
        )
        sql_s, sql = _best(repeat, run_suite, con, "int.large", suite)
        gx_s, gx = _best(max(1, repeat // 2), run_suite, con, "int.large", suite, engine="gx")
    return {
        "rows": n_rows,
        "rules": len(suite),
        "gx_s": round(gx_s, 3),
        "sql_s": round(sql_s, 3),
        "agree": _comparable(sql) == _comparable(gx),
        "all_pass": all(o.success for o in sql),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=OUT / "checks" / "data")
    ap.add_argument("--rows", type=int, default=2_000_000, help="rows of the synthetic large table (0: skip)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-steps", action="store_true", help="skip the two Dagster runs of the check steps")
    args = ap.parse_args(argv)
    data_dir = args.data_dir.resolve()
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()}}
    report["embedded_build_s"] = round(build_embedded(data_dir), 1)
    from observatory.settings import Settings

    build_db = Settings(data_dir=data_dir).build_db
    if not args.skip_steps:
        # "after" first: the run that pays the import of GX must not be helped by the other's warm caches.
        report["steps"] = {"after": time_steps(data_dir, "after"), "before": time_steps(data_dir, "before")}
    report["suites"] = time_suites(build_db, args.repeat)
    if args.rows:
        report["large"] = time_large(args.rows, args.repeat)
    report["machine"]["load_after"] = os.getloadavg()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "checks.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    _print(report)


def _print(report: dict[str, Any]) -> None:
    if "steps" in report:
        b, a = report["steps"]["before"], report["steps"]["after"]
        print(f"check steps (Dagster, {a['checks']} checks): before {b['wall_s']} s, after {a['wall_s']} s")
        for mode, r in (("before", b), ("after", a)):
            if r["failed"]:
                print(f"  {mode}: failed checks {r['failed']}")
    s = report["suites"]
    gx_total = sum(r["gx_s"] for r in s["tables"])
    sql_total = sum(r["sql_s"] for r in s["tables"])
    v_gx = sum(r["value_gx_s"] for r in s["tables"])
    v_sql = sum(r["value_sql_s"] for r in s["tables"])
    print(f"suites alone ({len(s['tables'])} tables): GX {gx_total:.2f} s + import {s['gx_import_s']} s, SQL {sql_total:.2f} s")
    print(f"  their value rules only: GX {v_gx:.2f} s, SQL {v_sql:.2f} s")
    for r in sorted(s["tables"], key=lambda r: -r["gx_s"])[:8]:
        print(
            f"  {r['table']:<40} {r['rows']:>7} rows {r['rules']:>3} rules  GX {r['gx_s']:.3f} s  SQL {r['sql_s']:.3f} s"
            f"  (value rules: {r['value_rules']:>2}, GX {r['value_gx_s']:.3f} s, SQL {r['value_sql_s']:.3f} s)"
        )
    print("  outcomes: " + ("identical on every table" if not s["mismatches"] else f"DIFFER on {s['mismatches']}"))
    if "large" in report:
        g = report["large"]
        print(
            f"large table ({g['rows']:,} rows, {g['rules']} rules): GX {g['gx_s']} s, SQL {g['sql_s']} s, "
            f"outcomes {'identical' if g['agree'] else 'DIFFER'}"
        )
    print(f"load average {report['machine']['load']} -> {report['machine']['load_after']}")


if __name__ == "__main__":
    main()
