"""CAF staging: read the files of one mode, normalize, write ``stg.caf_places_commune`` and
``stg.caf_coverage_commune`` (pure functions over a DuckDB connection, used by the assets and tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import duckdb
import polars as pl

from assets.caf.api import CafFormatError, combine_current_and_hist, normalize, read_any

HERE = Path(__file__).parent
KINDS = ("places", "coverage")


def read_kind(paths: Sequence[Path], kind: str, source: str) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Normalize the files of one kind; with two files the first is the current dataset, the second ``_hist``."""
    if not paths:
        raise CafFormatError(f"no CAF {kind} file given")
    frames, stats = [], {}
    for path in paths:
        frame, st = normalize(read_any(Path(path)), kind, origin=str(path))
        frames.append(frame)
        stats[Path(path).name] = st
    combined = frames[0] if len(frames) == 1 else combine_current_and_hist(frames[0], frames[1])
    combined = combined.with_columns(pl.lit(source).alias("source"))
    return combined, stats


def load_caf(
    con: duckdb.DuckDBPyConnection,
    places: pl.DataFrame,
    coverage: pl.DataFrame,
) -> dict[str, Any]:
    """Write both staging tables from normalized frames; return what an analyst should know about them."""
    con.register("caf_places_src", places.to_arrow())
    con.register("caf_coverage_src", coverage.to_arrow())
    try:
        for name in ("caf_places_commune", "caf_coverage_commune"):
            con.execute((HERE / f"{name}.sql").read_text(encoding="utf-8"))
    finally:
        con.unregister("caf_places_src")
        con.unregister("caf_coverage_src")
    years = [r[0] for r in con.execute("select distinct caf_annee from stg.caf_places_commune order by 1").fetchall()]
    missing = [y for y in range(min(years), max(years) + 1) if y not in years] if years else []
    return {
        "caf_years": years,
        "caf_years_missing_inside_range": missing,
        "communes_per_year": dict(
            con.execute("select caf_annee, count(*) from stg.caf_places_commune group by 1 order by 1").fetchall()
        ),
        "children_not_derivable": con.execute(
            "select count(*) from stg.caf_coverage_commune where enfants_moins_3_ans is null"
        ).fetchone()[0],
    }
