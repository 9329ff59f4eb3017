"""Every column of every stg / int / marts table of the embedded build is described, in the Dagster column
schema of its asset's materialization and in the DuckDB comments, from the one column spec of each table
(``assets/<pkg>/columns.py``; the territory marts: ``assets/territory/sql.py``)."""

import pytest

from assets.catalog import table_specs
from observatory.definitions import build_definitions

LAYERS = ("stg", "int", "marts")


@pytest.fixture(scope="module")
def table_assets(embedded_world) -> list[str]:
    defs = build_definitions(embedded_world.settings)
    keys = sorted({"/".join(s.key.path) for s in defs.resolve_all_asset_specs() if s.key.path[0] in LAYERS})
    assert len(keys) > 20, keys
    return keys


def _schema_columns(value) -> list:
    # World.materialization gives MetadataValue.value: the TableSchema (or its wrapper, depending on the version)
    return list(getattr(value, "schema", value).columns)


def test_every_column_of_every_table_asset_has_a_description_in_its_materialization(embedded_world, table_assets):
    missing, without_schema = [], []
    for key in table_assets:
        meta = embedded_world.materialization(key)
        if "dagster/column_schema" not in meta:
            without_schema.append(key)
            continue
        columns = _schema_columns(meta["dagster/column_schema"])
        assert columns, f"{key}: empty column schema"
        missing += [f"{key.replace('/', '.')}.{c.name}" for c in columns if not (c.description or "").strip()]
    assert without_schema == [], f"materializations without a column schema: {without_schema}"
    assert missing == [], f"columns without a description in the materialization metadata: {missing}"


def test_every_column_of_every_stg_int_marts_table_has_a_duckdb_comment(embedded_world, table_assets):
    rows = embedded_world.build.execute(
        "select schema_name || '.' || table_name, column_name, comment from duckdb_columns() "
        "where database_name = current_database() and schema_name in ('stg', 'int', 'marts') order by all"
    ).fetchall()
    tables = {t for t, _, _ in rows}
    # Every table asset is in the build database (so the walk above covered real tables), plus helper tables
    # that assets write besides their own (int.facility_transitions_yearly), which must be described too.
    assert {k.replace("/", ".") for k in table_assets} <= tables
    missing = [f"{t}.{c}" for t, c, comment in rows if not (comment or "").strip()]
    assert missing == [], f"columns without a DuckDB comment: {missing}"
    no_table_comment = [
        t
        for (t,) in embedded_world.build.execute(
            "select schema_name || '.' || table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name in ('stg', 'int', 'marts') and coalesce(comment, '') = '' order by 1"
        ).fetchall()
    ]
    assert no_table_comment == [], f"tables without a DuckDB comment: {no_table_comment}"


def test_every_stg_and_int_table_has_a_column_spec_matching_the_built_table(embedded_world):
    """The specs are the contract: each names exactly the built table's columns (order aside), so none can rot;
    every stg / int table of the build has one."""
    specs = table_specs()
    rows = embedded_world.build.execute(
        "select schema_name || '.' || table_name, column_name from duckdb_columns() "
        "where database_name = current_database() and schema_name in ('stg', 'int', 'marts')"
    ).fetchall()
    built: dict[str, set[str]] = {}
    for t, c in rows:
        built.setdefault(t, set()).add(c)
    assert sorted(t for t in built if t.split(".")[0] in ("stg", "int") and t not in specs) == []
    drift = {t: (sorted(set(s.names) - built.get(t, set())), sorted(built.get(t, set()) - set(s.names))) for t, s in specs.items()}
    assert {t: d for t, d in drift.items() if d != ([], [])} == {}, "spec columns (missing from the table, not in the spec)"
