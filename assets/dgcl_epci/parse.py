"""Reader of DGCL epcicom tables (CSV as published: ';', cp1252; or the embedded Parquet)."""

from pathlib import Path

import polars as pl

from assets.common.validate import InputError, check_file, normalize_membership

COLUMNS = {
    "code_commune": "insee",
    "nom_commune": "nom_com",
    "epci_siren": "siren",
    "epci_nom": "nom",
    "epci_nature": "nature",
    "population_totale": "ptot_com",
}


def read_epcicom_csv(path: Path) -> pl.DataFrame:
    check_file(path)
    try:
        return pl.read_csv(path, separator=";", infer_schema=False, encoding="cp1252")
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise InputError(
            f"{path}: unreadable CSV ({str(exc).splitlines()[0]}); expected ';'-separated epcicom columns {list(COLUMNS.values())}"
        ) from exc


def membership(df: pl.DataFrame, *, file: str | Path, fixes: dict) -> pl.DataFrame:
    """One year of epcicom -> ``code_commune, nom_commune, epci_siren, epci_nom, epci_nature, population_totale``."""
    out = normalize_membership(df, file=file, columns=COLUMNS, fixes=fixes)
    bad = out.filter(pl.col("population_totale").is_not_null() & ~pl.col("population_totale").str.contains(r"^\d+$"))
    if bad.height:
        raise InputError(
            f"{file}: column 'ptot_com': {bad.height} values are not whole numbers, e.g. {bad['population_totale'].head(3).to_list()}"
        )
    return out.with_columns(pl.col("population_totale").cast(pl.Int64))
