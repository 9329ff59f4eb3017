"""A refresh of one source publishes: CAF alone refreshed in official mode (its files downloaded, the others' left as
the previous run read them), and marts.sources lists CAF as official, read by this run, and every other source with
the row recorded by the run that built its tables."""

import json

import dagster as dg
import duckdb

from assets.catalog import source_specs
from assets.caf.source import SPEC as CAF
from assets.marts import defs as marts_defs
from observatory.definitions import declared_checks, lineage_of, resources_for
from observatory.publish import current_version, publication_asset
from observatory.settings import REPO_ROOT, Settings
from observatory.sources import raw_asset
from tests.sources_fixture import publisher_files, sha


def _definitions(settings: Settings) -> dg.Definitions:
    raws = [raw_asset(s) for s in source_specs()]
    checks = [c for c in marts_defs.checks if marts_defs.SOURCES in {s.asset_key for s in c.check_specs}]
    base = dg.Definitions(assets=[*raws, marts_defs.sources], asset_checks=checks)
    publication = publication_asset([marts_defs.SOURCES], checks=declared_checks(base, [marts_defs.SOURCES]))
    assets = [*raws, marts_defs.sources, publication]
    return dg.Definitions(assets=assets, asset_checks=checks, resources=resources_for(settings, lineage_of(assets)))


def _run(settings: Settings, instance: dg.DagsterInstance, selection: str | None) -> dg.ExecuteInProcessResult:
    job = _definitions(settings).resolve_implicit_global_asset_job_def()
    if selection:
        job = job.get_subset(
            asset_selection=set(dg.AssetSelection.from_string(selection).resolve(_definitions(settings).resolve_asset_graph()))
        )
    return job.execute_in_process(instance=instance, raise_on_error=False)


def _published_sources(settings: Settings) -> list[tuple]:
    with duckdb.connect(str(current_version(settings.marts_dir) / "observatory.duckdb"), read_only=True) as con:
        return con.execute("select source, mode, read_by, label, files from marts.sources order by source").fetchall()


def test_a_caf_only_official_refresh_publishes_the_others_with_their_recorded_provenance(tmp_path):
    raw = tmp_path / "data" / "raw"
    for spec in source_specs():  # the repository's embedded copies, read-only; CAF's official files in the test's folder
        (raw / spec.name).mkdir(parents=True)
        (raw / spec.name / "embedded").symlink_to(REPO_ROOT / "data" / "raw" / spec.name / "embedded", target_is_directory=True)
    embedded = Settings(data_dir=tmp_path / "data", source_mode="embedded")
    with dg.DagsterInstance.ephemeral() as instance:
        assert _run(embedded, instance, None).success
    before = {r[0]: r for r in _published_sources(embedded)}
    assert {r[1] for r in before.values()} == {"embedded"} and {r[2] for r in before.values()} == {"this run"}

    # the Downloader's result for CAF alone: its four exports and their manifest, nothing for the others
    latest = raw / "caf" / "latest"
    files = publisher_files(latest, CAF)
    manifest = {"files": {n: {"sha256": sha(b), "downloaded_at": "2026-12-01T08:00:00+00:00"} for n, b in files.items()}}
    (latest / "manifest.json").write_text(json.dumps(manifest))
    official = Settings(data_dir=tmp_path / "data", source_mode="official")
    with dg.DagsterInstance.ephemeral() as instance:
        result = _run(official, instance, "key:raw/caf or key:marts/sources or key:publish/observatory")
        assert result.success
    after = {r[0]: r for r in _published_sources(official)}

    assert sorted(after) == sorted(before)
    caf = after.pop("caf")
    assert caf[1:4] == ("official", "this run", "CAF official files (data date millesime latest)")
    assert sorted((f["file"], f["sha256"], f["origin"]) for f in caf[4]) == sorted(
        (f"latest/{n}", sha(b), "downloaded 2026-12-01T08:00:00+00:00") for n, b in files.items()
    )
    # every other source: the first run's row (mode, label, files and their sha256), read by an earlier run
    for name, row in after.items():
        assert row == (name, "embedded", "an earlier run", *before[name][3:]), name
