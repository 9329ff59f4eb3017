"""National-scale benchmark of the SIRENE -> marts pipeline, against the scan floors, Polars and pandas.

    python -m benchmarks.run --scale 1.0 --repeat 3 [--generate] [--pandas-scale 0.3] [--full-run]

1. inputs: the SIRENE-shaped files of ``benchmarks/out/sirene_<scale>/`` (``--generate`` writes
   them first with ``benchmarks.generate``: the four stock files and the succession links); the
   territorial and CAF reference tables are built once by the real Dagster assets on the embedded
   data, in a private data dir (``benchmarks/out/work_<scale>``);
2. each repetition runs, each in a fresh process: the two floors, the pipeline stages in order
   (extraction of establishments, of legal units, of succession links, classification,
   facility-years, marts for all years), the hand-written Polars reference and the pandas baseline
   (killed by a watchdog if its RSS passes ``--pandas-cap-gb``);
3. ``--pandas-scale``: the extraction against pandas at that scale (pandas does not fit in memory at
   national scale); ``--full-run``: the monthly refresh with ``python -m observatory run`` on a
   persistent instance: a first build, the next month where only SIRENE changed (incremental), a
   rerun with nothing changed;
4. prints each stage's median time, CPU time, peak RSS, the ratios to the key-only floor and to
   pandas, the budgets (issue 14, :data:`BUDGETS`) and the correctness checks (floor counts =
   pipeline counts = Polars = pandas = the generator's planted truth); writes everything to
   ``benchmarks/out/results/``.

Stage timings are of the timed call only (interpreter start and imports excluded), with a warm page
cache (an untimed floor scan reads the files first in every repetition); the monthly runs are timed
as whole processes.
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

from benchmarks.stages import COUNTS, PIPELINE, REFERENCES

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out"

#: Budgets (issue 14; 2 cores, 24 GB, national scale). The extraction is compared with the floor that reads
#: only the columns the selection filters and joins on (``floor_keys``) and with the Polars reference.
BUDGETS = {
    "extraction_vs_floor_keys_max": 1.5,
    "extraction_vs_polars_max": 1.2,
    "pandas_speedup_min": 10.0,
    "peak_rss_mb_max": 2 * 1024,
    "marts_seconds_max": 30.0,
    "monthly_run_seconds_max": 45.0,
    "rerun_seconds_max": 10.0,
}
EXTRACTION = ("extract_establishments", "extract_legal_units", "extract_successions")


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
import json, os, resource, sys, time
from pathlib import Path
from observatory.__main__ import run
from observatory.definitions import build_definitions
from observatory.settings import Settings

data_dir, skip, sirene_dir, mode = Path(sys.argv[1]), set(filter(None, sys.argv[2].split(","))), sys.argv[3], sys.argv[4]
home = os.environ.get("DAGSTER_HOME")  # set for the incremental runs: their run history is the instance's
settings = Settings(data_dir=data_dir, sirene_dir=Path(sirene_dir) if sirene_dir else None, dagster_home=Path(home) if home else None)
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
ok = run(settings, selection, full=mode == "full")  # full: everything; incremental: only what changed
print("BENCH_RESULT " + json.dumps({
    "status": "ok" if ok else "error", "seconds": round(time.perf_counter() - t0, 1),
    "cpu_seconds": round(time.process_time() - c0, 1), "selection": selection or "everything", "mode": mode,
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
    return run_process([sys.executable, "-c", SETUP_SCRIPT, str(data), skip, "", "full"], env=_dagster_env(), log=log)


def next_month(sirene_dir: Path, out: Path) -> Path:
    """The inputs of a month where only SIRENE changed: the same files hard-linked, the succession file rewritten
    (same rows, new bytes, so a new sha256), the manifest's entry for it updated."""
    import pyarrow.parquet as pq

    from assets.sirene.schema import SUCCESSION_FILE
    from observatory.resources import sha256_of

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for f in sirene_dir.iterdir():
        if f.is_file() and f.name not in (SUCCESSION_FILE.filename, "manifest.json"):
            os.link(f, out / f.name)
    table = pq.read_table(sirene_dir / SUCCESSION_FILE.filename)
    pq.write_table(
        table.replace_schema_metadata({**(table.schema.metadata or {}), b"benchmark": b"next month"}), out / SUCCESSION_FILE.filename
    )
    manifest = json.loads((sirene_dir / "manifest.json").read_text())
    entry = manifest.get("files", {}).get(SUCCESSION_FILE.filename)
    if isinstance(entry, dict) and "sha256" in entry:
        entry["sha256"] = sha256_of(out / SUCCESSION_FILE.filename)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out


