"""National-scale benchmark of the SIRENE -> marts pipeline, against a pandas baseline and the scan floor.

    python -m benchmarks.run --scale 1.0 --repeat 3 [--generate]

1. inputs: the SIRENE-shaped files of ``benchmarks/out/sirene_<scale>/`` (``--generate`` writes
   them first with ``benchmarks.generate``); the territorial and CAF reference tables are built once
   by the real Dagster assets on the embedded data, in a private data dir (``benchmarks/out/work_<scale>``);
2. each repetition runs, each in a fresh process: the floor, the pipeline stages in order
   (extraction of establishments, of legal units, classification, facility-years, marts for all
   years) and the pandas baseline (killed by a watchdog if its RSS passes ``--pandas-cap-gb``);
3. prints each stage's median time, CPU time, peak RSS, the ratios to the floor and to pandas, the
   budgets (issue 6) and the correctness checks (floor counts = pipeline counts = pandas counts =
   the generator's planted truth); writes everything to ``benchmarks/out/results/``.

Timings are of the timed call only (interpreter start and imports excluded), with a warm page cache
(an untimed floor scan reads the files first in every repetition).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from benchmarks.stages import PIPELINE

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out"

#: Issue 6 budgets (2 cores, 24 GB, national scale).
BUDGETS = {
    "extraction_vs_floor_max": 1.5,
    "pandas_speedup_min": 10.0,
    "peak_rss_mb_max": 6 * 1024,
    "marts_seconds_max": 30.0,
}
EXTRACTION = ("extract_establishments", "extract_legal_units")


# ------------------------------------------------------------------------------------------------
# running one stage in a fresh process, with a memory watchdog
# ------------------------------------------------------------------------------------------------


def _rss_tree(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_process(
    cmd: list[str], *, env: dict[str, str] | None = None, cap_mb: float | None = None, timeout_s: float = 3 * 3600, log: Path | None = None
) -> dict[str, Any]:
    """Run ``cmd``; sample its RSS every 50 ms, kill it above ``cap_mb`` or after ``timeout_s``.

    Returns the stage's own JSON report (last ``BENCH_RESULT`` line) merged with the watchdog's
    view: sampled peak RSS, wall time of the whole process, and ``status`` ``killed_rss_cap`` /
    ``timeout`` when the watchdog stopped it.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ps = psutil.Process(proc.pid)
    state = {"peak": 0, "killed": None}
    lines: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    while proc.poll() is None:
        rss = _rss_tree(ps)
        state["peak"] = max(state["peak"], rss)
        if cap_mb is not None and rss > cap_mb * 1024 * 1024:
            state["killed"] = "killed_rss_cap"
        elif time.perf_counter() - t0 > timeout_s:
            state["killed"] = "timeout"
        if state["killed"]:
            for p in [*ps.children(recursive=True), ps]:
                try:
                    p.kill()
                except psutil.Error:
                    pass
            break
        time.sleep(0.05)
    proc.wait()
    th.join(timeout=10)
    wall = time.perf_counter() - t0
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"$ {' '.join(cmd)}\n{''.join(lines)}\n")
    report: dict[str, Any] = {}
    for line in lines:
        if line.startswith("BENCH_RESULT "):
            report = json.loads(line[len("BENCH_RESULT ") :])
    if state["killed"]:
        report.update(
            status=state["killed"],
            error=(
                f"RSS above the {cap_mb:.0f} MB cap: killed after {wall:.0f} s"
                if state["killed"] == "killed_rss_cap"
                else f"no result after {timeout_s:.0f} s"
            ),
        )
    elif not report:
        report = {"status": "error", "error": f"exit {proc.returncode} without a result: {''.join(lines[-20:])}"}
    report["process_seconds"] = round(wall, 3)
    report["sampled_peak_rss_mb"] = round(state["peak"] / 2**20, 1)
    report["peak_rss_mb"] = max(report.get("peak_rss_mb") or 0, report["sampled_peak_rss_mb"])
    return report


def stage_cmd(stage: str, args: argparse.Namespace, db: Path, geo: tuple[Path, Path] | None) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.stages",
        stage,
        "--db",
        str(db),
        "--sirene-dir",
        str(args.sirene_dir),
        "--seed",
        str(args.seed),
    ]
    if args.memory_limit:
        cmd += ["--memory-limit", args.memory_limit]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if geo is not None:
        cmd += ["--geo-dir", str(geo[0]), "--geo-out-dir", str(geo[1])]
    return cmd


