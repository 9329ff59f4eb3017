"""DREES département tables -> one long table (pure function over DuckDB, used by the asset and tests)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

import duckdb
import polars as pl

from assets.drees.source import TABLES
from assets.common.identifiers import DEPARTEMENT_RE

ID_COLUMNS = ("Code région", "Code département", "Département")
YEAR = re.compile(r"^(19|20)[0-9]{2}$")
#: Published sub-totals that are not départements: Collectivité européenne d'Alsace (= 67 + 68) and
#: the two halves of the Rhône (69D Nouveau Rhône + 69M Métropole de Lyon = 69). Dropped, counted.
SUBDIVISIONS = ("6AE", "69D", "69M")


class DreesFormatError(ValueError):
    pass


def read_table(path: Path) -> pl.DataFrame:
    path = Path(path)
    if path.suffix == ".parquet":
        return pl.read_parquet(path).with_columns(pl.all().cast(pl.String))
    text = path.read_bytes().decode("utf-8-sig")
    if not text.strip():
        raise DreesFormatError(f"{path}: empty file, expected a DREES table with a header row")
    import io

    return pl.read_csv(io.StringIO(text), separator=";", infer_schema=False)


def tidy(frame: pl.DataFrame, table: int, origin: str) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Wide DREES table -> (annee, code_departement, nom_departement, code_region, indicateur, valeur)."""
    missing = [c for c in ID_COLUMNS if c not in frame.columns]
    if missing:
        raise DreesFormatError(f"{origin}: column(s) {missing} missing; expected {list(ID_COLUMNS)} then one column per year")
    years = [c for c in frame.columns if YEAR.match(c.strip())]
    if not years:
        raise DreesFormatError(f"{origin}: no year column (expected headers like 2015, 2016, ...), found {frame.columns}")
    indicator, unit = TABLES[table]
    df = frame.with_columns(pl.col("Code département").str.strip_chars())
    dropped = df.filter(pl.col("Code département").is_in(list(SUBDIVISIONS))).height
    df = df.filter(~pl.col("Code département").is_in(list(SUBDIVISIONS)))
    bad = df.filter(~pl.col("Code département").str.contains(DEPARTEMENT_RE))
    if bad.height:
        raise DreesFormatError(
            f"{origin}: column Code département: {bad.height} value(s) are not département codes "
            f"(e.g. {bad.get_column('Code département').head(3).to_list()})"
        )
    long = df.unpivot(index=list(ID_COLUMNS), on=years, variable_name="annee", value_name="brut")
    cleaned = long.get_column("brut").str.replace_all(r"[\s\u00a0\u202f]", "")
    value = pl.when(cleaned.is_in(["", "NaN", "nan", "nd", "ND", "s", "-"]) | cleaned.is_null()).then(None).otherwise(cleaned)
    long = long.with_columns(value.alias("brut_net"))
    long = long.with_columns(pl.col("brut_net").cast(pl.Float64, strict=False).alias("valeur"))
    unparsed = long.filter(pl.col("valeur").is_null() & pl.col("brut_net").is_not_null())
    if unparsed.height:
        raise DreesFormatError(
            f"{origin}: {unparsed.height} value(s) are not numbers (e.g. {unparsed.get_column('brut').head(3).to_list()})"
        )
    out = long.select(
        pl.col("annee").str.strip_chars().cast(pl.Int32),
        pl.col("Code département").alias("code_departement"),
        pl.col("Département").alias("nom_departement"),
        pl.col("Code région").str.strip_chars().alias("code_region"),
        pl.lit(indicator).alias("indicateur"),
        pl.lit(unit).alias("unite"),
        pl.col("valeur"),
        pl.lit(f"tab{table}").alias("tableau"),
    )
    return out, {"rows": out.height, "subdivisions_dropped": dropped, "missing_values": int(out.get_column("valeur").null_count())}


def load_drees(con: duckdb.DuckDBPyConnection, paths: Mapping[int, Path]) -> dict[str, Any]:
    frames, stats = [], {}
    for table, path in sorted(paths.items()):
        frame, st = tidy(read_table(path), table, str(path))
        frames.append(frame)
        stats[f"tab{table}"] = st
    con.register("drees_src", pl.concat(frames).to_arrow())
    try:
        con.execute(
            "create or replace table stg.drees_offre_departement as select * from drees_src order by indicateur, annee, code_departement"
        )
    finally:
        con.unregister("drees_src")
    return stats
