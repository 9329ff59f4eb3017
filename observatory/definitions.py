"""The only composition root: loads every ``assets/<source>/defs.py`` and builds the resources.

Each source package exposes ``defs`` (a ``dg.Definitions`` with its assets, checks, schedules and
sensors). Adding a source is adding a folder; nothing here changes.
"""

from __future__ import annotations

import importlib
import json
import importlib.util
import pkgutil

import dagster as dg

import assets as assets_pkg
from observatory.alerts import alert_sensors
from observatory.automation import cadence_automation
from observatory.incremental import code_version, map_specs, package_code, with_code_versions
from observatory.publish import MIN_ROWS, publication_asset
from observatory.resources import Downloader, Lineage, Parameters, Warehouse
from observatory.settings import Settings


def lineage_of(assets) -> Lineage:
    """Every asset key -> its direct parents, read from the asset definitions (no resources needed)."""
    parents: dict[str, list[str]] = {}
    for a in assets:
        specs = a.specs if isinstance(a, dg.AssetsDefinition) else [a] if isinstance(a, dg.AssetSpec) else []
        for spec in specs:
            parents[spec.key.to_user_string()] = sorted(d.asset_key.to_user_string() for d in spec.deps)
    return Lineage(parents_json=json.dumps(parents, sort_keys=True))


def resources_for(settings: Settings, lineage: Lineage | None = None) -> dict[str, dg.ConfigurableResource]:
    """The resources of a run; ``lineage`` is the project's (``build_definitions`` passes it), empty otherwise."""
    return {
        "lineage": lineage or Lineage(),
        "warehouse": Warehouse(path=str(settings.build_db), published_dir=str(settings.marts_dir)),
        "downloader": Downloader(
            raw_dir=str(settings.raw_dir),
            source_mode=settings.source_mode,
            offline=settings.offline,
            sirene_dir=str(settings.sirene_dir or ""),
            hash_cache=str(settings.build_dir / "file_sha256.json"),
        ),
        "parameters": Parameters(seed=settings.seed, max_row_drop=settings.max_row_drop),
    }


def declared_checks(defs: dg.Definitions, keys) -> dict[str, list[str]]:
    """``layer.name`` -> the names of the asset checks declared on it (standalone checks and checks of assets)."""
    wanted = {k: ".".join(k.path) for k in keys}
    out: dict[str, list[str]] = {t: [] for t in wanted.values()}
    for d in [*(defs.asset_checks or []), *(a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition))]:
        for spec in getattr(d, "check_specs", ()):
            if spec.asset_key in wanted:
                out[wanted[spec.asset_key]].append(spec.name)
    return {t: sorted(set(names)) for t, names in out.items()}


def declared_minimums(defs: dg.Definitions) -> dict[str, int]:
    """``stg.x`` -> the minimum row count its asset declares (metadata ``min_rows``, beside the asset in its package)."""
    out = {}
    for a in defs.assets or []:
        for spec in a.specs if isinstance(a, dg.AssetsDefinition) else ():
            if spec.key.path[0] == "stg" and MIN_ROWS in (spec.metadata or {}):
                value = spec.metadata[MIN_ROWS]
                out[".".join(spec.key.path)] = int(getattr(value, "value", value))
    return dict(sorted(out.items()))


def source_definitions(parameters: str = "") -> list[dg.Definitions]:
    """Every source package's ``defs``, its assets versioned by the package's code (``observatory.incremental``)."""
    found = []
    for mod in sorted(pkgutil.iter_modules(assets_pkg.__path__), key=lambda m: m.name):
        # A package without defs.py (shared helpers, or a source still being written) adds nothing;
        # a defs.py that fails to import fails loudly.
        if mod.ispkg and importlib.util.find_spec(f"assets.{mod.name}.defs") is not None:
            module = importlib.import_module(f"assets.{mod.name}.defs")
            version = code_version(*package_code(mod.name), parameters=parameters)
            found.append(with_code_versions(module.defs, version))
    return found


def with_column_schemas(defs: dg.Definitions) -> dg.Definitions:
    """Every asset whose table has a column spec shows that spec as its ``dagster/column_schema`` before any
    run (the materialization then records the built table's schema, comments included)."""
    from assets.catalog import table_specs

    specs = table_specs()

    def attach(spec: dg.AssetSpec) -> dg.AssetSpec:
        table = specs.get(".".join(spec.key.path))
        return spec.merge_attributes(metadata={"dagster/column_schema": table.table_schema()}) if table else spec

    return map_specs(defs, attach)


def build_definitions(settings: Settings) -> dg.Definitions:
    parameters = f"seed={settings.seed}"  # the one run parameter that changes content (the bootstrap's draws)
    merged = with_column_schemas(dg.Definitions.merge(*source_definitions(parameters)))
    mart_keys = sorted(
        (k for a in merged.assets or [] if isinstance(a, dg.AssetsDefinition) for k in a.keys if k.path[0] == "marts"),
        key=lambda k: k.to_user_string(),
    )
    # The gate needs every check declared on a mart (they must all have passed on the content published), and the
    # site is built into the new version before it is made current (one publication, one atomic switch).
    from assets.site.build import build_site

    publication = publication_asset(
        mart_keys, checks=declared_checks(merged, mart_keys), builders={"site": build_site}, minimums=declared_minimums(merged)
    )
    lineage = lineage_of([*(merged.assets or []), publication])
    published = with_code_versions(
        dg.Definitions(assets=[publication]), code_version(*package_code("site"), *package_code("marts"), parameters=parameters)
    )
    complete = dg.Definitions.merge(merged, published, dg.Definitions(resources=resources_for(settings, lineage)))
    # Refresh jobs + schedules per source cadence, and the rebuild_marts job (observatory.automation); the alert
    # sensors (observatory.alerts) write to the destinations of ``settings``.
    return dg.Definitions.merge(complete, cadence_automation(complete), dg.Definitions(sensors=alert_sensors(settings)))


defs = build_definitions(Settings.from_env())
