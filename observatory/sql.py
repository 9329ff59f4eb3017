"""What a SQL file reads: the warehouse tables named after ``from`` / ``join``, as dbt's ``ref()`` would
declare them, so that an asset's upstream keys come from its SQL and cannot drift from it.

Tables the script creates itself (``create [or replace] [temp] table|view|macro x``) and CTE names are
not inputs; only ``layer.name`` references of the warehouse layers count (temp tables have no layer).
"""

import re
from pathlib import Path
from typing import Iterable

import dagster as dg

from observatory.resources import LAYERS, table_key

_REF = re.compile(r"\b(?:from|join)\s+(" + "|".join(LAYERS) + r")\.([a-z][a-z0-9_]*)\b", re.I)
_CREATED = re.compile(
    r"\bcreate\s+(?:or\s+replace\s+)?(?:temp(?:orary)?\s+)?(?:table|view)\s+(?:if\s+not\s+exists\s+)?("
    + "|".join(LAYERS)
    + r")\.([a-z][a-z0-9_]*)",
    re.I,
)
_COMMENT = re.compile(r"--[^\n]*")


def tables_read(sql: str) -> set[str]:
    """``layer.name`` of every warehouse table ``sql`` reads (comments ignored, its own tables excluded)."""
    text = _COMMENT.sub("", sql)
    created = {f"{a}.{b}".lower() for a, b in _CREATED.findall(text)}
    return {f"{a}.{b}".lower() for a, b in _REF.findall(text)} - created


def tables_written(sql: str) -> set[str]:
    """``layer.name`` of every warehouse table ``sql`` creates."""
    return {f"{a}.{b}".lower() for a, b in _CREATED.findall(_COMMENT.sub("", sql))}


def sql_deps(directory: Path, names: Iterable[str], extra: Iterable[dg.AssetKey] = ()) -> list[dg.AssetKey]:
    """Asset keys an asset running the SQL files ``<directory>/<name>.sql`` depends on: every table they
    read but do not write, plus ``extra`` (what its Python code reads besides, e.g. files or a label)."""
    read: set[str] = set()
    written: set[str] = set()
    for name in names:
        sql = (Path(directory) / f"{name}.sql").read_text(encoding="utf-8")
        read |= tables_read(sql)
        written |= tables_written(sql)
    keys = {table_key(t) for t in read - written} | set(extra)
    return sorted(keys, key=lambda k: k.to_user_string())
