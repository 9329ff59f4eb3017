"""Readers of the Etalab JSON files as published, flattened to the embedded copies' columns."""

import json
from pathlib import Path

import polars as pl

from assets.common.validate import InputError, check_file

COMPOSITION_COLUMNS = ("epci_siren", "epci_nom", "epci_type", "mode_financement", "commune_code", "commune_nom")
COMMUNE_COLUMNS = ("code", "nom", "type", "departement", "region", "population")
RATTACHEMENT_COLUMNS = ("code", "type", "code_parent")


def _load(path: Path) -> list[dict]:
    check_file(path, expect_magic=(b"[",))
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc}); truncated download?") from exc
    if not isinstance(data, list) or not data:
        raise InputError(f"{path}: expected a non-empty JSON array of objects")
    return data


def _require(path: Path, item: dict, keys: tuple[str, ...], i: int) -> None:
    missing = [k for k in keys if k not in item]
    if missing:
        raise InputError(f"{path}: item {i} has no field {missing[0]!r}; expected fields {list(keys)}, found {sorted(item)}")


def read_epci_json(path: Path) -> pl.DataFrame:
    """One row per member commune: the columns of ``epci_composition_2019_2026.parquet`` (without annee)."""
    rows = []
    for i, epci in enumerate(_load(path)):
        _require(path, epci, ("code", "nom", "type", "membres"), i)
        for m in epci["membres"]:
            _require(path, m, ("code", "nom"), i)
            rows.append((epci["code"], epci["nom"], epci["type"], epci.get("modeFinancement"), m["code"], m["nom"]))
    return pl.DataFrame(rows, schema=list(COMPOSITION_COLUMNS), orient="row")


def read_communes_json(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(communes, rattachements): the commune list (all types) and old code -> current commune.

    Rattachements come from ``chefLieu`` of communes déléguées / associées and from ``anciensCodes``
    of current communes (when the package version has them): they give where a commune that
    vanished went, which the passage table needs for years the COG movement file does not cover.
    """
    communes, links = [], []
    for i, c in enumerate(_load(path)):
        _require(path, c, ("code", "nom", "type"), i)
        pop = c.get("population")
        communes.append((c["code"], c["nom"], c["type"], c.get("departement"), c.get("region"), None if pop is None else str(pop)))
        if c["type"] in ("commune-deleguee", "commune-associee") and c.get("chefLieu"):
            links.append((c["code"], c["type"], c["chefLieu"]))
        for old in c.get("anciensCodes") or ():
            links.append((old, "ancien-code", c["code"]))
    return (
        pl.DataFrame(communes, schema=list(COMMUNE_COLUMNS), orient="row"),
        pl.DataFrame(links, schema=list(RATTACHEMENT_COLUMNS), orient="row").unique(),
    )
