"""The only composition root: loads every ``assets/<source>/defs.py`` and builds the resources.

Each source package exposes ``defs`` (a ``dg.Definitions`` with its assets, checks, schedules and
sensors). Adding a source is adding a folder; nothing here changes.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

import dagster as dg

import assets as assets_pkg
from observatory.automation import cadence_automation
from observatory.publish import publication_asset
from observatory.resources import Downloader, Parameters, Warehouse
from observatory.settings import Settings


def resources_for(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    return {
        "warehouse": Warehouse(path=str(settings.build_db), published_dir=str(settings.marts_dir)),
        "downloader": Downloader(
            raw_dir=str(settings.raw_dir),
            source_mode=settings.source_mode,
            offline=settings.offline,
            sirene_dir=str(settings.sirene_dir or ""),
        ),
        "parameters": Parameters(seed=settings.seed),
    }


def source_definitions() -> list[dg.Definitions]:
    found = []
    for mod in sorted(pkgutil.iter_modules(assets_pkg.__path__), key=lambda m: m.name):
        # A package without defs.py (shared helpers, or a source still being written) adds nothing;
        # a defs.py that fails to import fails loudly.
        if mod.ispkg and importlib.util.find_spec(f"assets.{mod.name}.defs") is not None:
            module = importlib.import_module(f"assets.{mod.name}.defs")
            found.append(module.defs)
    return found


def build_definitions(settings: Settings) -> dg.Definitions:
    merged = dg.Definitions.merge(*source_definitions())
    mart_keys = sorted(
        (k for a in merged.assets or [] if isinstance(a, dg.AssetsDefinition) for k in a.keys if k.path[0] == "marts"),
        key=lambda k: k.to_user_string(),
    )
    complete = dg.Definitions.merge(
        merged,
        dg.Definitions(assets=[publication_asset(mart_keys)], resources=resources_for(settings)),
    )
    # Refresh jobs + schedules per source cadence, and the rebuild_marts job (observatory.automation).
    return dg.Definitions.merge(complete, cadence_automation(complete))


def project_asset_graph():
    """The asset graph of the whole project (``resolve_asset_graph()``): its lineage does not depend on
    the settings nor on a run's selection."""
    return build_definitions(Settings()).resolve_asset_graph()


defs = build_definitions(Settings.from_env())
