"""The CAF and DREES assets as Dagster runs them: official mode reads the four Explore API exports
already downloaded (offline, so no network), the current dataset wins over _hist; DREES bad input."""

import json
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from assets.caf.defs import defs as caf_defs
from assets.drees.stage import DreesFormatError, tidy
from assets.common.years import YEARS
from observatory.partitions import range_tags
from observatory.resources import Downloader, Parameters, Warehouse

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "marts" / "caf"


def _export(path: Path, records: list[dict]) -> None:
    """Write records as the Explore API CSV export does: ';', UTF-8 with BOM, header = field names."""
    cols = list(records[0])
    lines = [";".join(cols)] + [";".join("" if r[c] is None else str(r[c]) for c in cols) for r in records]
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode("utf-8"))


def _official_raw(raw: Path) -> None:
    latest = raw / "caf" / "latest"
    latest.mkdir(parents=True)
    current = json.loads((FIX / "nbpla_pe_com_records.json").read_text())["results"]  # 2022-2023
    hist = [{**r, "annee": 2021} for r in current if r["annee"] == 2022] + [
        {**r, "pl_psu_col_com": 999}
        for r in current
        if r["annee"] == 2022  # 2022 in _hist too: revised by the current one
    ]
    _export(latest / "nbpla_pe_com.csv", current)
    _export(latest / "nbpla_pe_com_hist.csv", hist)
    rates = (FIX / "txcouv_pe_com_export.csv").read_bytes()
    (latest / "txcouv_pe_com.csv").write_bytes(rates)
    (latest / "txcouv_pe_com_hist.csv").write_bytes(rates.replace(b"\n2022;", b"\n2021;"))


def test_official_mode_reads_the_exports_and_current_wins(tmp_path):
    _official_raw(tmp_path / "raw")
    db = tmp_path / "build" / "b.duckdb"
    resources = {
        "warehouse": Warehouse(path=str(db)),
        "downloader": Downloader(raw_dir=str(tmp_path / "raw"), source_mode="official", offline=True),
        "parameters": Parameters(),
    }
    result = dg.materialize([*caf_defs.assets, *caf_defs.asset_checks], resources=resources, raise_on_error=False)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    con = duckdb.connect(str(db), read_only=True)
    try:
        by_year = dict(con.execute("select caf_annee, sum(places_psu) from stg.caf_places_commune group by 1 order by 1").fetchall())
        # 2021 only in _hist; 2022 from the current dataset (300 Paris + 80 + 0), not from _hist's revised-away 999s
        assert by_year == {2021: 380.0, 2022: 380.0, 2023: 600.0}
        assert con.execute("select distinct source from stg.caf_places_commune").fetchall() == [("official",)]
    finally:
        con.close()
    meta = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert meta["stg/caf_places_commune"]["caf_years"].data == [2021, 2022, 2023]


def test_official_mode_offline_without_the_exports_names_the_missing_file(tmp_path):
    resources = {
        "warehouse": Warehouse(path=str(tmp_path / "b.duckdb")),
        "downloader": Downloader(raw_dir=str(tmp_path / "raw"), source_mode="official", offline=True),
    }
    raw = next(a for a in caf_defs.assets if dg.AssetKey(["raw", "caf"]) in a.keys)
    result = dg.materialize([raw], resources=resources, raise_on_error=False)
    assert not result.success
    error = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE").event_specific_data.error
    message = error.message + "".join(c.message for c in _causes(error))
    assert "caf/latest/nbpla_pe_com.csv" in message and "OBSERVATORY_OFFLINE" in message


def _causes(error):
    while error.cause is not None:
        error = error.cause
        yield error


def _drees(rows: list[list[str]], years=("2016", "2017")) -> pl.DataFrame:
    cols = ["Code région", "Code département", "Département", *years]
    return pl.DataFrame([dict(zip(cols, r)) for r in rows], schema={c: pl.String for c in cols})


def test_drees_values_subtotals_and_secret_cells():
    frame = _drees(
        [["84", "01", "Ain", "5 707", "5\u202f642"], ["44", "6AE", "Alsace", "1", "2"], ["94", "2A", "Corse-du-Sud", "20", "NaN"]]
    )
    out, stats = tidy(frame, 33, "tab33.csv")
    values = {(r["code_departement"], r["annee"]): r["valeur"] for r in out.to_dicts()}
    assert values == {("01", 2016): 5707.0, ("01", 2017): 5642.0, ("2A", 2016): 20.0, ("2A", 2017): None}
    assert stats == {"rows": 4, "subdivisions_dropped": 1, "missing_values": 1}
    assert set(out.get_column("indicateur")) == {"agrements_assistants_maternels"}