def monthly_runs(work: Path, sirene_dir: Path, log: Path) -> dict[str, Any]:
    """The monthly refresh as production runs it (``python -m observatory run``, one process each, every asset,
    blocking check and the publication, a persistent Dagster instance):

    * ``first_build``: everything, on an empty data directory (the first month ever);
    * ``monthly``: incremental, the next month, where SIRENE changed and territory did not (the budget);
    * ``rerun``: incremental, the same inputs again: nothing to recompute (the budget).
    Each process's wall time (``process_seconds``, interpreter start included) is the budgeted figure."""
    data = prepare_work_dir(work / "full_run")
    home = work / "full_run" / "dagster_home"
    if home.exists():
        shutil.rmtree(home)  # a fresh run history: the first build must really build everything
    home.mkdir(parents=True)
    shutil.copy2(ROOT / "observatory" / "dagster.yaml", home / "dagster.yaml")
    env = {**_dagster_env(), "DAGSTER_HOME": str(home)}
    month = next_month(sirene_dir, work / "sirene_next_month")
    out = {}
    for name, directory, mode in (("first_build", sirene_dir, "full"), ("monthly", month, "incremental"), ("rerun", month, "incremental")):
        print(f"  {name} ...", end=" ", flush=True)
        out[name] = run_process([sys.executable, "-c", SETUP_SCRIPT, str(data), "", str(directory), mode], env=env, log=log)
        out[name]["load"] = [round(x, 2) for x in os.getloadavg()]
        print(f"{out[name].get('status')} {out[name].get('process_seconds', '-')} s, peak {out[name].get('peak_rss_mb')} MB", flush=True)
    return out


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

    est, ul, links = last("extract_establishments"), last("extract_legal_units"), last("extract_successions")
    views: dict[str, dict[str, int]] = {name: dict(last(name)) for name in REFERENCES if last(name)}
    if est and ul and links:
        views["pipeline"] = {
            "etablissements": est["establishments_selected"],
            "etablissement_periodes": est["period_rows"] + est["duplicate_periods_removed"],
            "etablissement_stock_rows": est["stock_rows"] + est["duplicate_sirets_removed"],
            "sirens": ul["legal_units_needed"],
            "unite_legale_periodes": ul["period_rows"] + ul["duplicate_periods_removed"],
            "unites_legales": ul["stock_rows"] + ul["duplicate_sirens_removed"],
            "succession_links": links["links_kept"] + links["duplicate_links_removed"],
        }
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
    for key in COUNTS:  # the generator plants no truth for the succession links: compared between the others
        values = {n: v[key] for n, v in views.items() if key in v}
        if len(set(values.values())) > 1:
            mismatches.append({"count": key, **values})
    return {"views": views, "agree": not mismatches and len(views) >= 2, "mismatches": mismatches}


def _budget(value: float, bound: float, at_most: bool = True) -> dict[str, Any]:
    return {"value": value, ("max" if at_most else "min"): bound, "pass": value <= bound if at_most else value >= bound}


def budgets(report: dict[str, Any]) -> dict[str, Any]:
    """Every budget of issue 14 that the report has the figures for (they apply at scale 1.0)."""
    summary, scale = report["summary"], report["scale"]
    ext, keys, polars = (summary.get(k, {}) for k in ("extraction", "floor_keys", "polars"))
    res: dict[str, Any] = {"scale": scale, "applies": scale >= 1.0}
    seconds = ext.get("median_seconds")
    if seconds and keys.get("median_seconds"):
        res["extraction_vs_floor_keys"] = _budget(round(seconds / keys["median_seconds"], 2), BUDGETS["extraction_vs_floor_keys_max"])
    if seconds and (summary.get("floor") or {}).get("median_seconds"):
        # informative: the floor decoding every needed column of the matching rows
        res["extraction_vs_floor"] = {"value": round(seconds / summary["floor"]["median_seconds"], 2), "informative": True}
    if seconds and polars.get("median_seconds"):
        res["extraction_vs_polars"] = _budget(round(seconds / polars["median_seconds"], 2), BUDGETS["extraction_vs_polars_max"])
    pandas = report.get("pandas_comparison") or {}
    if pandas.get("speedup") is not None:
        res["pandas_speedup"] = {**_budget(pandas["speedup"], BUDGETS["pandas_speedup_min"], at_most=False), "scale": pandas["scale"]}
    peaks = [summary[s]["peak_rss_mb"] for s in PIPELINE if (summary.get(s) or {}).get("peak_rss_mb")]
    monthly = report.get("monthly_runs") or {}
    peaks += [r["peak_rss_mb"] for r in monthly.values() if r.get("peak_rss_mb")]
    if peaks:
        res["peak_rss_mb"] = _budget(max(peaks), BUDGETS["peak_rss_mb_max"])
    if (summary.get("marts") or {}).get("median_seconds"):
        res["marts_seconds"] = _budget(summary["marts"]["median_seconds"], BUDGETS["marts_seconds_max"])
    for name, bound in (("monthly", "monthly_run_seconds_max"), ("rerun", "rerun_seconds_max")):
        r = monthly.get(name) or {}
        if r.get("status") == "ok":
            res[f"{name}_run_seconds"] = _budget(r["process_seconds"], BUDGETS[bound])
        elif r:
            res[f"{name}_run_seconds"] = {"value": r.get("status"), "pass": False, "detail": r.get("error")}
    return res


