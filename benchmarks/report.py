"""Markdown tables for ``docs/performance.md`` from benchmark result files.

    python -m benchmarks.report benchmarks/out/results/bench_0.1_*.json ... bench_1_*.json

The last file given per scale is used. Prints the national results table (the largest scale) and
the growth-with-scale table, so the document is copied from the measurements, never retyped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.stages import PIPELINE

LABELS = {
    "floor": "floor (needed columns, counts only)",
    "floor_keys": "**key-only floor** (filter and key columns)",
    "extract_establishments": "extraction: establishments + periods",
    "extract_legal_units": "extraction: legal units + periods",
    "extract_successions": "extraction: succession links",
    "extraction": "**extraction (all three)**",
    "classification": "classification (`int.operator_years`)",
    "facility_years": "facility-years (`int.facility_years`)",
    "marts": "marts rebuild, all years",
    "polars": "Polars lazy reference (hand-written)",
    "pandas": "pandas baseline",
}


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "-"
    return f"{v:,.{digits}f}" if isinstance(v, (int, float)) else str(v)


def national_table(r: dict[str, Any]) -> str:
    s = r["summary"]
    floor = s["floor_keys"]["median_seconds"]
    rows = ["| stage | median s | CPU s | peak RSS MB | × key-only floor | runs |", "|---|---:|---:|---:|---:|---|"]
    for stage in ("floor", "floor_keys", *PIPELINE[:3], "extraction", *PIPELINE[3:], "polars", "pandas"):
        st = s.get(stage)
        if not st:
            continue
        sec = st.get("median_seconds")
        statuses = ", ".join(st.get("statuses", ["ok"])) if "statuses" in st else "ok"
        if stage == "pandas" and sec is None:
            statuses = "; ".join(st.get("errors", [])) or statuses
        seconds = [x for x in st.get("all_seconds", []) if x is not None]
        runs = f"{statuses}: " + ", ".join(_fmt(x, 2) for x in seconds) if seconds else statuses
        rows.append(
            f"| {LABELS.get(stage, stage)} | {_fmt(sec, 2)} | {_fmt(st.get('median_cpu_seconds'), 1)} | "
            f"{_fmt(st.get('peak_rss_mb'), 0)} | {_fmt(sec / floor, 2) if sec and floor and stage != 'floor_keys' else ''} | {runs} |"
        )
    return "\n".join(rows)


def budget_table(r: dict[str, Any]) -> str:
    b = r["budgets"]
    rows = ["| budget (2 cores, 24 GB, national) | measured | verdict |", "|---|---|---|"]
    pandas_scale = (r.get("pandas_comparison") or {}).get("scale")
    names = {
        "extraction_vs_floor_keys": "extraction ≤ 1.5 × the key-only floor",
        "extraction_vs_polars": "extraction ≤ 1.2 × the hand-written Polars query",
        "pandas_speedup": f"≥ 10 × faster than pandas (scale {pandas_scale})",
        "peak_rss_mb": "peak RSS ≤ 2 GB (every stage and monthly run)",
        "marts_seconds": "marts rebuild, all years < 30 s",
        "monthly_run_seconds": "monthly run, SIRENE changed, territory not ≤ 45 s",
        "rerun_seconds": "rerun, nothing changed ≤ 10 s",
        "extraction_vs_floor": "(informative) extraction / floor decoding every needed column",
    }
    for key, label in names.items():
        v = b.get(key)
        if v is None:
            continue
        verdict = "informative" if v.get("informative") else ("pass" if v["pass"] else "**FAIL**")
        rows.append(f"| {label} | {v['value']} | {verdict} |")
    for name, run in (r.get("monthly_runs") or {}).items():
        rows.append(
            f"| ({name}: `python -m observatory run`, whole process) | {_fmt(run.get('process_seconds'), 1)} s, "
            f"{_fmt(run.get('peak_rss_mb'), 0)} MB, load {run.get('load')} | {run.get('status')} |"
        )
    return "\n".join(rows)


def growth_table(results: list[dict[str, Any]]) -> str:
    results = sorted(results, key=lambda r: r["scale"])
    head = "| stage | " + " | ".join(f"scale {r['scale']:g}" for r in results) + " |"
    rows = [head, "|---|" + "---:|" * len(results)]
    inputs = ["input rows (establishments / periods)"]
    for r in results:
        f = r["inputs"]["files"] or {}
        inputs.append(
            f"{f.get('StockEtablissement_utf8.parquet', {}).get('rows', 0) / 1e6:.1f} M / "
            f"{f.get('StockEtablissementHistorique_utf8.parquet', {}).get('rows', 0) / 1e6:.1f} M"
        )
    rows.append("| " + " | ".join(inputs) + " |")
    rows.append("| input size GB | " + " | ".join(_fmt((r["inputs"]["total_bytes"] or 0) / 1e9, 2) for r in results) + " |")
    rows.append(
        "| childcare establishments found | "
        + " | ".join(_fmt(r["correctness"]["views"].get("pipeline", {}).get("etablissements"), 0) for r in results)
        + " |"
    )
    for stage in ("floor", "floor_keys", "extraction", "classification", "facility_years", "marts", "polars", "pandas"):
        cells = []
        for r in results:
            st = r["summary"].get(stage, {})
            sec = st.get("median_seconds")
            cells.append(
                f"{_fmt(sec, 2)} s / {_fmt(st.get('peak_rss_mb'), 0)} MB"
                if sec is not None
                else f"killed at {_fmt(st.get('peak_rss_mb'), 0)} MB"
                if st
                else "-"
            )
        rows.append(f"| {LABELS.get(stage, stage)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    if not paths:
        print(__doc__)
        return 2
    by_scale: dict[float, dict[str, Any]] = {}
    for p in paths:
        r = json.loads(p.read_text())
        r["_file"] = p.name
        by_scale[r["scale"]] = r
    top = by_scale[max(by_scale)]
    print(f"<!-- generated by python -m benchmarks.report from {', '.join(r['_file'] for r in by_scale.values())} -->\n")
    print(
        f"National run ({top['_file']}; load average before {top['load_before']}, code {top['code']['git_head']} "
        f"fingerprint {top['code']['fingerprint_before']}, changed during run: {top['code']['changed_during_run']}):\n"
    )
    print(national_table(top) + "\n")
    print(budget_table(top) + "\n")
    print("Growth with scale (median seconds / peak RSS):\n")
    print(growth_table(list(by_scale.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
