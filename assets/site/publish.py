"""Publication of the site: built in a staging folder beside ``data/marts/site/``, then swapped in by rename.

One small function (:func:`publish_site`) so that a versioned publication of the whole set (DuckDB,
Parquet, GeoParquet, site, manifest) can take it over as one of its steps.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

SITE_DIR = "site"


def publish_site(marts_dir: Path, build: Callable[[Path, Path], dict[str, Any]]) -> dict[str, Any]:
    """Build the site of the publication in ``marts_dir`` with ``build(marts_dir, staging)``, then move it to
    ``marts_dir/site``: the previous site is renamed aside, the new one renamed in, and the previous one deleted only
    once that succeeded (restored if it did not). A failed build leaves the previous site untouched."""
    marts_dir = Path(marts_dir)
    dest = marts_dir / SITE_DIR
    tag = uuid.uuid4().hex[:8]
    staging = marts_dir / f".{SITE_DIR}-staging-{tag}"
    previous = marts_dir / f".{SITE_DIR}-previous-{tag}"
    try:
        figures = build(marts_dir, staging)
        if dest.exists():
            os.rename(dest, previous)
        try:
            os.rename(staging, dest)
        except BaseException:
            if previous.exists() and not dest.exists():
                os.rename(previous, dest)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(previous, ignore_errors=True)
    return {**figures, "path": str(dest), "index": str(dest / "index.html")}
