"""The only composition root: loads every ``assets/<source>/defs.py`` and builds the resources.

Each source package exposes ``defs`` (a ``dg.Definitions`` with its assets, checks, schedules and
sensors). Adding a source is adding a folder; nothing here changes.
"""

from __future__ import annotations

import importlib
import pkgutil

import dagster as dg

import assets as assets_pkg
from observatory.publish import publication_asset
from observatory.resources import Downloader, Warehouse
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
    }


def source_definitions() -> list[dg.Definitions]:
    found = []
    for mod in sorted(pkgutil.iter_modules(assets_pkg.__path__), key=lambda m: m.name):
        if mod.ispkg:
            module = importlib.import_module(f"assets.{mod.name}.defs")
            found.append(module.defs)
    return found


def build_definitions(settings: Settings) -> dg.Definitions:
    merged = dg.Definitions.merge(*source_definitions())
    mart_keys = sorted(
        (k for a in merged.assets or [] if isinstance(a, dg.AssetsDefinition) for k in a.keys if k.path[0] == "marts"),
        key=lambda k: k.to_user_string(),
    )
    return dg.Definitions.merge(
        merged,
        dg.Definitions(assets=[publication_asset(mart_keys)], resources=resources_for(settings)),
    )


defs = build_definitions(Settings.from_env())