def pandas_comparison(args: argparse.Namespace, work: Path, log: Path) -> dict[str, Any]:
    """The pipeline's extraction against pandas at ``--pandas-scale`` (pandas does not fit in memory at 1.0):
    the same benchmark, at that scale, on the extraction stages and pandas only."""
    out = work / f"pandas_{args.pandas_scale:g}.json"
    stages = ",".join((*EXTRACTION, "pandas"))
    cmd = [sys.executable, "-m", "benchmarks.run", "--scale", str(args.pandas_scale), "--generate", "--stages", stages]
    cmd += ["--repeat", str(args.repeat), "--work-dir", str(work / f"pandas_{args.pandas_scale:g}"), "--out", str(out)]
    cmd += ["--pandas-cap-gb", str(args.pandas_cap_gb)]
    proc = run_process(cmd, log=log)
    if not out.exists():
        return {"scale": args.pandas_scale, "error": proc.get("error", "no result")}
    summary = json.loads(out.read_text())["summary"]
    ext, pandas = summary.get("extraction", {}).get("median_seconds"), summary.get("pandas", {}).get("median_seconds")
    return {
        "scale": args.pandas_scale,
        "extraction_seconds": ext,
        "pandas_seconds": pandas,
        "pandas_statuses": summary.get("pandas", {}).get("statuses"),
        "speedup": round(pandas / ext, 1) if ext and pandas else None,
        "results": str(out),
    }


def print_report(report: dict[str, Any]) -> None:
    s = report["summary"]
    floor_s = (s.get("floor_keys") or {}).get("median_seconds")
    pandas_s = (s.get("pandas") or {}).get("median_seconds")
    print(
        f"\nscale {report['scale']} - {report['repeat']} repetition(s) - {report['machine']['cores']} cores, "
        f"{report['machine']['memory_gb']} GB - load before {report['load_before']}"
    )
    print(f"{'stage':<24}{'median s':>10}{'cpu s':>10}{'peak RSS MB':>13}{'x keys':>9}{'pandas /':>10}  status")
    order = ["floor", "floor_keys", *PIPELINE, "extraction", "polars", "pandas"]
    for stage in order:
        st = s.get(stage)
        if not st:
            continue
        sec = st.get("median_seconds")
        xf = f"{sec / floor_s:.2f}" if sec and floor_s and stage != "floor_keys" else ""
        xp = f"{pandas_s / sec:.1f}" if sec and pandas_s and stage not in ("pandas", "polars", "floor", "floor_keys") else ""
        status = ",".join(st.get("statuses", ["ok"])) if "statuses" in st else "ok"
        print(
            f"{stage:<24}{sec if sec is not None else '-':>10}{st.get('median_cpu_seconds') or '-':>10}"
            f"{st.get('peak_rss_mb') or '-':>13}{xf:>9}{xp:>10}  {status}"
        )
        for err in st.get("errors", [])[:2]:
            print(f"{'':<24}  ! {err[:160]}")
    for name, r in (report.get("monthly_runs") or {}).items():
        print(
            f"{'run: ' + name:<24}{r.get('process_seconds', '-'):>10}{r.get('cpu_seconds') or '-':>10}{r.get('peak_rss_mb') or '-':>13}  {r.get('status')}"
        )
    pc = report.get("pandas_comparison")
    if pc:
        print(f"pandas at scale {pc['scale']:g}: extraction {pc.get('extraction_seconds')} s, pandas {pc.get('pandas_seconds')} s")
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
        default=",".join(("floor", "floor_keys", *PIPELINE, "polars", "pandas")),
        help="comma-separated subset of floor,floor_keys,extract_establishments,...,marts,polars,pandas",
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
    ap.add_argument(
        "--pandas-scale",
        type=float,
        default=None,
        help="also compare the extraction with pandas at this scale (its inputs generated if missing): pandas runs out of "
        "memory at national scale, the 10 x budget is measured at 0.3",
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
    if args.pandas_scale:
        print(f"the extraction against pandas at scale {args.pandas_scale:g} ...", flush=True)
        report["pandas_comparison"] = pandas_comparison(args, work, log)
    if args.full_run:
        print("monthly Dagster runs on the generated files (every asset, check and the publication):", flush=True)
        report["monthly_runs"] = monthly_runs(work, args.sirene_dir, log)
    report["code"]["fingerprint_after"] = code_fingerprint()
    report["code"]["changed_during_run"] = report["code"]["fingerprint_after"] != report["code"]["fingerprint_before"]
    report["runs"] = runs
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    report["summary"] = summarize(runs)
    report["budgets"] = budgets(report)
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
