"""The value specs evaluated in the warehouse: each rule is a DuckDB aggregate, nothing is copied out.

A suite's value rules (:class:`NotNull`, :class:`Matches`, :class:`Between`, :class:`InSet`,
:class:`RowCount`) become ``count(*) filter (where <failing>)`` columns of **one** scan of the table; each
:class:`Unique` rule is one ``group by`` of its key. Only for a rule that fails is a second, bounded query
run: its first :data:`~observatory.quality.specs.EXAMPLES` failing rows in table order (``rowid``).

The semantics are those of the Great Expectations expectations the specs name (:mod:`observatory.quality.gx`
is kept as the reference and ``tests/unit/test_quality_oracle.py`` compares the two rule by rule):

* nulls are ignored by every rule but ``NotNull``; a floating-point NaN counts as null, as pandas reads it;
* ``Unique``: every row of a duplicated value counts (both copies); a compound key ignores the rows whose
  key columns are all null and treats nulls as equal;
* ``Matches``: a regular-expression *search* (``regexp_matches``: RE2, where GX used Python's ``re`` on
  the value as text);
* ``Between``: bounds included, a ``None`` bound is open;
* ``unexpected_percent``: failing rows over the rows the rule checks (non-null values; every row for
  ``NotNull``; the rows whose key is not all null for a compound ``Unique``), None if there are none.
"""

import math
from typing import Any, Sequence

from observatory.quality.gx import scalar
from observatory.quality.specs import EXAMPLES, Between, InSet, Matches, NotNull, Outcome, RowCount, Spec, Unique, columns_of
from observatory.resources import sql_literal

_FLOATS = {"FLOAT", "REAL", "DOUBLE", "FLOAT4", "FLOAT8"}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"'{value!r}'::double" if not math.isfinite(value) else repr(value)
    return sql_literal(value)


class _Rule:
    """One spec as SQL: the failing-row predicate and the rows it checks (the percentage's denominator)."""

    def __init__(self, spec: Spec, types: dict[str, str]):
        self.spec = spec
        self.error = ""
        if isinstance(spec, RowCount):
            return
        if isinstance(spec, Unique):
            self.keys = [self._value(c, types) for c in spec.columns]
            self.checked = " and ".join(f"{k} is null" for k in self.keys)
            self.checked = f"not ({self.checked})"
            return
        v = self._value(spec.column, types)
        self.checked = f"{v} is not null"
        if isinstance(spec, NotNull):
            self.failing, self.checked = f"{v} is null", "true"
        elif isinstance(spec, Matches):
            self.failing = f"{v} is not null and not regexp_matches(cast({v} as varchar), {sql_literal(spec.regex)})"
        elif isinstance(spec, Between):
            if spec.min_value is None and spec.max_value is None:
                self.error = f"{spec.name}: give a min_value or a max_value"
            out = [f"{v} < {_literal(spec.min_value)}"] * (spec.min_value is not None)
            out += [f"{v} > {_literal(spec.max_value)}"] * (spec.max_value is not None)
            self.failing = f"{v} is not null and ({' or '.join(out) or 'false'})"
        elif isinstance(spec, InSet):
            listed = ", ".join(_literal(x) for x in spec.values)
            self.failing = f"{v} is not null and not ({v} in ({listed}))" if listed else f"{v} is not null"
        else:
            raise TypeError(f"not a value spec: {spec!r}")

    @staticmethod
    def _value(column: str, types: dict[str, str]) -> str:
        c = _ident(column)
        # pandas reads a NaN as a missing value: so do the rules.
        return f"(case when isnan({c}) then null else {c} end)" if types.get(column, "").upper() in _FLOATS else c


