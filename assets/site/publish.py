"""Publication of the site, as part of the versioned publication (``observatory.publish``).

A full run builds the site into the new version before it is made current (``publish/observatory`` runs
``build_site`` as one of its builders), so the site always matches the data beside it. Rebuilding the site alone
(:func:`publish_site`, ``make site``) makes a new version equal to the current one except for its site (the
other files hard-linked) and switches to it the same way; a failed build leaves the current version untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from observatory.publish import republish

SITE_DIR = "site"


def publish_site(marts_dir: Path, build: Callable[[Path, Path], dict[str, Any]], run_id: str = "") -> dict[str, Any]:
    """Rebuild the site of the current publication in ``marts_dir`` with ``build(version_dir, out_dir)`` as a new
    version (see module docstring); returns the build's figures with ``path`` and ``index``."""
    manifest = republish(Path(marts_dir), SITE_DIR, build, run_id=run_id)
    dest = Path(marts_dir) / SITE_DIR
    return {**manifest["parts"][SITE_DIR], "path": str(dest), "index": str(dest / "index.html")}
