"""One benchmark stage per process: ``python -m benchmarks.stages <stage> --db ... --sirene-dir ...``.

``run.py`` starts every stage in a fresh interpreter, so each stage's peak RSS is its own (the
kernel's high-water mark, ``ru_maxrss``) and no cache survives from one stage to the next. The
stage prints one JSON line: wall and CPU seconds of the timed call only (imports and connection
excluded), peak RSS, and what the call returned (row counts, used by the correctness checks).

Pipeline stages call the real pipeline code with the production settings of the warehouse
(``observatory.resources.Warehouse``: DuckDB memory limit and threads):

* ``extract_establishments`` / ``extract_legal_units`` / ``extract_successions``: ``assets.sirene.extract``
  (the three together are "the extraction" of the budgets);
* ``classification``: ``assets.sirene.operators.build_operator_years`` (``int.operator_years``);
* ``facility_years``: ``assets.sirene.facility_years.build_facility_years``;
* ``marts``: ``assets.marts.build.rebuild_marts`` (every mart, every year).

Reference stages, each making the extraction's selection (establishments ever coded 88.91A or whose own
name says EAJE, their periods and stock rows, their legal units, the succession links touching them):
``floor`` (``floor_counts``: DuckDB scanning the columns the extraction needs and counting the rows it
must return, writing nothing), ``floor_keys`` (the same, reading only the columns the selection
filters and joins on), ``pandas`` (``benchmarks.pandas_baseline``) and ``polars``
(``benchmarks.polars_reference``: the lazy query a skilled analyst would write instead).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

NAF_EAJE = "88.91A"

#: Pipeline stages in dependency order (each needs the tables of the previous ones).
PIPELINE = ("extract_establishments", "extract_legal_units", "extract_successions", "classification", "facility_years", "marts")
REFERENCES = ("floor", "floor_keys", "pandas", "polars")


class NotAvailable(RuntimeError):
    """The pipeline code a stage times is not in the tree (yet): reported, never faked."""


def _warehouse(db: Path, memory_limit: str | None, threads: int | None):
    from observatory.resources import Warehouse

    kwargs: dict[str, Any] = {"path": str(db)}
    if memory_limit:
        kwargs["memory_limit"] = memory_limit
    if threads:
        kwargs["threads"] = threads
    return Warehouse(**kwargs)


def _import(module: str, name: str) -> Callable:
    try:
        mod = __import__(module, fromlist=[name])
        return getattr(mod, name)
    except (ImportError, AttributeError) as exc:
        raise NotAvailable(f"{module}.{name} is not available: {exc}") from exc


def _sirene_files(con, sirene_dir: Path):
    SireneFiles = _import("assets.sirene.extract", "SireneFiles")
    return SireneFiles.in_dir(sirene_dir, con)


def _strip(result: Any) -> Any:
    """Keep the figures of a builder's summary, not the bulky file descriptions."""
    if isinstance(result, dict):
        return {k: _strip(v) for k, v in result.items() if k != "files"}
    return result


def input_paths(sirene_dir: Path) -> dict[str, str]:
    """The paths of the five files the extraction reads, by their key in ``assets.sirene.extract.COLUMNS``."""
    from assets.sirene.schema import STOCK_FILES, SUCCESSION_FILE

    return {f.key: str(Path(sirene_dir) / f.filename) for f in (*STOCK_FILES, SUCCESSION_FILE)}


#: What every reference stage returns: the rows the extraction must read from each file.
COUNTS = (
    "etablissements",
    "etablissement_periodes",
    "etablissement_stock_rows",
    "sirens",
    "unite_legale_periodes",
    "unites_legales",
    "succession_links",
)


def _needed_columns(key: str) -> list[str]:
    """The columns the pipeline's extraction reads from one file (``assets.sirene.extract``)."""
    COLUMNS = _import("assets.sirene.extract", "COLUMNS")
    return [c.source for c in COLUMNS[key]]


def floor_counts(con, sirene_dir: Path, needed_columns: bool = True) -> dict[str, int]:
    """The scan floor: find the rows an extraction must return, and count them.

    The selection is the extraction's (``assets.sirene.extract``): establishments whose activity was
    88.91A in a period or in the stock, or whose own names say EAJE. ``needed_columns`` (``floor``):
    every column the extraction reads is scanned and decoded (``count(column)`` of each) for the
    matching rows, but nothing is written. Without it (``floor_keys``, the budget's floor): only the
    columns the selection filters and joins on (activity code, the four names, siret, siren, the two
    sirets of a link), the bound an engine decoding the other columns of the matching rows only could
    approach.
    """
    own_name = _import("assets.sirene.extract", "OWN_NAME_MATCHES")
    patterns = _import("assets.sirene.classification", "SCOPE_PATTERNS")
    p = input_paths(sirene_dir)

    def counted(key: str) -> str:
        if not needed_columns:
            return "count(*)"
        return "count(*) + 0 * (" + " + ".join(f'count("{c}")' for c in _needed_columns(key)) + ")"

    # The selection is kept in a temp table, as the pipeline does: a CTE used four times could be
    # inlined and re-scan the files.
    con.execute(
        f"""
        create or replace temp table _floor_sirets as
        select siret from read_parquet($eh) where activitePrincipaleEtablissement = $naf or {own_name}
        union
        select siret from read_parquet($e) where activitePrincipaleEtablissement = $naf or {own_name}
        """,
        {"eh": p["etablissement_historique"], "e": p["etablissement"], "naf": NAF_EAJE, "re_eaje": patterns["eaje"]},
    )
    con.execute("create or replace temp table _floor_sirens as select distinct left(siret, 9) as siren from _floor_sirets")

    def count(key: str, where: str) -> int:
        return con.execute(f"select {counted(key)} from read_parquet($f) where {where}", {"f": p[key]}).fetchone()[0]

    row = [
        con.execute("select count(*) from _floor_sirets").fetchone()[0],
        count("etablissement_historique", "siret in (select siret from _floor_sirets)"),
        count("etablissement", "siret in (select siret from _floor_sirets)"),
        con.execute("select count(*) from _floor_sirens").fetchone()[0],
        count("unite_legale_historique", "siren in (select siren from _floor_sirens)"),
        count("unite_legale", "siren in (select siren from _floor_sirens)"),
        count(
            "succession",
            "siretEtablissementPredecesseur in (select siret from _floor_sirets) "
            "or siretEtablissementSuccesseur in (select siret from _floor_sirets)",
        ),
    ]
    return dict(zip(COUNTS, map(int, row)))