def validate_in_sql(con: Any, t: str, specs: Sequence[Spec], types: dict[str, str], keys: Sequence[str] = ()) -> list[Outcome]:
    """Evaluate the value ``specs`` on table ``t`` (already qualified) in DuckDB; failing rows are shown with
    the ``keys`` and the rule's columns. ``types``: the table's column types (``describe``)."""
    import duckdb

    if not specs:
        return []
    rules = [_Rule(s, types) for s in specs]
    order = "order by rowid" if _has_rowid(con, t) else ""
    try:
        counts = _counts(con, t, rules)
    except duckdb.Error as exc:
        return [Outcome(s.name, False, 1, [], None, f"rule evaluation failed on {t}: {exc}") for s in specs]
    outcomes = []
    for rule, (n_rows, n_failing, n_checked) in zip(rules, counts):
        spec = rule.spec
        if rule.error:
            outcomes.append(Outcome(spec.name, False, 1, [], None, rule.error))
            continue
        if isinstance(spec, RowCount):
            ok = (spec.min_value is None or n_rows >= spec.min_value) and (spec.max_value is None or n_rows <= spec.max_value)
            outcomes.append(Outcome(spec.name, ok, 0 if ok else 1, [] if ok else [{"row_count": n_rows}]))
            continue
        # GX's own arithmetic (count / checked * 100), so that both engines print the same digits.
        percent = n_failing / n_checked * 100 if n_checked else None
        examples: list[Any] = []
        if n_failing:
            shown = list(dict.fromkeys([*keys, *columns_of(spec)]))
            try:
                examples = _examples(con, t, rule, shown, order)
            except duckdb.Error as exc:
                outcomes.append(Outcome(spec.name, False, n_failing, [], percent, f"failing rows of {t} not read: {exc}"))
                continue
        outcomes.append(Outcome(spec.name, n_failing == 0, n_failing, examples, percent))
    return outcomes


def _has_rowid(con: Any, t: str) -> bool:
    schema, name = t.split(".")
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where database_name = current_database() and schema_name = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def _counts(con: Any, t: str, rules: list[_Rule]) -> list[tuple[int, int, int]]:
    """(rows, failing rows, checked rows) of every rule: one scan for the row-wise rules, one group-by per key."""
    columns = ["count(*)"]
    for r in rules:
        if not isinstance(r.spec, (RowCount, Unique)) and not r.error:
            columns += [f"count(*) filter (where {r.failing})", f"count(*) filter (where {r.checked})"]
    row = con.execute(f"select {', '.join(columns)} from {t}").fetchone()
    n_rows, rest = int(row[0]), [int(x) for x in row[1:]]
    out, unique_done = [], {}
    for r in rules:
        if isinstance(r.spec, RowCount) or r.error:
            out.append((n_rows, 0, 0))
        elif isinstance(r.spec, Unique):
            if r.spec not in unique_done:
                group = ", ".join(r.keys)
                unique_done[r.spec] = con.execute(
                    f"select coalesce(sum(n) filter (where n > 1), 0), coalesce(sum(n), 0) "
                    f"from (select count(*) as n from {t} where {r.checked} group by {group})"
                ).fetchone()
            failing, checked = unique_done[r.spec]
            out.append((n_rows, int(failing), int(checked)))
        else:
            out.append((n_rows, rest.pop(0), rest.pop(0)))
    return out


def _examples(con: Any, t: str, rule: _Rule, shown: list[str], order: str) -> list[dict[str, Any]]:
    projection = ", ".join(_ident(c) for c in shown)
    if isinstance(rule.spec, Unique):
        # Only a failing rule gets here: the window over the checked rows is paid on failure only.
        group = ", ".join(rule.keys)
        rowid = ", rowid as _row" if order else ""
        query = (
            f"select {projection} from (select {projection}{rowid}, count(*) over (partition by {group}) as _n "
            f"from {t} where {rule.checked}) where _n > 1 {'order by _row' if order else ''} limit {EXAMPLES}"
        )
    else:
        query = f"select {projection} from {t} where {rule.failing} {order} limit {EXAMPLES}"
    rel = con.execute(query)
    names = [d[0] for d in rel.description]
    return [dict(zip(names, map(scalar, row))) for row in rel.fetchall()]
