"""Every source of the project: the ``SPEC`` of each ``assets/<pkg>/source.py``, found by walking the
packages (adding a source is adding a folder; nothing lists them by hand)."""

import importlib
import importlib.util
import pkgutil

import assets as assets_pkg
from observatory.columns import TableSpec
from observatory.sources import SourceSpec


def source_specs() -> list[SourceSpec]:
    """Every source of the project, by name."""
    specs = []
    for mod in sorted(pkgutil.iter_modules(assets_pkg.__path__), key=lambda m: m.name):
        if mod.ispkg and importlib.util.find_spec(f"assets.{mod.name}.source") is not None:
            spec = getattr(importlib.import_module(f"assets.{mod.name}.source"), "SPEC", None)
            if isinstance(spec, SourceSpec):
                specs.append(spec)
    return specs


def table_specs() -> dict[str, TableSpec]:
    """Every column spec of the project, by table: the ``TableSpec`` values of each ``assets/<pkg>/columns.py``
    (the package that builds a table owns its spec)."""
    found: dict[str, TableSpec] = {}
    for mod in sorted(pkgutil.iter_modules(assets_pkg.__path__), key=lambda m: m.name):
        if mod.ispkg and importlib.util.find_spec(f"assets.{mod.name}.columns") is not None:
            module = importlib.import_module(f"assets.{mod.name}.columns")
            for value in vars(module).values():
                # The same object seen twice is a re-export; two objects for one table would be two specs.
                if isinstance(value, TableSpec) and found.setdefault(value.table, value) is not value:
                    raise ValueError(f"{value.table}: a second column spec in assets/{mod.name}/columns.py; one table, one spec")
    return found
