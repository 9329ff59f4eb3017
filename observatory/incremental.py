"""Recompute only what changed: code versions, data versions, and the stale part of a selection.

Dagster's own versioning, so that the UI's "up to date" / "stale" badges say what the command line does:

* **Code version** of every asset (:func:`with_code_versions`): the sha256 of the files of the source package
  that defines it (``assets/<package>/``: Python, SQL, reference tables) and of the ``assets`` modules it
  imports (:func:`package_code`), of the framework (``observatory/``)
  and of ``requirements.lock`` (a new DuckDB or Polars can change a result), plus the run parameters that
  change content (the seed). Coarse on purpose: an edit to the framework rebuilds everything, never too little.
* **Data version** of every raw asset (:func:`raw_data_version`): the sha256 of its files, as verified by
  the loader. Dagster derives the data version of every other asset from its code version and its inputs'.
* **What to run** (``observatory.__main__.build``): the raw assets of the selection always run (they verify
  the files, or download them in official mode: cheap), then :func:`stale` gives the assets whose code or inputs changed
  since their last materialization, whose table is missing from the build database, or that were never
  materialized, plus everything downstream of them in the selection. The rest is skipped.

The scheduled refreshes do the same in two runs (``observatory.automation``: the tick runs the raw assets, a
run-status sensor then launches what :func:`stale` gives). ``python -m observatory run --full`` (``make run FULL=1``),
or a refresh job launched as is from the UI, rebuilds everything regardless.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORK = ROOT / "observatory"
LOCK = ROOT / "requirements.lock"
#: Files whose content defines what an asset computes.
CODE_SUFFIXES = {".py", ".sql", ".csv", ".json", ".yaml", ".txt", ".html", ".css", ".js", ".j2", ".jinja"}
#: Layers whose assets write a table of the same name (``stg/communes`` -> ``stg.communes``).
TABLE_LAYERS = ("stg", "int", "marts")
#: Tag of the raw-input phase of an incremental run (command line or scheduled refresh).
PHASE_TAG = "observatory/phase"


def _files(folder: Path) -> Iterable[Path]:
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts)


def code_version(*folders: Path, parameters: str = "") -> str:
    """sha256 (16 hex digits) of the framework, the lock file, ``folders`` (or files) and ``parameters``."""
    h = hashlib.sha256(parameters.encode())
    for folder in (FRAMEWORK, *folders):
        base = folder.parent if folder.is_file() else folder
        for path in _files(folder):
            h.update(f"{folder.name}/{path.relative_to(base)}\0".encode())
            h.update(path.read_bytes())
    h.update(LOCK.read_bytes() if LOCK.exists() else b"")
    return h.hexdigest()[:16]


_IMPORT = re.compile(r"^\s*(?:from|import)\s+assets\.(\w+)", re.M)


def package_code(name: str, assets_dir: Path = ROOT / "assets") -> list[Path]:
    """The folder of the source package ``name`` and of every module of ``assets`` it imports, transitively
    (``assets/marts`` reads ``assets/sirene``'s classification): what its assets' code version hashes."""
    seen, todo = {name}, [name]
    while todo:
        folder = assets_dir / todo.pop()
        for path in _files(folder if folder.is_dir() else folder.with_suffix(".py")):
            if path.suffix == ".py":
                for found in _IMPORT.findall(path.read_text(encoding="utf-8")):
                    if found not in seen:
                        seen.add(found)
                        todo.append(found)
    return [assets_dir / n if (assets_dir / n).is_dir() else (assets_dir / n).with_suffix(".py") for n in sorted(seen)]


def map_specs(defs: dg.Definitions, func: Callable[[dg.AssetSpec], dg.AssetSpec]) -> dg.Definitions:
    """``Definitions.map_asset_specs``: the one call that maps every asset and keeps every other definition. It is
    a "preview" API in dagster 1.13, whose warning would otherwise print on every load (UI, CLI, validate)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_asset_specs(func=func)


def with_code_versions(defs: dg.Definitions, version: str) -> dg.Definitions:
    """``defs`` with ``version`` as the code version of each of its assets."""
    return map_specs(defs, lambda spec: spec.replace_attributes(code_version=version))


def raw_data_version(files: Iterable[tuple[str, str]]) -> dg.DataVersion:
    """The data version of a raw asset from its files' (name, sha256): a file changed, was added or removed."""
    h = hashlib.sha256()
    for name, sha in sorted(files):
        h.update(f"{name}\0{sha}\n".encode())
    return dg.DataVersion(h.hexdigest()[:16])


def _tables(build_db: Path) -> set[str]:
    if not build_db.exists():
        return set()
    import duckdb

    con = duckdb.connect(str(build_db), read_only=True)
    try:
        return {f"{s}.{t}" for s, t in con.execute("select table_schema, table_name from information_schema.tables").fetchall()}
    finally:
        con.close()


def is_raw(key: dg.AssetKey) -> bool:
    """A raw asset: it verifies (or downloads) a source's files and always runs."""
    return key.path[0] == "raw"


@dataclass(frozen=True)
class Plan:
    """What an incremental run does with each asset of its selection but the raw ones."""

    run: frozenset[dg.AssetKey]
    skip: frozenset[dg.AssetKey]
    #: asset -> why it runs (``code changed``, ``inputs changed``, ``never materialized``, ``table missing``,
    #: ``downstream of <asset>``).
    why: dict[dg.AssetKey, str]


def stale(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    keys: Iterable[dg.AssetKey],
    *,
    build_db: Path,
    present: Iterable[dg.AssetKey] = (),
) -> Plan:
    """Split ``keys`` (raw assets aside) into those to recompute and those up to date.

    ``present``: non-table assets whose output is known to exist (the publication, the site); an asset of
    another layer than :data:`TABLE_LAYERS` not in it runs."""
    from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
    from dagster._core.loader import LoadingContextForTest

    graph = defs.resolve_asset_graph()
    keys = set(keys)
    keys = {k for k in keys if not is_raw(k)}
    resolver = CachingStaleStatusResolver(instance, graph, LoadingContextForTest(instance))
    tables, present = _tables(build_db), set(present)
    # an asset whose last checks did not all pass runs again: its children must not be built on it unchecked
    checks = [c for c in graph.asset_check_keys if c.asset_key in keys]
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(checks) if checks else {}
    unchecked = {c.asset_key for c in checks if c not in latest or latest[c].status != AssetCheckExecutionRecordStatus.SUCCEEDED}
    why: dict[dg.AssetKey, str] = {}
    for key in sorted(keys, key=lambda k: k.to_user_string()):
        node = graph.get(key)
        partitions = list(node.partitions_def.get_partition_keys()) if node.partitions_def else [None]
        statuses = {resolver.get_status(key, p) for p in partitions}
        if key.path[0] in TABLE_LAYERS and ".".join(key.path) not in tables:
            why[key] = "table missing from the build database"
        elif key.path[0] not in TABLE_LAYERS and key not in present:
            why[key] = "output missing"
        elif key in unchecked:
            why[key] = "a check did not pass on its last materialization"
        elif StaleStatus.MISSING in statuses:
            why[key] = "never materialized"
        elif StaleStatus.STALE in statuses:
            causes = {c.category.name.lower() for p in partitions for c in resolver.get_stale_causes(key, p)}
            why[key] = "code changed" if "code" in causes else "inputs changed"
    # everything downstream of a recomputed asset is recomputed: its content may have changed
    for key in list(why):
        for child in dg.AssetSelection.assets(key).downstream(include_self=False).resolve(graph):
            if child in keys and child not in why:
                why[child] = f"downstream of {key.to_user_string()}"
    run = frozenset(why)
    return Plan(run=run, skip=frozenset(keys - run), why=why)
