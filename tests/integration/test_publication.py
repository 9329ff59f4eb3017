"""A corrupted input fails its blocking check and nothing is published: the previous files stay
byte-identical. A tiny self-contained graph (raw CSV -> mart -> check -> publication) in a tmp data dir."""

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from observatory.definitions import resources_for
from observatory.publish import publication_asset, published_files
from observatory.quality import Columns, RowCount, Unique, share_rules, table_check
from observatory.resources import Warehouse
from observatory.settings import Settings

MART = dg.AssetKey(["marts", "fake_share"])
GOOD = "epci_siren,annee,sector,share\n200046977,2017,ess,0.25\n200046977,2017,public,0.75\n245900410,2017,ess,1.0\n"
# 200046977 now sums to 1.05, and 245900410/2017 appears twice.
BAD = GOOD.replace("0.75", "0.80") + "245900410,2017,ess,1.0\n"
FIXED = GOOD.replace("0.25", "0.30").replace("0.75", "0.70")


def build(csv: Path) -> dg.Definitions:
    @dg.asset(key=MART, group_name="marts", kinds={"duckdb"}, owners=["team:data"], pool="duckdb")
    def fake_share(warehouse: Warehouse) -> dg.MaterializeResult:
        """A mart read straight from a CSV file."""
        with warehouse.connect() as con:
            con.execute(
                "create or replace table marts.fake_share as select epci_siren::varchar as epci_siren, annee::integer as annee, "
                "sector::varchar as sector, share::double as share from read_csv($path, header = true, all_varchar = true)",
                {"path": str(csv)},
            )
            return dg.MaterializeResult(metadata=warehouse.table_metadata(con, "marts.fake_share"))

    check = table_check(
        "marts.fake_share",
        [
            Columns({"epci_siren": "VARCHAR", "annee": "INTEGER", "sector": "VARCHAR", "share": "DOUBLE"}),
            RowCount(min_value=1),
            Unique("epci_siren", "annee", "sector"),
            *share_rules("share", ["epci_siren", "annee"]),
        ],
    )
    return dg.Definitions(assets=[fake_share, publication_asset([MART])], asset_checks=[check])


def run(defs: dg.Definitions, settings: Settings, selection: str | None = None) -> dg.ExecuteInProcessResult:
    job = dg.Definitions.merge(defs, dg.Definitions(resources=resources_for(settings))).resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        raise_on_error=False,
        asset_selection=[dg.AssetKey.from_user_string(selection)] if selection else None,
    )


def snapshot(marts_dir: Path) -> dict[str, str]:
    """What a reader of data/marts/ sees: every file of the current publication and its sha256."""
    return published_files(marts_dir)


def published_shares(marts_dir: Path) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(
            "select epci_siren, sector, share from read_parquet($p) order by all", {"p": str(marts_dir / "parquet" / "fake_share.parquet")}
        ).fetchall()


@pytest.fixture
def setup(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    csv = tmp_path / "shares.csv"
    return settings, csv, build(csv)


def test_corrupted_input_fails_its_check_and_leaves_the_publication_untouched(setup):
    settings, csv, defs = setup
    csv.write_text(GOOD)
    first = run(defs, settings)
    assert first.success
    marts = settings.marts_dir
    before = snapshot(marts)
    assert {"observatory.duckdb", "manifest.json", "parquet/fake_share.parquet"} <= set(before)
    assert published_shares(marts) == [("200046977", "ess", 0.25), ("200046977", "public", 0.75), ("245900410", "ess", 1.0)]

    csv.write_text(BAD)
    second = run(defs, settings)
    assert not second.success
    # The two broken rules fail as two named checks, each with its failing rows in its metadata.
    failing = [e for e in second.get_asset_check_evaluations() if not e.passed]
    assert len(failing) == 2 and all(e.severity == dg.AssetCheckSeverity.ERROR for e in failing)
    assert all(e.metadata["failed"].value == 1 for e in failing)
    report = "\n".join(e.metadata["failures"].value for e in failing)
    assert "**unique (epci_siren, annee, sector)**: 2 failing" in report
    assert "**share sums to 1 per (epci_siren, annee)**: 2 failing" in report
    # the failing groups, their number of shares and their sums (the duplicate doubles 245900410's)
    assert "| 200046977 | 2017 | 2 | 1.05 | shares do not sum to 1 |" in report
    assert "| 245900410 | 2017 | 2 | 2.0 | shares do not sum to 1 |" in report
    results = {k: v for e in second.get_asset_check_evaluations() for k, v in e.metadata["results"].value.items()}
    assert results["share in [0, 1]"] == {"success": True, "unexpected_count": 0, "examples": []}
    # the mart step ran (its table in the build database is the bad one) but publication did not
    assert [s.step_key for s in second.get_step_success_events()] == ["marts__fake_share"]
    assert not [e for e in second.all_events if e.step_key == "publish__observatory"]  # never started
    assert snapshot(marts) == before

    # Re-running publication alone does not bypass the check: the quality log refuses it.
    alone = run(defs, settings, selection="publish/observatory")
    assert not alone.success
    (failure,) = [e for e in alone.all_events if e.event_type_value == "STEP_FAILURE"]
    assert (
        "not publishing: the latest check failed for marts.fake_share (share_sums_to_1_per_epci_siren_annee), marts.fake_share (unique_key)"
        in failure.event_specific_data.error.to_string()
    )
    assert snapshot(marts) == before

    # Fix the input: everything runs and the new values are published.
    csv.write_text(FIXED)
    assert run(defs, settings).success
    assert published_shares(marts) == [("200046977", "ess", 0.3), ("200046977", "public", 0.7), ("245900410", "ess", 1.0)]
    assert snapshot(marts) != before
