"""Reading the CAF "accueil du jeune enfant" commune datasets (data.caf.fr, OpenDataSoft Explore API v2.1).

Three ways the same rows arrive, all brought to one canonical frame by :func:`normalize`:

* the records endpoint, ``GET {API_ROOT}/{dataset}/records?limit=100&offset=N`` returning
  ``{"total_count": n, "results": [{field: value}]}`` (paginated by :func:`fetch_records`; OpenDataSoft
  refuses ``offset + limit > 10,000``, beyond which the export endpoint is the way);
* the export endpoint (CSV with ``;`` and a UTF-8 BOM, or JSON), what the pipeline downloads;
* the republished copy embedded in ``data/raw/caf/embedded/`` whose headers were renamed by its
  republisher (``date_reference, num_commune, ...``): same columns in the same order.

Normalization (each step counted in the returned stats, never silent):
``annee`` may be a date (first four characters); placeholder codes ``^X+$`` (Saint-Barthélemy and
Saint-Martin have ``numepci = "XX"``) become NULL, a row whose commune code is a placeholder is
dropped; codes that lost leading zeros are padded; Paris, Lyon and Marseille arrondissements keep
their published code in ``code_commune_publie`` and get their commune in ``code_commune``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import polars as pl

from assets.caf.source import API_ROOT

from assets.common.identifiers import PLM_ARRONDISSEMENTS
from observatory.resources import DownloadError, require_encoding


class CafFormatError(ValueError):
    """A CAF file does not have the expected layout or values."""


@dataclass(frozen=True)
class Field:
    canonical: str
    api: str
    republished: str
    numeric: bool = False


_KEYS = (
    Field("caf_annee", "annee", "date_reference"),
    Field("code_commune_publie", "numcom", "num_commune"),
    Field("nom_commune", "nomcom", "nom_commune"),
    Field("epci_siren_caf", "numepci", "numero_epci"),
    Field("epci_nom_caf", "nomepci", "nom_epci"),
    Field("code_departement_caf", "numdep", "numero_departement"),
    Field("nom_departement_caf", "nomdep", "nom_departement"),
)

#: Columns of each dataset kind: canonical name, API field name, republished header (case-insensitive).
FIELDS: dict[str, tuple[Field, ...]] = {
    "places": _KEYS
    + (
        Field("places_psu", "pl_psu_col_com", "places_eaje_psu", True),
        Field("places_hors_psu", "pl_hors_psu_col_com", "places_hors_eaje_psu", True),
        Field("places_eaje", "pl_eaje_com", "places_eaje_ensemble", True),
        Field("places_prescolarisation", "pl_prescol_com", "places_prescolarisation", True),
        Field("places_assistante_maternelle", "pl_am_ind_com", "places_assistante_maternelle", True),
        Field("places_garde_domicile", "pl_gad_ind_com", "places_salariee_domicile", True),
        Field("places_accueil_individuel", "pl_ind_com", "places_accueil_individuel_ensemble", True),
        Field("places_total", "tot_offre_com", "places_offertes_ensemble", True),
    ),
    "coverage": (
        Field("caf_annee", "annee", "date_reference"),
        Field("code_commune_publie", "numcom", "numero_commune"),
    )
    + _KEYS[2:]
    + (
        Field("taux_psu", "txcouv_psu_col_com", "taux_de_couv_eaje_psu", True),
        Field("taux_hors_psu", "txcouv_hors_psu_col_com", "taux_de_couv_hors_eaje_psu", True),
        Field("taux_eaje", "txcouv_eaje_com", "taux_de_couv_eaje_ensemble", True),
        Field("taux_prescolarisation", "txcouv_prescol_com", "taux_de_couv_prescolarisation", True),
        Field("taux_assistante_maternelle", "txcouv_am_ind_com", "taux_de_couv_assistante_maternelle", True),
        Field("taux_garde_domicile", "txcouv_gad_ind_com", "taux_de_couv_salariee_a_domicile", True),
        Field("taux_accueil_individuel", "txcouv_ind_com", "taux_de_couv_accueil_individuel_ensemble", True),
        Field("taux_global", "txcouv_com", "taux_de_couv_global", True),
    ),
}

PLACEHOLDER = re.compile(r"^X+$")
COMMUNE = re.compile(r"^(?:[0-9]{2}|2A|2B)[0-9]{3}$")
#: Arrondissements municipaux and their commune: the CAF lists Paris, Lyon and Marseille by arrondissement.
MAX_OFFSET = 10_000


# --------------------------------------------------------------------------- fetching


def records_url(dataset: str) -> str:
    return f"{API_ROOT}/{dataset}/records"


def export_url(dataset: str, fmt: str = "csv") -> str:
    if fmt not in ("csv", "json", "parquet"):
        raise ValueError(f"export format {fmt!r}: expected csv, json or parquet")
    return f"{API_ROOT}/{dataset}/exports/{fmt}" + ("?delimiter=%3B" if fmt == "csv" else "")


def fetch_records(
    dataset: str,
    get_json: Callable[[str, Mapping[str, Any]], Mapping[str, Any]],
    *,
    where: str | None = None,
    page_size: int = 100,
) -> list[dict[str, Any]]:
    """All records of ``dataset`` (optionally filtered by an ODSQL ``where``) through the records endpoint.

    ``get_json(url, params)`` performs one GET and returns the decoded JSON (``requests`` in production,
    a fake in tests). Raises :class:`CafFormatError` if an answer is not a records page, and refuses
    result sets the endpoint cannot page through (more than 10,000 rows: use the export endpoint).
    """
    if not 1 <= page_size <= 100:
        raise ValueError(f"page_size={page_size}: the Explore API accepts 1..100")
    url = records_url(dataset)
    rows: list[dict[str, Any]] = []
    offset, total = 0, None
    while total is None or offset < total:
        params: dict[str, Any] = {"limit": page_size, "offset": offset}
        if where:
            params["where"] = where
        page = get_json(url, params)
        if not isinstance(page, Mapping) or "results" not in page or "total_count" not in page:
            raise CafFormatError(
                f"{url} (offset {offset}): expected a records page with 'total_count' and 'results', got {str(page)[:200]!r}"
            )
        if total is None:
            total = int(page["total_count"])
            if total > MAX_OFFSET:
                raise CafFormatError(
                    f"{url}: {total} records, more than the records endpoint can page through ({MAX_OFFSET}); "
                    f"use the export endpoint {export_url(dataset)}"
                )
        results = list(page["results"])
        if not results and offset < total:
            raise CafFormatError(f"{url}: empty page at offset {offset} while total_count is {total}")
        rows.extend(results)
        offset += len(results)
    return rows


def http_get_json(url: str, params: Mapping[str, Any], timeout_s: int = 60) -> Mapping[str, Any]:
    """The production ``get_json`` for :func:`fetch_records` (only the online path imports requests)."""
    import requests

    resp = requests.get(url, params=dict(params), timeout=timeout_s)
    if resp.status_code != 200:
        raise CafFormatError(f"{resp.url}: HTTP {resp.status_code}, expected 200")
    return resp.json()


# --------------------------------------------------------------------------- reading


def read_export_csv(path: Path) -> pl.DataFrame:
    """An Explore API CSV export: ``;``-separated, UTF-8 with a BOM, every value read as text."""
    try:
        text = require_encoding(path, "utf-8-sig", what="CAF CSV export")
    except DownloadError as exc:  # a latin-1 file: named, with the byte and the fix
        raise CafFormatError(str(exc)) from None
    if not text.strip():
        raise CafFormatError(f"{path}: empty file, expected a CAF CSV export with a header row")
    if text.lstrip().lower().startswith(("<!doctype html", "<html")):
        raise CafFormatError(f"{path}: is an HTML page, expected a CAF CSV export")
    sep = ";" if text.split("\n", 1)[0].count(";") >= text.split("\n", 1)[0].count(",") else ","
    import io

    return pl.read_csv(io.StringIO(text), separator=sep, infer_schema=False)


def read_export_json(path: Path) -> pl.DataFrame:
    """An Explore API JSON export (a list of records) or a saved records page (``{"results": [...]}``)."""
    try:
        payload = json.loads(require_encoding(path, "utf-8-sig", what="CAF JSON export"))
    except DownloadError as exc:
        raise CafFormatError(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise CafFormatError(f"{path}: not valid JSON ({exc}); expected a CAF JSON export") from exc
    records = payload["results"] if isinstance(payload, dict) and "results" in payload else payload
    if not isinstance(records, list):
        raise CafFormatError(f"{path}: expected a list of records or a records page, got {type(payload).__name__}")
    return records_frame(records, origin=str(path))


def records_frame(records: Iterable[Mapping[str, Any]], origin: str = "records") -> pl.DataFrame:
    """API records (dicts of JSON values) as an all-text frame, so that every input path normalizes alike."""
    records = list(records)
    if not records:
        raise CafFormatError(f"{origin}: no records")
    columns: list[str] = []
    for r in records:
        for k in r:
            if k not in columns:
                columns.append(k)
    data = {c: [None if r.get(c) is None else _text(r.get(c)) for r in records] for c in columns}
    return pl.DataFrame(data, schema={c: pl.String for c in columns})


def _text(value: Any) -> str:
    # JSON numbers: 12.0 -> "12.0"; ints stay ints; keeps numeric parsing in one place (normalize)
    return str(value)


def read_any(path: Path) -> pl.DataFrame:
    """Dispatch on the file type: embedded Parquet, CSV export or JSON export."""
    path = Path(path)
    if not path.exists():
        raise CafFormatError(f"{path}: missing")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pl.read_parquet(path)
        return frame.with_columns(pl.all().cast(pl.String))
    if suffix == ".json":
        return read_export_json(path)
    return read_export_csv(path)


# --------------------------------------------------------------------------- normalizing


def rename_to_canonical(frame: pl.DataFrame, kind: str, origin: str) -> pl.DataFrame:
    """Recognize the API field names or the republished headers and rename to canonical names."""
    if kind not in FIELDS:
        raise ValueError(f"kind {kind!r}: expected one of {sorted(FIELDS)}")
    fields = FIELDS[kind]
    lower = {c.lower().lstrip("\ufeff").strip(): c for c in frame.columns}
    for layout in ("api", "republished"):
        names = [getattr(f, layout) for f in fields]
        if all(n in lower for n in names):
            return frame.select([pl.col(lower[getattr(f, layout)]).alias(f.canonical) for f in fields])
    # Report against the layout the file is closest to.
    best = max(("api", "republished"), key=lambda lay: sum(getattr(f, lay) in lower for f in fields))
    missing = [getattr(f, best) for f in fields if getattr(f, best) not in lower]
    raise CafFormatError(
        f"{origin}: column(s) {missing} missing; expected the {kind} columns of data.caf.fr "
        f"({', '.join(getattr(f, best) for f in fields)}), found {frame.columns}"
    )


def _number(col: str) -> pl.Expr:
    cleaned = pl.col(col).str.strip_chars().str.replace_all(r"[\s\u00a0\u202f]", "").str.replace(",", ".", literal=True)
    return pl.when(cleaned == "").then(None).otherwise(cleaned).cast(pl.Float64, strict=False).alias(col)


def parent_commune(code: str | None) -> str | None:
    """Paris/Lyon/Marseille arrondissement -> its commune; any other code unchanged."""
    return None if code is None else PLM_ARRONDISSEMENTS.get(code, code)


def parent_commune_expr(col: str) -> pl.Expr:
    return pl.col(col).replace(PLM_ARRONDISSEMENTS)


def normalize(frame: pl.DataFrame, kind: str, origin: str) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Canonical, typed frame of one CAF commune file, and what was fixed or dropped (for metadata)."""
    fields = FIELDS[kind]
    df = rename_to_canonical(frame, kind, origin)
    df = df.with_columns(pl.col(c).cast(pl.String).str.strip_chars() for c in df.columns)
    stats: dict[str, Any] = {"rows_read": df.height}

    years = df.get_column("caf_annee").str.slice(0, 4)
    bad_year = df.filter(~years.str.contains(r"^(19|20)[0-9]{2}$") | years.is_null())
    if bad_year.height:
        raise CafFormatError(
            f"{origin}: column annee: {bad_year.height} value(s) are not a year or a date "
            f"(e.g. {bad_year.get_column('caf_annee').head(3).to_list()})"
        )
    df = df.with_columns(years.cast(pl.Int32).alias("caf_annee"))

    # Placeholders: a commune row without a real commune code is no commune; XX EPCI/département codes mean none.
    placeholder_rows = df.filter(pl.col("code_commune_publie").is_null() | pl.col("code_commune_publie").str.contains(PLACEHOLDER.pattern))
    stats["rows_dropped_placeholder_commune"] = placeholder_rows.height
    df = df.filter(~(pl.col("code_commune_publie").is_null() | pl.col("code_commune_publie").str.contains(PLACEHOLDER.pattern)))
    nulled = {}
    for col in ("epci_siren_caf", "epci_nom_caf", "code_departement_caf", "nom_departement_caf"):
        is_placeholder = pl.col(col).str.contains(PLACEHOLDER.pattern).fill_null(False)
        nulled[col] = int(df.select(is_placeholder.sum()).item())
        df = df.with_columns(pl.when(is_placeholder).then(None).otherwise(pl.col(col)).alias(col))
    stats["placeholder_codes_nulled"] = nulled

    # Leading zeros lost by spreadsheet round-trips: pad digit-only codes (documented fix, counted).
    short = pl.col("code_commune_publie").str.contains(r"^[0-9]{1,4}$")
    stats["commune_codes_padded"] = int(df.select(short.sum()).item())
    df = df.with_columns(
        pl.when(short)
        .then(pl.col("code_commune_publie").str.zfill(5))
        .otherwise(pl.col("code_commune_publie"))
        .alias("code_commune_publie")
    )
    short_dep = pl.col("code_departement_caf").str.contains(r"^[0-9]$").fill_null(False)
    df = df.with_columns(
        pl.when(short_dep)
        .then(pl.col("code_departement_caf").str.zfill(2))
        .otherwise(pl.col("code_departement_caf"))
        .alias("code_departement_caf")
    )
    short_epci = pl.col("epci_siren_caf").str.contains(r"^[0-9]{1,8}$").fill_null(False)
    df = df.with_columns(
        pl.when(short_epci).then(pl.col("epci_siren_caf").str.zfill(9)).otherwise(pl.col("epci_siren_caf")).alias("epci_siren_caf")
    )

    bad_code = df.filter(~pl.col("code_commune_publie").str.contains(COMMUNE.pattern))
    if bad_code.height:
        raise CafFormatError(
            f"{origin}: column {_source_name(fields, 'code_commune_publie')}: {bad_code.height} value(s) are not commune codes "
            f"(expected 5 characters, 2A/2B for Corsica; e.g. {bad_code.get_column('code_commune_publie').head(3).to_list()})"
        )

    numeric = [f.canonical for f in fields if f.numeric]
    parsed = df.with_columns(_number(c) for c in numeric)
    for c in numeric:
        bad = df.filter(parsed.get_column(c).is_null() & df.get_column(c).is_not_null() & (df.get_column(c).str.strip_chars() != ""))
        if bad.height:
            raise CafFormatError(
                f"{origin}: column {_source_name(fields, c)}: {bad.height} value(s) are not numbers "
                f"(e.g. {bad.get_column(c).head(3).to_list()})"
            )
        negative = parsed.filter(pl.col(c) < 0)
        if negative.height:
            raise CafFormatError(f"{origin}: column {_source_name(fields, c)}: {negative.height} negative value(s), expected >= 0")
    df = parsed.with_columns(parent_commune_expr("code_commune_publie").alias("code_commune"))
    stats["arrondissement_rows"] = int(df.select((pl.col("code_commune") != pl.col("code_commune_publie")).sum()).item())

    dup = df.group_by("caf_annee", "code_commune_publie").len().filter(pl.col("len") > 1)
    if dup.height:
        raise CafFormatError(
            f"{origin}: {dup.height} duplicated (annee, commune) pair(s), expected one row per commune and year "
            f"(e.g. {dup.head(3).select('caf_annee', 'code_commune_publie').rows()})"
        )
    stats["rows_kept"] = df.height
    stats["years"] = sorted(df.get_column("caf_annee").unique().to_list())
    return df, stats


