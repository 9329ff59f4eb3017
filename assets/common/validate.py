"""Checks on input files, before anything is staged (shared by every source package).

Every failure names the file, the column and what was expected. The one repair applied silently
is documented and unambiguous: a commune code of 4 digits lost its leading zero (DGCL files, CSVs
opened in a spreadsheet) and is zero-padded to 5; each repair is counted in the returned ``fixes``
so the asset can record it in its metadata.
"""

import re
import zipfile
from pathlib import Path
from typing import Sequence

import polars as pl

from assets.common.identifiers import COMMUNE_RE, SIREN_RE
from observatory.resources import check_not_html

#: Value the INSEE files use for "no EPCI" (the four island communes, with LIBEPCI "Sans objet").
NO_EPCI = "ZZZZZZZZZ"


class InputError(ValueError):
    """A territorial input file is not what its loader expects."""


def check_file(path: Path, *, expect_magic: Sequence[bytes] = ()) -> None:
    """Existing, non-empty, not an HTML error page, right magic number."""
    if not Path(path).exists():
        raise InputError(f"{path}: file missing")
    check_not_html(Path(path), expect_magic=expect_magic)


#: Largest decompressed size of a zip member we read (the INSEE EPCI workbooks are a few MB): a bigger one is a
#: zip bomb or the wrong archive, refused before it fills the memory.
ZIP_MEMBER_CAP = 200 * 1024 * 1024


def read_zip_member(zf: "zipfile.ZipFile", name: str, *, file: str | Path, cap: int = ZIP_MEMBER_CAP) -> bytes:
    """The bytes of member ``name``, refusing more than ``cap`` bytes once decompressed (the declared size is
    checked first, then the bytes actually read: a header can lie)."""
    info = zf.getinfo(name)
    too_big = f"{file} ({name}): decompresses to more than {cap:,} bytes, expected at most {cap:,} (a zip bomb or the wrong archive?)"
    if info.file_size > cap:
        raise InputError(too_big)
    out = bytearray()
    with zf.open(info) as member:
        while chunk := member.read(1 << 20):
            out += chunk
            if len(out) > cap:
                raise InputError(too_big)
    return bytes(out)


def require_columns(df: pl.DataFrame, expected: Sequence[str], *, file: str | Path) -> None:
    missing = [c for c in expected if c not in df.columns]
    if missing:
        raise InputError(
            f"{file}: column {missing[0]!r} missing"
            + (f" (and {missing[1:]})" if len(missing) > 1 else "")
            + f"; expected columns {list(expected)}, found {df.columns}"
        )


def require_rows(df: pl.DataFrame, *, file: str | Path, what: str = "data rows", min_rows: int = 1) -> None:
    if df.height < min_rows:
        raise InputError(f"{file}: {df.height} {what}, expected at least {min_rows} (empty or truncated file?)")


def fix_codes(
    df: pl.DataFrame,
    column: str,
    *,
    file: str | Path,
    width: int,
    pattern: str,
    what: str,
    fixes: dict,
    allow: Sequence[str] = (),
) -> pl.DataFrame:
    """Strip, zero-pad codes that lost their leading zero, then insist on ``pattern``.

    ``fixes[f"{column}: zero-padded"]`` counts the padded values (with a few examples).
    Values in ``allow`` (placeholders such as ``ZZZZZZZZZ``) pass untouched.
    """
    col = pl.col(column).cast(pl.Utf8).str.strip_chars()
    short = re.compile(rf"^[0-9]{{{width - 1}}}$")
    df = df.with_columns(col.alias(column))
    values = df.get_column(column)
    padded = values.filter(values.str.contains(short.pattern).fill_null(False))
    if padded.len():
        entry = fixes.setdefault(f"{column}: zero-padded to {width} characters", {"count": 0, "examples": []})
        entry["count"] += padded.len()
        entry["examples"] = (entry["examples"] + padded.head(3).to_list())[:3]
        df = df.with_columns(
            pl.when(pl.col(column).str.contains(short.pattern))
            .then(pl.col(column).str.zfill(width))
            .otherwise(pl.col(column))
            .alias(column)
        )
    bad = df.filter(pl.col(column).is_null() | (~pl.col(column).str.contains(pattern) & ~pl.col(column).is_in(list(allow)))).get_column(
        column
    )
    if bad.len():
        raise InputError(
            f"{file}: column {column!r}: {bad.len()} values are not {what} (expected /{pattern}/), e.g. {bad.head(5).to_list()}"
        )
    return df


