"""Evaluating a suite against a warehouse table, in DuckDB: schema specs on ``describe``, ``Sql`` rules as
their queries, value specs as aggregates (:mod:`observatory.quality.aggregates`). Great Expectations on a
pandas copy of the table (:mod:`observatory.quality.gx`) is the reference the SQL is tested against
(``engine="gx"``), not what the checks run."""

from typing import Any, Literal, Sequence

from observatory.quality.aggregates import validate_in_sql
from observatory.quality.gx import scalar, validate_with_gx
from observatory.quality.specs import EXAMPLES, Columns, Outcome, Spec, Sql, Unique, columns_of
from observatory.resources import qualified


def _table_columns(con: Any, t: str) -> dict[str, str]:
    return {r[0]: str(r[1]) for r in con.execute(f"describe {t}").fetchall()}


def run_suite(con: Any, table: str, specs: Sequence[Spec], *, engine: Literal["sql", "gx"] = "sql") -> list[Outcome]:
    """Evaluate a suite against ``table`` in an open DuckDB connection.

    ``engine``: ``"sql"`` (what the checks run: the value rules are DuckDB aggregates, the table is never
    copied out) or ``"gx"`` (the same rules validated by Great Expectations on a pandas copy of the
    columns they read: the reference of the oracle tests). Both give the same outcomes.

    Never raises for bad data: a missing table, a missing column or a rule whose SQL fails is a
    failing outcome whose ``error`` says why.
    """
    if engine not in ("sql", "gx"):
        raise ValueError(f"run_suite: engine={engine!r}, expected 'sql' or 'gx'")
    import duckdb

    t = qualified(table)
    try:
        actual = _table_columns(con, t)
    except duckdb.Error as exc:
        return [Outcome("table exists", False, 1, [], None, f"{t}: {exc}")]
    # One slot per spec, so that outcomes come back in suite order (the checks split the suite by position).
    outcomes: list[Outcome | None] = [None] * len(specs)
    value_specs, value_slots = [], []
    for i, spec in enumerate(specs):
        if isinstance(spec, Columns):
            problems = [f"{c}: expected {ty}, found {actual.get(c, 'missing')}" for c, ty in spec.types.items() if actual.get(c) != ty] + [
                f"{c}: unexpected column" for c in actual if c not in spec.types
            ]
            outcomes[i] = Outcome(spec.name, not problems, len(problems), problems)
        elif isinstance(spec, Sql):
            outcomes[i] = _run_sql(con, t, spec)
        else:
            missing = [c for c in columns_of(spec) if c not in actual]
            if missing:
                outcomes[i] = Outcome(spec.name, False, 1, [], None, f"{t}: column(s) {missing} missing; found {sorted(actual)}")
            else:
                value_specs.append(spec)
                value_slots.append(i)
    # Key columns (of the uniqueness rules) come along so that failing rows can be found.
    keys = list(dict.fromkeys(c for s in value_specs if isinstance(s, Unique) for c in s.columns))
    if value_specs and engine == "sql":
        for i, outcome in zip(value_slots, validate_in_sql(con, t, value_specs, actual, keys=keys)):
            outcomes[i] = outcome
    elif value_specs:
        needed = list(dict.fromkeys(c for s in value_specs for c in columns_of(s)))
        shown = list(dict.fromkeys(keys + needed))
        projection = ", ".join(f'"{c}"' for c in shown) if shown else "1 as _one"
        df = con.execute(f"select {projection} from {t}").df()
        for i, outcome in zip(value_slots, validate_with_gx(df, value_specs, keys=keys)):
            outcomes[i] = outcome
    return [o for o in outcomes if o is not None]


def _run_sql(con: Any, t: str, spec: Sql) -> Outcome:
    import duckdb

    query = spec.query.replace("{table}", t)
    try:
        count = con.execute(f"select count(*) from ({query})").fetchone()[0]
        examples = []
        # A passing rule is not run a second time for its (absent) examples: most rules pass.
        if count:
            rel = con.execute(f"select * from ({query}) limit {EXAMPLES}")
            cols = [d[0] for d in rel.description]
            examples = [dict(zip(cols, map(scalar, row))) for row in rel.fetchall()]
    except duckdb.Error as exc:
        return Outcome(spec.name, False, 1, [], None, f"rule query failed on {t}: {exc}")
    return Outcome(spec.name, count == 0, int(count), examples)