# ------------------------------------------------------------------------------------------------
# setup: a private data dir with the reference tables built by the real assets
# ------------------------------------------------------------------------------------------------

SETUP_SCRIPT = r"""
import json, resource, sys, time
from pathlib import Path
from observatory.__main__ import run
from observatory.definitions import build_definitions
from observatory.settings import Settings

data_dir, skip, sirene_dir = Path(sys.argv[1]), set(filter(None, sys.argv[2].split(","))), sys.argv[3]
settings = Settings(data_dir=data_dir, sirene_dir=Path(sirene_dir) if sirene_dir else None)
if sirene_dir:
    selection = None  # the whole graph, as the monthly run: every asset, check and the publication
else:
    graph = build_definitions(settings).resolve_asset_graph()
    # Every asset that is neither SIRENE nor a mart: the territorial reference, CAF, DREES.
    keys = sorted(k.to_user_string() for k in graph.get_all_asset_keys()
                  if graph.get(k).group_name not in ("sirene", "marts") and k.path[0] != "publish"
                  and k.to_user_string() not in skip)
    selection = " or ".join(f'key:"{k}"' for k in keys)
t0, c0 = time.perf_counter(), time.process_time()
ok = run(settings, selection, full=True)  # a first build of the month: everything, not what changed
print("BENCH_RESULT " + json.dumps({
    "status": "ok" if ok else "error", "seconds": round(time.perf_counter() - t0, 1),
    "cpu_seconds": round(time.process_time() - c0, 1), "selection": selection or "everything",
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    **({} if ok else {"error": "the Dagster run failed, see bench.log"})}))
"""


def prepare_work_dir(work: Path) -> Path:
    """Fresh ``work/data`` whose ``raw`` points at the repository's embedded inputs (read-only use)."""
    data = work / "data"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    (data / "raw").symlink_to(ROOT / "data" / "raw", target_is_directory=True)
    return data


#: Needed only for the map layer of the marts (skipped with ``--no-geo``).
GEO_ASSETS = ("raw/contours", "int/epci_polygons")


def _dagster_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}  # ephemeral instance: no shared run history
    env["GX_ANALYTICS_ENABLED"] = "false"
    return env


def setup_references(data: Path, log: Path, geo: bool) -> dict[str, Any]:
    skip = "" if geo else ",".join(GEO_ASSETS)
    return run_process([sys.executable, "-c", SETUP_SCRIPT, str(data), skip, ""], env=_dagster_env(), log=log)


def full_dagster_run(data: Path, sirene_dir: Path, log: Path) -> dict[str, Any]:
    """The monthly run as production does it: ``python -m observatory run`` logic, one process, every
    asset and blocking check, then the publication; its peak RSS is the whole run's."""
    return run_process([sys.executable, "-c", SETUP_SCRIPT, str(data), "", str(sirene_dir)], env=_dagster_env(), log=log)


# ------------------------------------------------------------------------------------------------
# the benchmark
# ------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import duckdb
    import pandas
    import polars

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pandas": pandas.__version__,
        "polars": polars.__version__,
        "platform": platform.platform(),
    }


#: The code the benchmark times: fingerprinted before and after the run (the tree is shared, and a
#: result is only meaningful for one version of it).
TIMED_CODE = ("assets/sirene", "assets/marts", "assets/sirene/classification.py", "assets/sirene/reference", "observatory/resources.py")


