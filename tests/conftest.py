"""Session-wide fixtures (see tests/README.md).

``embedded_world``: the whole pipeline run ONCE per test session on the repository's embedded data,
exactly as ``python -m observatory run`` does it (one in-process run, every year of the partitioned
assets, publication included), in a private data directory whose ``raw/`` points at ``data/raw``.
Every integration test that needs the embedded build reads this one world, read-only; a test that
must change the build database copies it first (:meth:`World.copy_build_db`).

``make test`` runs the suite on two workers (pytest-xdist, ``--dist loadgroup``): every test that uses
the embedded world is put in one group (:func:`pytest_collection_modifyitems`), so that a single worker
builds it once while the other runs the rest of the suite.
"""

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from observatory.settings import REPO_ROOT, Settings

SIRENE_MANIFEST = REPO_ROOT / "data" / "raw" / "sirene" / "embedded" / "manifest.json"
WORLD_GROUP = "embedded_world"


# tryfirst: xdist's own collection hook turns the xdist_group marks into the node-id suffix that --dist loadgroup
# reads; a mark added after it is ignored and every worker builds its own world (tests/unit/test_suite_grouping.py).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Tests using the embedded world run on the same xdist worker (one build per session)."""
    for item in items:
        if "embedded_world" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group(WORLD_GROUP))


@dataclass
class World:
    """What the one embedded run left: its settings, the run result and read-only connections."""

    settings: Settings
    #: The (ephemeral) Dagster instance of the run: its materializations, data versions and check records.
    instance: dg.DagsterInstance
    result: dg.ExecuteInProcessResult
    #: (asset key, check name) of every failed check (empty on a good run).
    failed_checks: list[tuple[str, str]]
    #: The private build database (stg / int / marts tables, quality log).
    build: duckdb.DuckDBPyConnection
    #: The published database (data/marts/observatory.duckdb); None if the run failed.
    marts: duckdb.DuckDBPyConnection | None
    _meta: dict[str, dict[str, Any]] = field(default_factory=dict)

    def materialization(self, key: str) -> dict[str, Any]:
        """The metadata of the materialization of ``key`` (``"stg/epci_membership"``), as plain values."""
        if not self._meta:
            for event in self.result.all_events:
                if event.event_type_value == "ASSET_MATERIALIZATION":
                    mat = event.event_specific_data.materialization
                    self._meta[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
        if key not in self._meta:
            raise AssertionError(f"{key} not materialized in the embedded run")
        return self._meta[key]

    def copy_build_db(self, directory: Path) -> Path:
        """A private copy of the build database, for a test that writes to it."""
        target = Path(directory) / "observatory_build.duckdb"
        shutil.copy2(self.settings.build_db, target)
        return target


@pytest.fixture(scope="session")
def sirene_manifest() -> dict:
    if not SIRENE_MANIFEST.exists():
        pytest.fail(f"{SIRENE_MANIFEST}: the embedded SIRENE sample is missing (make sample); this test needs it")
    return json.loads(SIRENE_MANIFEST.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def embedded_world(tmp_path_factory, sirene_manifest) -> World:
    from observatory.__main__ import execute
    from observatory.definitions import build_definitions

    data = tmp_path_factory.mktemp("embedded_world") / "data"
    data.mkdir()
    (data / "raw").symlink_to(REPO_ROOT / "data" / "raw", target_is_directory=True)
    settings = Settings(data_dir=data)
    instance = dg.DagsterInstance.ephemeral()
    result = execute(build_definitions(settings), instance)
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations() if not e.passed]
    build = duckdb.connect(str(settings.build_db), read_only=True)
    published = settings.marts_dir / "observatory.duckdb"
    marts = duckdb.connect(str(published), read_only=True) if result.success and published.exists() else None
    yield World(settings, instance, result, failed, build, marts)
    build.close()
    if marts is not None:
        marts.close()
    instance.dispose()
