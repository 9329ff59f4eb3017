"""Column specifications: the one description of a warehouse table (name, DuckDB type, meaning, unit of
each column). The package that builds a table owns its spec (``assets/<pkg>/columns.py``); the same object
writes the DuckDB table and column comments (copied by publication), feeds the ``Columns`` type check, the
Dagster column schema (definition and materialization) and ``docs/data_dictionary.md``.

The unit is appended to the column comment (``... [unit: places]``) so that an analyst reading the
database alone sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import duckdb

from observatory.resources import describe_comment, qualified, sql_literal


@dataclass(frozen=True)
class Col:
    name: str
    type: str
    meaning: str
    unit: str = ""

    def comment(self) -> str:
        return self.meaning + (f" [unit: {self.unit}]" if self.unit else "")


@dataclass(frozen=True)
class TableSpec:
    table: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Col, ...]

    @property
    def types(self) -> dict[str, str]:
        return {c.name: c.type for c in self.columns}

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def table_schema(self) -> dg.TableSchema:
        """The Dagster column schema the spec promises, for the asset definition (the UI shows it before a run)."""
        return dg.TableSchema(
            columns=[dg.TableColumn(name=c.name, type=c.type, description=describe_comment(c.comment())) for c in self.columns]
        )


def spec_from_types(
    table: str, description: str, key: tuple[str, ...], types: dict[str, str], meanings: dict[str, str | tuple[str, str]]
) -> TableSpec:
    """A spec for a table whose names and types another structure already declares (a reader's column
    list): ``meanings`` maps each column to its meaning or (meaning, unit), and must cover exactly ``types``."""
    if set(meanings) != set(types):
        raise ValueError(
            f"{table}: meanings for {sorted(set(meanings) - set(types))} are not columns; columns without one: {sorted(set(types) - set(meanings))}"
        )
    cols = []
    for name, typ in types.items():
        m = meanings[name]
        meaning, unit = (m, "") if isinstance(m, str) else m
        cols.append(Col(name, typ, meaning, unit))
    return TableSpec(table, description, key, tuple(cols))


def apply_comments(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> None:
    """Write the table and column comments; fail if the table's columns differ from the spec (order aside:
    the type check and the schema follow the table), so that a spec cannot rot."""
    t = qualified(spec.table)
    actual = [r[0] for r in con.execute(f"describe {t}").fetchall()]
    if set(actual) != set(spec.names) or len(actual) != len(spec.names):
        missing = [c for c in spec.names if c not in actual]
        extra = [c for c in actual if c not in spec.names]
        raise RuntimeError(
            f"{t}: columns {actual} differ from the specification {spec.names} "
            f"(missing from the table: {missing}; not in the spec: {extra})"
        )
    con.execute(f"comment on table {t} is {sql_literal(spec.description)}")
    for c in spec.columns:
        con.execute(f'comment on column {t}."{c.name}" is {sql_literal(c.comment())}')