def code_fingerprint() -> str:
    import hashlib

    h = hashlib.sha256()
    for root in TIMED_CODE:
        path = ROOT / root
        files = sorted(p for p in (path.rglob("*") if path.is_dir() else [path]) if p.is_file() and "__pycache__" not in p.parts)
        for f in files:
            h.update(str(f.relative_to(ROOT)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _git_head() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per stage: median seconds and CPU seconds, peak RSS (max), statuses."""
    out: dict[str, Any] = {}
    for stage in {r["stage"] for r in runs}:
        rs = [r for r in runs if r["stage"] == stage]
        ok = [r for r in rs if r.get("status") == "ok"]
        out[stage] = {
            "runs": len(rs),
            "ok": len(ok),
            "statuses": sorted({r.get("status", "?") for r in rs}),
            "median_seconds": _median([r["seconds"] for r in ok]),
            "median_cpu_seconds": _median([r["cpu_seconds"] for r in ok]),
            "all_seconds": [r.get("seconds") for r in rs],
            "peak_rss_mb": max((r.get("peak_rss_mb") or 0 for r in rs), default=None),
            "errors": sorted({r["error"] for r in rs if r.get("error")}),
        }
    # extraction = both extraction stages of the same repetition
    per_rep = {}
    for r in runs:
        if r["stage"] in EXTRACTION and r.get("status") == "ok":
            per_rep.setdefault(r["repetition"], []).append(r)
    full = [v for v in per_rep.values() if len(v) == len(EXTRACTION)]
    out["extraction"] = {
        "runs": len(full),
        "median_seconds": _median([sum(x["seconds"] for x in v) for v in full]),
        "median_cpu_seconds": _median([sum(x["cpu_seconds"] for x in v) for v in full]),
        "peak_rss_mb": max((x.get("peak_rss_mb") or 0 for v in full for x in v), default=None),
    }
    return out


def correctness(runs: list[dict[str, Any]], expected: dict[str, int] | None) -> dict[str, Any]:
    """Row counts of the floor, the pipeline, pandas and the generator's truth must agree."""

    def last(stage: str) -> dict[str, Any] | None:
        ok = [r for r in runs if r["stage"] == stage and r.get("status") == "ok"]
        return ok[-1]["result"] if ok else None

    est, ul, pdb = last("extract_establishments"), last("extract_legal_units"), last("pandas")
    views: dict[str, dict[str, int]] = {}
    for name in ("floor", "floor_keys"):
        if last(name):
            views[name] = dict(last(name))
    if est and ul:
        views["pipeline"] = {
            "etablissements": est["establishments_selected"],
            "etablissement_periodes": est["period_rows"] + est["duplicate_periods_removed"],
            "etablissement_stock_rows": est["stock_rows"] + est["duplicate_sirets_removed"],
            "sirens": ul["legal_units_needed"],
            "unite_legale_periodes": ul["period_rows"] + ul["duplicate_periods_removed"],
            "unites_legales": ul["stock_rows"] + ul["duplicate_sirens_removed"],
        }
    if pdb:
        views["pandas"] = dict(pdb)
    if expected:
        views["generator_truth"] = {
            "etablissements": expected["etablissements"],
            "etablissement_periodes": expected["etablissement_periodes"],
            "etablissement_stock_rows": expected["etablissements"],
            "sirens": expected["sirens"],
            "unite_legale_periodes": expected["unite_legale_periodes"],
            "unites_legales": expected["unites_legales"],
        }
    mismatches = []
    names = list(views)
    for key in (
        "etablissements",
        "etablissement_periodes",
        "etablissement_stock_rows",
        "sirens",
        "unite_legale_periodes",
        "unites_legales",
    ):
        values = {n: views[n].get(key) for n in names}
        if len(set(values.values())) > 1:
            mismatches.append({"count": key, **values})
    return {"views": views, "agree": not mismatches and len(views) >= 2, "mismatches": mismatches}


def budgets(summary: dict[str, Any], scale: float) -> dict[str, Any]:
    ext, floor = summary.get("extraction", {}), summary.get("floor", {})
    pandas, marts = summary.get("pandas", {}), summary.get("marts", {})
    res: dict[str, Any] = {"scale": scale, "applies": scale >= 1.0}
    if ext.get("median_seconds") and floor.get("median_seconds"):
        ratio = ext["median_seconds"] / floor["median_seconds"]
        res["extraction_vs_floor"] = {
            "value": round(ratio, 2),
            "max": BUDGETS["extraction_vs_floor_max"],
            "pass": ratio <= BUDGETS["extraction_vs_floor_max"],
        }
    keys = summary.get("floor_keys", {})
    if ext.get("median_seconds") and keys.get("median_seconds"):
        # not a budget: how far from an engine that would decode only the matching rows' columns
        res["extraction_vs_floor_keys"] = {"value": round(ext["median_seconds"] / keys["median_seconds"], 2), "informative": True}
    if pandas:
        if pandas.get("median_seconds") and ext.get("median_seconds"):
            speed = pandas["median_seconds"] / ext["median_seconds"]
            res["pandas_speedup"] = {
                "value": round(speed, 1),
                "min": BUDGETS["pandas_speedup_min"],
                "pass": speed >= BUDGETS["pandas_speedup_min"],
            }
        elif any(s in pandas.get("statuses", []) for s in ("killed_rss_cap", "oom")):
            res["pandas_speedup"] = {"value": "pandas out of memory", "pass": True, "detail": pandas.get("errors")}
    pipeline_peaks = [summary[s]["peak_rss_mb"] for s in PIPELINE if s in summary and summary[s].get("peak_rss_mb")]
    if pipeline_peaks:
        peak = max(pipeline_peaks)
        res["peak_rss_mb"] = {"value": peak, "max": BUDGETS["peak_rss_mb_max"], "pass": peak < BUDGETS["peak_rss_mb_max"]}
    if marts.get("median_seconds"):
        res["marts_seconds"] = {
            "value": marts["median_seconds"],
            "max": BUDGETS["marts_seconds_max"],
            "pass": marts["median_seconds"] < BUDGETS["marts_seconds_max"],
        }
    return res


def print_report(report: dict[str, Any]) -> None:
    s = report["summary"]
    floor_s = (s.get("floor") or {}).get("median_seconds")
    pandas_s = (s.get("pandas") or {}).get("median_seconds")
    print(
        f"\nscale {report['scale']} - {report['repeat']} repetition(s) - {report['machine']['cores']} cores, "
        f"{report['machine']['memory_gb']} GB - load before {report['load_before']}"
    )
    print(f"{'stage':<24}{'median s':>10}{'cpu s':>10}{'peak RSS MB':>13}{'x floor':>9}{'pandas /':>10}  status")
    order = ["floor", "floor_keys", *PIPELINE, "extraction", "pandas"]
    for stage in order:
        st = s.get(stage)
        if not st:
            continue
        sec = st.get("median_seconds")
        xf = f"{sec / floor_s:.2f}" if sec and floor_s and stage != "floor" else ""
        xp = f"{pandas_s / sec:.1f}" if sec and pandas_s and stage not in ("pandas", "floor", "floor_keys") else ""
        status = ",".join(st.get("statuses", ["ok"])) if "statuses" in st else "ok"
        print(
            f"{stage:<24}{sec if sec is not None else '-':>10}{st.get('median_cpu_seconds') or '-':>10}"
            f"{st.get('peak_rss_mb') or '-':>13}{xf:>9}{xp:>10}  {status}"
        )
        for err in st.get("errors", [])[:2]:
            print(f"{'':<24}  ! {err[:160]}")
    print("\nbudgets" + ("" if report["budgets"]["applies"] else " (informative: they apply at scale 1.0)"))
    for k, v in report["budgets"].items():
        if isinstance(v, dict):
            verdict = "(informative)" if v.get("informative") else ("PASS" if v["pass"] else "FAIL")
            print(f"  {k:<26} {v['value']!s:<24} {verdict}")
    if report["code"]["changed_during_run"]:
        print("\nWARNING: the timed code changed during the run (shared tree): these numbers mix two versions")
    c = report["correctness"]
    print(f"\ncounts agree across {', '.join(c['views'])}: {c['agree']}")
    for m in c["mismatches"]:
        print(f"  MISMATCH {m}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--sirene-dir", type=Path, default=None, help="default benchmarks/out/sirene_<scale>")
    ap.add_argument("--generate", action="store_true", help="generate the inputs first if they are missing")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--stages",
        default=",".join(("floor", "floor_keys", *PIPELINE, "pandas")),
        help="comma-separated subset of floor,floor_keys,extract_establishments,...,marts,pandas",
    )
    ap.add_argument(
        "--pandas-cap-gb",
        type=float,
        default=12.0,
        help="the pandas baseline is killed above this RSS (the machine is shared: keep it under half its memory)",
    )
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory_limit for the stages (default: the Warehouse's)")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: the Warehouse's)")
    ap.add_argument("--seed", type=int, default=20170101)
    ap.add_argument("--no-geo", action="store_true", help="do not write the map layer in the marts stage")
    ap.add_argument(
        "--full-run", action="store_true", help="also time one complete Dagster run (every asset, check, publication) in one process"
    )
    ap.add_argument("--work-dir", type=Path, default=None, help="default benchmarks/out/work_<scale>")
    ap.add_argument(
        "--reference-db",
        type=Path,
        default=None,
        help="a build database already holding the territorial / CAF reference tables (built by the real "
        "assets on the embedded data, e.g. the test session's): copied instead of rebuilding them",
    )
    ap.add_argument("--out", type=Path, default=None, help="results JSON (default benchmarks/out/results/bench_<scale>_<time>.json)")
    args = ap.parse_args(argv)

    args.sirene_dir = (args.sirene_dir or OUT / f"sirene_{args.scale:g}").resolve()
    work = (args.work_dir or OUT / f"work_{args.scale:g}").resolve()
    log = work / "bench.log"
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    if not (args.sirene_dir / "StockEtablissement_utf8.parquet").exists():
        if not args.generate:
            print(
                f"{args.sirene_dir}: no generated SIRENE files; run with --generate or "
                f"python -m benchmarks.generate --scale {args.scale:g}",
                file=sys.stderr,
            )
            return 2
        print(f"generating scale {args.scale:g} into {args.sirene_dir} ...", flush=True)
        gen = run_process([sys.executable, "-m", "benchmarks.generate", "--scale", str(args.scale), "--out", str(args.sirene_dir)], log=log)
        if not (args.sirene_dir / "manifest.json").exists():
            print(f"generation failed: {gen}", file=sys.stderr)
            return 1
    manifest_path = args.sirene_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}

    report: dict[str, Any] = {
        "scale": args.scale,
        "repeat": args.repeat,
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "inputs": {
            "dir": str(args.sirene_dir),
            "files": manifest.get("files"),
            "total_bytes": manifest.get("total_bytes"),
            "generator_seconds": manifest.get("seconds"),
            "generator_peak_rss_mb": manifest.get("peak_rss_mb"),
        },
        "code": {"git_head": _git_head(), "fingerprint_before": code_fingerprint()},
        "settings": {
            "pandas_cap_gb": args.pandas_cap_gb,
            "memory_limit": args.memory_limit or "Warehouse default",
            "threads": args.threads or "Warehouse default",
        },
    }
    data = prepare_work_dir(work)
    db = data / "build" / "observatory_build.duckdb"
    report["db"] = str(db)
    needs_refs = any(s in stages for s in ("facility_years", "marts"))
    geo = None
    if needs_refs:
        if args.reference_db:
            db.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(args.reference_db, db)
            report["setup"] = {"status": "ok", "copied_from": str(args.reference_db)}
        else:
            print("building the territorial / CAF reference tables (real assets, embedded data) ...", flush=True)
            report["setup"] = setup_references(data, log, geo=not args.no_geo)
        if not args.no_geo:
            geo = (data / "build" / "geo", work / "geo_publish")
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false"}
    runs: list[dict[str, Any]] = []
    pandas_done = False
    for rep in range(1, args.repeat + 1):
        if rep == 1 or "pandas" in stages:
            # untimed warm-up: every file read once, so each repetition starts from a warm page cache
            run_process(stage_cmd("floor", args, db, None), env=env, log=log)
        for stage in stages:
            if stage == "pandas" and pandas_done:
                continue  # killed or failed once: not repeated
            if stage in ("facility_years", "marts") and report.get("setup", {}).get("status") != "ok":
                runs.append(
                    {
                        "stage": stage,
                        "repetition": rep,
                        "status": "not_available",
                        "error": f"reference tables not built: {report.get('setup', {}).get('error')}",
                    }
                )
                continue
            cap = args.pandas_cap_gb * 1024 if stage == "pandas" else None
            print(f"[{rep}/{args.repeat}] {stage} ...", end=" ", flush=True)
            r = run_process(stage_cmd(stage, args, db, geo if stage == "marts" else None), env=env, cap_mb=cap, log=log)
            r.update(stage=stage, repetition=rep, load=[round(x, 2) for x in os.getloadavg()])
            runs.append(r)
            print(f"{r.get('status')} {r.get('seconds', '-')} s, peak {r.get('peak_rss_mb')} MB", flush=True)
            if stage == "pandas" and r.get("status") != "ok":
                pandas_done = True
    if args.full_run:
        print("full Dagster run on the generated files (every asset, check and the publication) ...", flush=True)
        r = full_dagster_run(prepare_work_dir(work / "full_run"), args.sirene_dir, log)
        report["full_run"] = r
        print(f"{r.get('status')} {r.get('seconds', '-')} s, peak {r.get('peak_rss_mb')} MB", flush=True)
    report["code"]["fingerprint_after"] = code_fingerprint()
    report["code"]["changed_during_run"] = report["code"]["fingerprint_after"] != report["code"]["fingerprint_before"]
    report["runs"] = runs
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    report["summary"] = summarize(runs)
    report["budgets"] = budgets(report["summary"], args.scale)
    report["correctness"] = correctness(runs, manifest.get("expected"))
    report["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    out = args.out or OUT / "results" / f"bench_{args.scale:g}_{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print_report(report)
    print(f"\nresults: {out}")
    return 0 if report["correctness"]["agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
