"""Every source of the project: the ``SPEC`` of each ``assets/<pkg>/source.py``, found by walking the
packages (adding a source is adding a folder; nothing lists them by hand)."""

import importlib
import importlib.util
import pkgutil

import assets as assets_pkg
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
