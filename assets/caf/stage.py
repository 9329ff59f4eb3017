"""CAF staging: read the files of one mode, normalize, write ``stg.caf_places_commune`` and
``stg.caf_coverage_commune`` (pure functions over a DuckDB connection, used by the assets and tests).

The tables are written year by year (:func:`observatory.partitions.replace_years` on ``caf_annee``):
a run replaces the CAF years it is given and leaves the others as they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import duckdb
import polars as pl

from assets.caf.parse import CafFormatError, combine_current_and_hist, normalize, read_any
from observatory.partitions import replace_years

HERE = Path(__file__).parent
KINDS = ("places", "coverage")
TABLES = {"places": "stg.caf_places_commune", "coverage": "stg.caf_coverage_commune"}

#: CAF figures describe December of ``caf_annee``; the observatory shows them on 1 January of the
#: next year. The yearly partition ``annee`` (the observatory's year, shared with the territory)
#: therefore holds ``caf_annee = annee - CAF_YEAR_LAG``.
CAF_YEAR_LAG = 1


def caf_years_for(annees: Iterable[int]) -> list[int]:
    """The CAF years shown on the observatory years ``annees`` (partition keys)."""
    return sorted({int(a) - CAF_YEAR_LAG for a in annees})


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
    caf_years: Iterable[int] | None = None,
) -> dict[str, Any]:
    """Replace the rows of ``caf_years`` (default: every year of the frames) in both staging tables
    with those years' rows of the normalized frames; a year the frames do not have is written empty.
    Return what an analyst should know about the tables."""
    published = sorted(set(places.get_column("caf_annee").to_list()) | set(coverage.get_column("caf_annee").to_list()))
    years = published if caf_years is None else sorted({int(y) for y in caf_years})
    if not years:
        raise CafFormatError("no CAF year to load: the files hold no row")
    con.register("caf_places_src", places.filter(pl.col("caf_annee").is_in(years)).to_arrow())
    con.register("caf_coverage_src", coverage.filter(pl.col("caf_annee").is_in(years)).to_arrow())
    written = {}
    try:
        for kind, table in TABLES.items():
            query = (HERE / f"{table.split('.')[1]}.sql").read_text(encoding="utf-8")
            written[kind] = replace_years(con, table, years, query, column="caf_annee")
    finally:
        con.unregister("caf_places_src")
        con.unregister("caf_coverage_src")
    table_years = [r[0] for r in con.execute("select distinct caf_annee from stg.caf_places_commune order by 1").fetchall()]
    missing = [y for y in range(min(table_years), max(table_years) + 1) if y not in table_years] if table_years else []
    return {
        "caf_years": table_years,
        "caf_years_missing_inside_range": missing,
        "caf_years_written": years,
        "rows_written": written,
        "communes_per_year": dict(con.execute("select caf_annee, count(*) from stg.caf_places_commune group by 1 order by 1").fetchall()),
        "children_not_derivable": con.execute("select count(*) from stg.caf_coverage_commune where enfants_moins_3_ans is null").fetchone()[
            0
        ],
    }
