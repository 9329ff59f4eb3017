"""SQL rule builders for invariants any table may have: they return :class:`~observatory.quality.specs.Sql`
specs whose failing rows carry a ``problem`` column saying what is wrong. Column names are quoted by
:func:`quote_column` (anything but a plain identifier is refused), tables by ``resources.qualified``.

Domain rules (SIREN, SIRET, commune codes) live with the codes they know: ``assets/common/identifiers.py``.
"""

import re
from typing import Iterable, Sequence

from observatory.quality.specs import Spec, Sql
from observatory.resources import qualified

_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_column(name: str) -> str:
    """A quoted column identifier; anything but a plain identifier is refused (no SQL injection)."""
    if not _COLUMN.match(name):
        raise ValueError(f"invalid column name {name!r}: expected a plain identifier")
    return f'"{name}"'


def _cols(names: Sequence[str]) -> str:
    return ", ".join(quote_column(n) for n in names)


def shares_in_unit_interval(column: str, *, tolerance: float = 1e-9) -> Sql:
    """Every non-null share lies in [0, 1] (to ``tolerance``: float sums of parts)."""
    c = quote_column(column)
    return Sql(
        f"{column} in [0, 1]",
        f"select *, 'share outside [0, 1]' as problem from {{table}} where {c} < -{float(tolerance)!r} or {c} > 1 + {float(tolerance)!r}",
    )


def shares_sum_to_one(column: str, by: Sequence[str], *, tolerance: float = 1e-6) -> Sql:
    """Per group ``by``, the non-null shares sum to 1 (to ``tolerance``). A group whose shares are
    all null (share undefined, e.g. a territory without any facility) is not checked."""
    if not by:
        raise ValueError("shares_sum_to_one: give the group columns (by=...)")
    c, g = quote_column(column), _cols(by)
    return Sql(
        f"{column} sums to 1 per ({', '.join(by)})",
        f"select {g}, count({c}) as n_shares, sum({c}) as share_sum, 'shares do not sum to 1' as problem "
        f"from {{table}} group by {g} having count({c}) > 0 and abs(sum({c}) - 1) > {float(tolerance)!r} "
        f"order by {g}",
    )


def share_rules(column: str, by: Sequence[str], *, tolerance: float = 1e-6) -> list[Spec]:
    """Both share rules: each share in [0, 1], and shares summing to 1 per group."""
    return [shares_in_unit_interval(column, tolerance=min(tolerance, 1e-9)), shares_sum_to_one(column, by, tolerance=tolerance)]


def years_covered(column: str, years: Iterable[int], *, exact: bool = True) -> Sql:
    """Every year of ``years`` is present in ``column``; with ``exact``, no other year is."""
    expected = sorted({int(y) for y in years})
    if not expected:
        raise ValueError("years_covered: expected at least one year")
    c = quote_column(column)
    listed = ", ".join(str(y) for y in expected)
    query = (
        f"with expected as (select unnest([{listed}]) as y), "
        f"present as (select distinct cast({c} as integer) as y from {{table}} where {c} is not null) "
        f"select y as {c}, 'missing year' as problem from expected where y not in (select y from present)"
    )
    if exact:
        query += " union all select y, 'unexpected year' from present where y not in (select y from expected)"
    span = f"{expected[0]}-{expected[-1]}" if expected == list(range(expected[0], expected[-1] + 1)) else listed
    return Sql(f"{column} covers {'exactly ' if exact else ''}{span}", f"select * from ({query}) order by 1")


def referential_integrity(
    columns: Sequence[str],
    ref_table: str,
    ref_columns: Sequence[str] | None = None,
    *,
    min_share: float = 1.0,
    reason_column: str | None = None,
    where: str | None = None,
) -> Sql:
    """Rows of the checked table whose ``columns`` are found in ``ref_table`` (``ref_columns``,
    default the same names): at least ``min_share`` of them, and - with ``reason_column`` - every
    row not found carries a reason (a non-null value in that column).

    Failing rows: every row not found when the joined share is below ``min_share``; otherwise the
    rows not found that have no reason. ``where`` (SQL, written by the suite's author) restricts
    the checked rows, e.g. ``annee >= 2015``. Null keys never join.
    """
    ref = qualified(ref_table)
    ref_columns = list(ref_columns or columns)
    if len(ref_columns) != len(columns) or not columns:
        raise ValueError("referential_integrity: columns and ref_columns must be non-empty and of equal length")
    if not 0 < min_share <= 1:
        raise ValueError(f"referential_integrity: min_share={min_share}, expected in (0, 1]")
    keys = _cols(columns)
    reason = f", {quote_column(reason_column)} as _reason" if reason_column else ", null::varchar as _reason"
    ref_proj = ", ".join(f"{quote_column(r)} as {quote_column(c)}" for c, r in zip(columns, ref_columns))
    on = " and ".join(f"a.{quote_column(c)} = b.{quote_column(c)}" for c in columns)
    unexplained = " or _reason is null" if reason_column else ""
    shown_reason = f", _reason as {quote_column(reason_column)}" if reason_column else ""
    query = (
        f"with a as (select {keys}{reason} from {{table}}{f' where {where}' if where else ''}), "
        f"b as (select distinct {ref_proj} from {ref}), "
        f"j as (select a.*, exists (select 1 from b where {on}) as _hit from a), "
        f"s as (select count(*) as n_rows, count(*) filter (where _hit) as n_joined from j) "
        f"select {', '.join('j.' + quote_column(c) for c in columns)}{shown_reason}, "
        f"case when s.n_joined < {float(min_share)!r} * s.n_rows "
        f"then 'not in {ref}; joined share ' || round(s.n_joined / s.n_rows, 5) || ' below {min_share}' "
        f"else 'not in {ref} and no reason given' end as problem, s.n_joined, s.n_rows "
        f"from j, s where not j._hit and (s.n_joined < {float(min_share)!r} * s.n_rows{unexplained})"
    )
    name = f"({', '.join(columns)}) found in {ref} for >= {min_share:.1%} of rows"
    if reason_column:
        name += f", the rest with a {reason_column}"
    return Sql(name, query)