def require_unique(df: pl.DataFrame, columns: Sequence[str], *, file: str | Path, what: str) -> None:
    dup = df.group_by(list(columns)).len().filter(pl.col("len") > 1)
    if dup.height:
        examples = dup.head(5).select(list(columns)).rows()
        raise InputError(
            f"{file}: {dup.height} {what} appear more than once in column(s) {list(columns)} (expected one row each), e.g. {examples}"
        )


def normalize_membership(
    df: pl.DataFrame,
    *,
    file: str | Path,
    columns: dict[str, str],
    fixes: dict,
    min_rows: int = 1,
) -> pl.DataFrame:
    """A commune -> EPCI table as published -> ``code_commune, epci_siren, epci_nom, ...``.

    ``columns`` maps our names to the file's (at least ``code_commune`` and ``epci_siren``).
    Commune codes are zero-padded when they lost their leading zero; the EPCI placeholder
    ``ZZZZZZZZZ`` becomes NULL (commune outside any EPCI); a commune listed twice is an error.
    """
    require_columns(df, list(columns.values()), file=file)
    require_rows(df, file=file, what="commune rows", min_rows=min_rows)
    code, epci = columns["code_commune"], columns["epci_siren"]
    out = df.select([pl.col(src).cast(pl.Utf8) for src in columns.values()])
    out = fix_codes(out, code, file=file, width=5, pattern=COMMUNE_RE, what="commune codes", fixes=fixes)
    out = fix_codes(out, epci, file=file, width=9, pattern=SIREN_RE, what="EPCI SIREN", fixes=fixes, allow=(NO_EPCI,))
    require_unique(out, [code], file=file, what="communes")
    out = out.rename({src: ours for ours, src in columns.items()})
    return out.with_columns(pl.when(pl.col("epci_siren") == NO_EPCI).then(None).otherwise(pl.col("epci_siren")).alias("epci_siren"))


def read_parquet(path: Path) -> pl.DataFrame:
    """A Parquet file as a frame; a damaged file is an :class:`InputError` naming it."""
    try:
        return pl.read_parquet(path)
    except Exception as exc:  # polars raises several types for a damaged footer
        raise InputError(f"{path}: unreadable Parquet ({type(exc).__name__}: {str(exc).splitlines()[0]}); truncated file?") from exc


#: The Métropole de Lyon: a collectivité à statut particulier, listed with the EPCI by every source.
METROPOLE_DE_LYON = "200046977"
#: EPCI nature codes harmonised across sources (Etalab METRO = INSEE ME).
NATURES = {"CC": "CC", "CA": "CA", "CU": "CU", "ME": "ME", "METRO": "ME", "SA": "SA", "SAN": "SA", "MET69": "MET69", "METLYON": "MET69"}


def harmonise_natures(m: pl.DataFrame) -> pl.DataFrame:
    """One spelling of the EPCI natures across sources; the Métropole de Lyon is MET69; no nature nor
    name for a commune outside any EPCI."""
    nature = pl.col("epci_nature").replace_strict(NATURES, default=pl.col("epci_nature"))
    return m.with_columns(
        pl.when(pl.col("epci_siren").is_null())
        .then(None)
        .when(pl.col("epci_siren") == METROPOLE_DE_LYON)
        .then(pl.lit("MET69"))
        .otherwise(nature)
        .alias("epci_nature"),
        pl.when(pl.col("epci_siren").is_null()).then(None).otherwise(pl.col("epci_nom")).alias("epci_nom"),
    )


def reconcile(a: pl.DataFrame, b: pl.DataFrame, label_a: str, label_b: str) -> dict:
    """Commune-by-commune comparison of two memberships of the same year (NULL EPCI = none)."""
    ea = dict(a.select("code_commune", "epci_siren").rows())
    eb = dict(b.select("code_commune", "epci_siren").rows())
    both = sorted(set(ea) & set(eb))
    differ = [(c, ea[c], eb[c]) for c in both if ea[c] != eb[c]]
    only_a, only_b = sorted(set(ea) - set(eb)), sorted(set(eb) - set(ea))
    return {
        "communes_compared": len(both),
        "same_epci": len(both) - len(differ),
        "different_epci": len(differ),
        "different_examples": differ[:5],
        f"only_in_{label_a}": len(only_a),
        f"only_in_{label_a}_examples": only_a[:5],
        f"only_in_{label_b}": len(only_b),
        f"only_in_{label_b}_examples": only_b[:5],
    }
