"""Checks a person can read (issue 13, item 2): every mart has its named key check and at least one named
content check, all blocking; a suite splits into named checks by rule family; a renamed check's old failure
no longer refuses publication."""

import duckdb

from assets.marts import columns as C
from observatory.definitions import defs
from observatory.quality import NotNull, RowCount, Sql, Unique
from observatory.quality.check import KEY_CHECK, named_checks
from observatory.quality.log import failed_checks, record_outcome, retire_checks

SCHEMA_ONLY = {"columns_and_types", "row_count", "not_null"}


def test_every_mart_has_a_key_check_and_a_content_check_all_blocking():
    graph = defs.resolve_asset_graph()
    by_asset: dict[str, dict[str, bool]] = {}
    for ck in graph.asset_check_keys:
        spec = graph.get_check_spec(ck)
        by_asset.setdefault(ck.asset_key.to_user_string(), {})[ck.name] = spec.blocking
    marts = sorted(k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0] == "marts")
    assert len(marts) >= 13
    for mart in marts:
        checks = by_asset.get(mart, {})
        assert KEY_CHECK in checks, f"{mart}: no {KEY_CHECK} check among {sorted(checks)}"
        assert set(checks) - SCHEMA_ONLY - {KEY_CHECK}, f"{mart}: no content check among {sorted(checks)}"
        assert all(checks.values()), f"{mart}: non-blocking checks {[n for n, b in checks.items() if not b]}"


def test_the_key_check_comes_from_the_column_spec():
    graph = defs.resolve_asset_graph()
    for spec in C.SPECS.values():
        key = spec.table.split(".")
        names = {ck.name for ck in graph.asset_check_keys if ck.asset_key.path == key}
        assert KEY_CHECK in names, spec.table


def test_a_suite_splits_into_named_checks_by_family():
    groups = named_checks(
        [
            RowCount(1),
            NotNull("a"),
            NotNull("b"),
            Sql("Shares sum to 1 per (EPCI, année)", "select 1 where false"),
            Sql("shares sum to 1 per epci annee", "select 1 where false"),
        ],
        key=("a", "b"),
    )
    assert list(groups) == ["unique_key", "row_count", "not_null", "shares_sum_to_1_per_epci_ann_e", "shares_sum_to_1_per_epci_annee"]
    assert groups["unique_key"] == [Unique("a", "b")] and len(groups["not_null"]) == 2


def test_a_retired_check_name_no_longer_refuses_publication(tmp_path):
    db = tmp_path / "build.duckdb"
    with duckdb.connect(str(db)) as c:
        record_outcome(c, "marts.a", "quality", False, run_id="old")
        record_outcome(c, "marts.a", "unique_key", True, run_id="new")
    with duckdb.connect() as c:
        c.execute(f"attach '{db}' as build")
        assert failed_checks(c) == [("marts.a", "quality")]
    with duckdb.connect(str(db)) as c:
        retire_checks(c, "marts.a", ["unique_key"])
        record_outcome(c, "marts.a", "value_ranges", False, run_id="new")
    with duckdb.connect() as c:
        c.execute(f"attach '{db}' as build")
        assert failed_checks(c) == [("marts.a", "value_ranges")]
