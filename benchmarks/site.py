"""Budgets of the static site (issue 12): France page under 3 MB, whole site under 60 MB, build under 60 s.

    python -m benchmarks.site [--marts data/marts] [--repeat 3]   (make bench-site)

Builds the site of an existing publication (``make run`` first) into a temporary folder ``--repeat`` times, each
in the same process after one untimed warm-up import, and reports the median wall and CPU time, the size of the
whole site and the weight of each kind of page: the HTML plus every file it loads (scripts, style, data), which is
what a browser reads to show it. Exit status 1 when a budget is exceeded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

from assets.site.build import build_site

ROOT = Path(__file__).resolve().parent.parent
BUDGETS = {"france_page_mb": 3.0, "site_mb": 60.0, "build_s": 60.0}
PAGES = {
    "France (index.html)": "index.html",
    "carte": "carte.html",
    "fusions": "fusions.html",
    "données": "donnees.html",
    "EPCI (Métropole de Lyon)": "epci/200046977.html",
    "département (Rhône)": "departement/69.html",
}
LOADS = re.compile(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"')


def page_weight(site: Path, rel: str) -> int:
    """Bytes a browser reads for one page: the HTML and the files its script / link tags load."""
    page = site / rel
    html = page.read_text(encoding="utf-8")
    files = {page} | {(page.parent / ref).resolve() for ref in LOADS.findall(html)}
    return sum(f.stat().st_size for f in files if f.exists())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.site")
    parser.add_argument("--marts", type=Path, default=ROOT / "data" / "marts")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    walls, cpus, figures = [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            out = Path(tmp) / f"site{i}"
            t0, c0 = time.perf_counter(), time.process_time()
            figures = build_site(args.marts, out)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        site = Path(tmp) / f"site{args.repeat - 1}"
        weights = {name: page_weight(site, rel) for name, rel in PAGES.items() if (site / rel).exists()}
        result = {
            "cores": os.cpu_count(),
            "build_wall_s_median": round(statistics.median(walls), 2),
            "build_cpu_s_median": round(statistics.median(cpus), 2),
            "build_wall_s_all": [round(w, 2) for w in walls],
            "pages": figures["pages"],
            "site_mb": round(figures["bytes"] / 1e6, 2),
            "page_mb": {k: round(v / 1e6, 2) for k, v in weights.items()},
        }
    checks = {
        "france_page_mb": result["page_mb"]["France (index.html)"] <= BUDGETS["france_page_mb"],
        "site_mb": result["site_mb"] <= BUDGETS["site_mb"],
        "build_s": result["build_wall_s_median"] <= BUDGETS["build_s"],
    }
    result["budgets"] = {k: {"budget": BUDGETS[k], "ok": ok} for k, ok in checks.items()}
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