def run_stage(
    stage: str,
    db: Path,
    sirene_dir: Path,
    *,
    seed: int,
    memory_limit: str | None,
    threads: int | None,
    geo_dir: Path | None,
    geo_out_dir: Path | None,
) -> dict[str, Any]:
    """Run one stage; return its timing and result."""
    if stage == "pandas":
        from benchmarks.pandas_baseline import extract as pandas_extract

        return _timed(lambda: pandas_extract(sirene_dir))
    if stage == "polars":
        from benchmarks.polars_reference import extract as polars_extract

        return _timed(lambda: polars_extract(sirene_dir, threads))

    if stage in ("floor", "floor_keys"):
        # same DuckDB settings as the pipeline's warehouse, in memory: the floor writes nothing
        with _warehouse(Path(":memory:"), memory_limit, threads).connect() as con:
            return _timed(lambda: floor_counts(con, sirene_dir, needed_columns=stage == "floor"))
    wh = _warehouse(db, memory_limit, threads)
    with wh.connect() as con:
        if stage == "extract_establishments":
            fn = _import("assets.sirene.extract", "extract_establishments")
            files = _sirene_files(con, sirene_dir)  # footer inspection: part of the stage, as in the asset
            return _timed(lambda: fn(con, files))
        if stage == "extract_legal_units":
            fn = _import("assets.sirene.extract", "extract_legal_units")
            files = _sirene_files(con, sirene_dir)
            return _timed(lambda: fn(con, files))
        if stage == "extract_successions":
            fn = _import("assets.sirene.extract", "extract_successions")
            return _timed(lambda: fn(con, Path(input_paths(sirene_dir)["succession"])))
        if stage == "classification":
            fn = _import("assets.sirene.operators", "build_operator_years")
            return _timed(lambda: fn(con))
        if stage == "facility_years":
            fn = _import("assets.sirene.facility_years", "build_facility_years")
            return _timed(lambda: fn(con))
        if stage == "marts":
            fn = _import("assets.marts.build", "rebuild_marts")
            kwargs: dict[str, Any] = {"seed": seed}
            if geo_dir is not None and geo_out_dir is not None:
                kwargs.update(geo_dir=geo_dir, geo_out_dir=geo_out_dir)
            return _timed(lambda: fn(con, **kwargs))
    raise ValueError(f"unknown stage {stage!r}: expected one of {PIPELINE + REFERENCES}")


def _timed(call: Callable[[], Any]) -> dict[str, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    result = call()
    return {
        "seconds": round(time.perf_counter() - t0, 3),
        "cpu_seconds": round(time.process_time() - c0, 3),
        "result": _strip(result),
    }


def peak_rss_mb() -> float:
    # Linux reports ru_maxrss in kilobytes.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="run one benchmark stage in this process")
    ap.add_argument("stage", choices=PIPELINE + REFERENCES)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--sirene-dir", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=20170101)
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory_limit (default: the Warehouse's)")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: the Warehouse's)")
    ap.add_argument("--geo-dir", type=Path, default=None)
    ap.add_argument("--geo-out-dir", type=Path, default=None)
    a = ap.parse_args(argv)
    out: dict[str, Any] = {"stage": a.stage, "pid": os.getpid()}
    try:
        out.update(
            run_stage(
                a.stage,
                a.db,
                a.sirene_dir,
                seed=a.seed,
                memory_limit=a.memory_limit,
                threads=a.threads,
                geo_dir=a.geo_dir,
                geo_out_dir=a.geo_out_dir,
            )
        )
        out["status"] = "ok"
    except NotAvailable as exc:
        out.update(status="not_available", error=str(exc))
    except MemoryError as exc:
        out.update(status="oom", error=f"MemoryError: {exc}")
    except Exception as exc:  # reported in the results, with the traceback, never hidden
        out.update(status="error", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=8))
    out["peak_rss_mb"] = peak_rss_mb()
    print("BENCH_RESULT " + json.dumps(out, default=str), flush=True)
    return 0 if out["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
