"""observatory.columns: the one column spec of a table writes its comments, refuses a drifted table, and feeds
the Dagster column schema; assets.catalog finds one spec per table."""

import duckdb
import pytest

from assets.catalog import table_specs
from observatory.columns import Col, TableSpec, apply_comments, spec_from_types
from observatory.resources import Warehouse

SPEC = TableSpec(
    "stg.things",
    "Things by year.",
    ("annee", "code"),
    (Col("annee", "INTEGER", "Year", "year"), Col("code", "VARCHAR", "Code of the thing"), Col("n", "BIGINT", "Count", "things")),
)


def _con(ddl: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema stg")
    con.execute(ddl)
    return con


def test_apply_comments_accepts_any_column_order_and_writes_units():
    con = _con("create table stg.things (n bigint, code varchar, annee integer)")
    apply_comments(con, SPEC)
    comments = dict(con.execute("select column_name, comment from duckdb_columns() where table_name = 'things'").fetchall())
    assert comments == {"annee": "Year [unit: year]", "code": "Code of the thing", "n": "Count [unit: things]"}
    assert con.execute("select comment from duckdb_tables() where table_name = 'things'").fetchall() == [("Things by year.",)]


def test_apply_comments_names_the_columns_that_drifted():
    con = _con("create table stg.things (annee integer, code varchar, extra double)")
    with pytest.raises(RuntimeError, match=r"missing from the table: \['n'\]; not in the spec: \['extra'\]"):
        apply_comments(con, SPEC)


def test_table_metadata_given_a_spec_writes_the_descriptions_into_the_column_schema(tmp_path):
    warehouse = Warehouse(path=str(tmp_path / "w.duckdb"), published_dir=str(tmp_path))
    with warehouse.connect() as con:
        con.execute("create table stg.things as select 2024::integer as annee, 'a' as code, 3::bigint as n")
        meta = warehouse.table_metadata(con, SPEC)
    described = {c.name: c.description for c in meta["dagster/column_schema"].columns}
    assert described == {"annee": "Year. Unit: year.", "code": "Code of the thing", "n": "Count. Unit: things."}
    assert {c.name: c.description for c in SPEC.table_schema().columns} == described


def test_spec_from_types_requires_a_meaning_for_exactly_every_column():
    spec = spec_from_types("stg.t", "T.", ("a",), {"a": "VARCHAR", "b": "DATE"}, {"a": "A", "b": ("B", "date")})
    assert [(c.name, c.type, c.unit) for c in spec.columns] == [("a", "VARCHAR", ""), ("b", "DATE", "date")]
    with pytest.raises(ValueError, match=r"columns without one: \['b'\]"):
        spec_from_types("stg.t", "T.", ("a",), {"a": "VARCHAR", "b": "DATE"}, {"a": "A"})


def test_the_catalog_has_one_spec_per_table_with_every_column_described():
    specs = table_specs()
    assert {"stg.sirene_etablissements", "stg.caf_places_commune", "int.operator_years", "marts.operators"} <= set(specs)
    undescribed = [f"{t}.{c.name}" for t, s in specs.items() for c in s.columns if not c.meaning.strip()]
    assert undescribed == []
    assert all(s.description.strip() for s in specs.values())
