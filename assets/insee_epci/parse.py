"""Reader of the INSEE composition files exactly as published (zip -> xls/xlsx -> sheet)."""

import zipfile
from pathlib import Path

import polars as pl

from assets.common.validate import InputError, check_file, normalize_membership, read_zip_member
from observatory.resources import ZIP_MAGIC

SHEET = "Composition_communale"
EPCI_SHEET = "EPCI"
TITLE_ROWS = 5
COLUMNS = ("CODGEO", "LIBGEO", "EPCI", "LIBEPCI", "DEP", "REG")
EPCI_COLUMNS = ("EPCI", "LIBEPCI", "NATURE_EPCI")


def read_composition_zip(path: Path, sheet: str = SHEET) -> pl.DataFrame:
    """One sheet of the only .xls/.xlsx in the zip (5 title rows skipped), all columns as text."""
    import pandas as pd  # Excel readers (xlrd / openpyxl) come through pandas

    check_file(path, expect_magic=(ZIP_MAGIC,))
    try:
        with zipfile.ZipFile(path) as zf:
            sheets = [n for n in zf.namelist() if n.lower().endswith((".xls", ".xlsx")) and not n.startswith("__MACOSX")]
            if len(sheets) != 1:
                raise InputError(f"{path}: expected exactly one .xls/.xlsx in the zip, found {sheets or zf.namelist()}")
            inner = sheets[0]
            data = read_zip_member(zf, inner, file=path)
    except zipfile.BadZipFile as exc:
        raise InputError(f"{path}: not a readable zip archive ({exc}); truncated download?") from exc
    import io

    try:
        frame = pd.read_excel(
            io.BytesIO(data),
            sheet_name=sheet,
            skiprows=TITLE_ROWS,
            dtype=str,
            engine="xlrd" if inner.lower().endswith(".xls") else "openpyxl",
        )
    except ValueError as exc:  # pandas: "Worksheet named ... not found"
        raise InputError(f"{path} ({inner}): no sheet {sheet!r} ({exc})") from exc
    except Exception as exc:  # a damaged workbook inside a valid zip
        raise InputError(f"{path} ({inner}): unreadable workbook ({type(exc).__name__}: {exc}); truncated file?") from exc
    frame = frame.dropna(how="all")
    return pl.from_pandas(frame.astype(object).where(frame.notna(), None), schema_overrides={c: pl.Utf8 for c in frame.columns})


def membership_from_zip(path: Path, *, fixes: dict, min_rows: int = 1) -> pl.DataFrame:
    """``code_commune, nom_commune, epci_siren, epci_nom, code_departement, code_region`` (epci NULL = none)."""
    raw = read_composition_zip(path)
    return normalize_membership(
        raw,
        file=path,
        columns={
            "code_commune": "CODGEO",
            "nom_commune": "LIBGEO",
            "epci_siren": "EPCI",
            "epci_nom": "LIBEPCI",
            "code_departement": "DEP",
            "code_region": "REG",
        },
        fixes=fixes,
        min_rows=min_rows,
    )


def epci_natures_from_zip(path: Path) -> pl.DataFrame:
    """``epci_siren, epci_nom, epci_nature`` from the ``EPCI`` sheet (the composition sheet has no nature)."""
    from assets.common.validate import require_columns

    raw = read_composition_zip(path, EPCI_SHEET)
    require_columns(raw, EPCI_COLUMNS, file=f"{path} (sheet {EPCI_SHEET})")
    return raw.select(
        pl.col("EPCI").str.strip_chars().alias("epci_siren"),
        pl.col("LIBEPCI").alias("epci_nom"),
        pl.col("NATURE_EPCI").alias("epci_nature"),
    )