@pytest.mark.parametrize(
    "frame, message",
    [
        (_drees([["84", "1", "Ain", "3", "4"]]), r"Code département: 1 value\(s\) are not département codes"),
        (_drees([["84", "01", "Ain", "3", "beaucoup"]]), r"not numbers \(e.g. \['beaucoup'\]\)"),
        (_drees([["84", "01", "Ain", "3", "4"]]).drop("Département"), r"\['Département'\] missing"),
        (_drees([["84", "01", "Ain", "3", "4"]], years=("an_1", "an_2")), "no year column"),
    ],
)
def test_drees_bad_input_names_file_and_column(frame, message):
    with pytest.raises(DreesFormatError, match=message) as err:
        tidy(frame, 23, "data/raw/drees/manual/drees_tab23.csv")
    assert "drees_tab23.csv" in str(err.value)


def test_partition_annee_holds_the_previous_caf_year_and_replaces_only_its_years(tmp_path):
    """Partition ``annee`` = CAF supply of December ``annee - 1``. The fixture publishes CAF 2021-2023."""
    _official_raw(tmp_path / "raw")
    db = tmp_path / "build" / "b.duckdb"
    resources = {
        "warehouse": Warehouse(path=str(db)),
        "downloader": Downloader(raw_dir=str(tmp_path / "raw"), source_mode="official", offline=True),
    }
    places, coverage = dg.AssetKey(["stg", "caf_places_commune"]), dg.AssetKey(["stg", "caf_coverage_commune"])
    defs = [*caf_defs.assets, *caf_defs.asset_checks]
    instance = dg.DagsterInstance.ephemeral()

    def rows():
        with duckdb.connect(str(db), read_only=True) as con:
            return {
                t: con.execute(f"select caf_annee, source, count(*) from stg.{t} group by all order by all").fetchall()
                for t in ("caf_places_commune", "caf_coverage_commune")
            }

    def meta(result, key):
        event = next(e for e in result.get_asset_materialization_events() if e.asset_key == key)  # one per partition, same metadata
        return {k: v.value for k, v in event.materialization.metadata.items()}

    # a backfill of 2022-2023 (one run): CAF 2021 and 2022
    result = dg.materialize(defs, resources=resources, instance=instance, tags=range_tags(2022, 2023, YEARS))
    assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
    # (2022: Paris from its two arrondissements, 01004, 97701; 2021: the same rows in _hist)
    assert rows() == {
        "caf_places_commune": [(2021, "official", 3), (2022, "official", 3)],
        "caf_coverage_commune": [(2021, "official", 3), (2022, "official", 3)],
    }
    assert meta(result, places)["rows_written_per_caf_annee"] == {"2021": 3, "2022": 3}
    assert meta(result, places)["caf_year_missing"] == {}
    assert instance.get_materialized_partitions(places) == instance.get_materialized_partitions(coverage) == {"2022", "2023"}

    # the refresh of 2024 adds CAF 2023 and leaves 2021-2022 as they were
    with duckdb.connect(str(db)) as con:
        con.execute("update stg.caf_places_commune set source = 'stale'")
        con.execute("update stg.caf_coverage_commune set source = 'stale'")
    assert dg.materialize(defs, resources=resources, instance=instance, partition_key="2024").success
    assert rows()["caf_places_commune"] == [(2021, "stale", 3), (2022, "stale", 3), (2023, "official", 1)]
    assert rows()["caf_coverage_commune"] == [(2021, "stale", 3), (2022, "stale", 3), (2023, "official", 1)]

    # 2026 = CAF 2025, not published: the partition is written empty and says so; nothing else moves
    before = rows()
    result = dg.materialize(defs, resources=resources, instance=instance, partition_key="2026")
    assert result.success and rows() == before
    for key in (places, coverage):
        m = meta(result, key)
        assert m["caf_year_missing"] == {"2026": "no CAF row for caf_annee 2025 (December 2025) in the source: partition written empty"}
        assert (m["rows_written"], m["years_written"], m["table_years"]) == (0, [2025], [2021, 2022, 2023])
    assert instance.get_materialized_partitions(places) == {"2022", "2023", "2024", "2026"}