def _source_name(fields: tuple[Field, ...], canonical: str) -> str:
    f = next(f for f in fields if f.canonical == canonical)
    return f"{f.api} / {f.republished}"


def combine_current_and_hist(current: pl.DataFrame | None, hist: pl.DataFrame | None) -> pl.DataFrame:
    """Union of the current dataset and its ``_hist`` variant; a year in both is taken from the current one."""
    frames = [f for f in (current, hist) if f is not None]
    if not frames:
        raise CafFormatError("no CAF file to combine")
    if current is None or hist is None:
        return frames[0]
    current_years = current.get_column("caf_annee").unique()
    return pl.concat([current, hist.filter(~pl.col("caf_annee").is_in(current_years.implode()))], how="vertical")


def main(argv: list[str] | None = None) -> int:
    """``python -m assets.caf.parse <dataset> [--where ODSQL] --out file.json``: pull records through the
    records endpoint (e.g. one year, to check a new release before the pipeline downloads the export)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m assets.caf.parse", description=main.__doc__)
    parser.add_argument("dataset", help="e.g. nbpla_pe_com, txcouv_pe_com_hist")
    parser.add_argument("--where", default=None, help="ODSQL filter, e.g. annee=2023")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    rows = fetch_records(args.dataset, http_get_json, where=args.where)
    args.out.write_text(json.dumps({"total_count": len(rows), "results": rows}, ensure_ascii=False), encoding="utf-8")
    print(f"{args.out}: {len(rows)} records of {args.dataset}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
