"""Blocking data-quality checks: a thin Great Expectations 1.x adapter plus SQL rules.

Why our own adapter: ``dagster-ge`` requires great-expectations<1 and pandas<3. GX 1.x rejects
Polars frames and its DuckDB path is broken, so a table is read from the build warehouse into a
pandas frame and validated there. ``import great_expectations`` costs seconds: it happens inside
the check, never at import time, with GX analytics and progress bars switched off.

A suite is a plain list of expectation specs, so pytest can run the very same suite
(:func:`run_suite`) that Dagster runs as a blocking asset check (:func:`table_check`).

Spec kinds:
* :class:`Columns` - exact column set and DuckDB types (checked on the warehouse schema);
* :class:`Unique`, :class:`NotNull`, :class:`Matches`, :class:`Between`, :class:`InSet`,
  :class:`RowCount` - mapped to GX expectations (nulls are ignored by every rule but NotNull);
* :class:`Sql` - an invariant written as a query returning the *failing* rows (e.g. shares that do
  not sum to 1, communes without an EPCI). Empty result = pass.

Rule builders for the codes and invariants every source shares return :class:`Sql` specs (their
failing rows carry a ``problem`` column saying what is wrong): :func:`valid_siren`,
:func:`valid_siret`, :func:`siret_of_siren`, :func:`commune_code`, :func:`epci_siren`,
:func:`shares_in_unit_interval`, :func:`shares_sum_to_one` (both: :func:`share_rules`),
:func:`years_covered`, :func:`referential_integrity`. The SQL predicates behind them
(:func:`siren_valid_sql`, :func:`siret_valid_sql`, :func:`luhn_sql`) can be used in any query, or as
DuckDB macros after :func:`register_macros`.
"""


import datetime as dt
import decimal
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import dagster as dg

from observatory.resources import Warehouse, qualified, sql_literal

#: Code formats shared by every suite.
SIREN_RE = r"^[0-9]{9}$"
SIRET_RE = r"^[0-9]{14}$"
#: Commune codes: 5 characters, Corsica 2A/2B, DROM 97x; arrondissements are ordinary codes.
#: (A loose format; :func:`commune_code` is the strict rule.)
COMMUNE_RE = r"^(?:[0-9]{2}|2A|2B)[0-9]{3}$"
DEPARTEMENT_RE = r"^(?:[0-9]{2}|2A|2B|97[1-8])$"
EPCI_RE = SIREN_RE
#: Municipal arrondissements of Paris (75101-75120), Lyon (69381-69389), Marseille (13201-13216).
ARRONDISSEMENT_RE = r"^(?:751(?:0[1-9]|1[0-9]|20)|6938[1-9]|132(?:0[1-9]|1[0-6]))$"
#: La Poste: one SIREN for ~17,000 establishments, whose SIRETs do not follow Luhn (see valid_siret).
LA_POSTE_SIREN = "356000000"

#: How many failing rows a check shows in its metadata.
EXAMPLES = 5


@dataclass(frozen=True)
class Columns:
    types: dict[str, str]
    name: str = "expected columns and types"


@dataclass(frozen=True)
class Unique:
    columns: tuple[str, ...]

    def __init__(self, *columns: str):
        object.__setattr__(self, "columns", tuple(columns))

    @property
    def name(self) -> str:
        return f"unique ({', '.join(self.columns)})"


@dataclass(frozen=True)
class NotNull:
    column: str

    @property
    def name(self) -> str:
        return f"{self.column} not null"


@dataclass(frozen=True)
class Matches:
    column: str
    regex: str

    @property
    def name(self) -> str:
        return f"{self.column} matches {self.regex}"


@dataclass(frozen=True)
class Between:
    column: str
    min_value: float | None = None
    max_value: float | None = None

    @property
    def name(self) -> str:
        return f"{self.column} in [{self.min_value}, {self.max_value}]"


@dataclass(frozen=True)
class InSet:
    column: str
    values: tuple[Any, ...]

    @property
    def name(self) -> str:
        return f"{self.column} in {list(self.values)}"


@dataclass(frozen=True)
class RowCount:
    min_value: int | None = None
    max_value: int | None = None

    @property
    def name(self) -> str:
        return f"row count in [{self.min_value}, {self.max_value}]"


@dataclass(frozen=True)
class Sql:
    """``query`` returns the failing rows; ``{table}`` is replaced by the checked table."""

    name: str
    query: str


Spec = Columns | Unique | NotNull | Matches | Between | InSet | RowCount | Sql


@dataclass
class Outcome:
    name: str
    success: bool
    unexpected_count: int = 0
    examples: list[Any] = field(default_factory=list)
    #: Share of checked (non-null) values that failed, in percent, when GX reports it.
    unexpected_percent: float | None = None
    #: Why the rule could not be evaluated (missing column, SQL error...): a failure, not a pass.
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "success": self.success,
            "unexpected_count": self.unexpected_count,
            "examples": self.examples[:EXAMPLES],
        }
        if self.unexpected_percent is not None:
            out["unexpected_percent"] = round(self.unexpected_percent, 4)
        if self.error:
            out["error"] = self.error
        return out


# --------------------------------------------------------------------------------------------
# SQL predicates and rule builders
# --------------------------------------------------------------------------------------------

_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _col(name: str) -> str:
    """A quoted column identifier; anything but a plain identifier is refused (no SQL injection)."""
    if not _COLUMN.match(name):
        raise ValueError(f"invalid column name {name!r}: expected a plain identifier")
    return f'"{name}"'


def _cols(names: Sequence[str]) -> str:
    return ", ".join(_col(n) for n in names)



def luhn_sql(expr: str) -> str:
    """SQL boolean: the digit string ``expr`` has a valid Luhn key (every second digit from the
    right doubled, digits of the products summed, total a multiple of 10). Null if ``expr`` is
    null; non-digits make it false (``try_cast``: DuckDB does not promise to short-circuit AND)."""
    digit = f"try_cast(substr({expr}, i, 1) as integer)"
    return (
        f"coalesce(list_sum(list_transform(range(1, length({expr}) + 1), lambda i: "
        f"case when (length({expr}) - i) % 2 = 1 then (2 * {digit}) // 10 + (2 * {digit}) % 10 "
        f"else {digit} end)) % 10 = 0 and regexp_full_match({expr}, '[0-9]+'), false)"
    )


def siren_valid_sql(expr: str) -> str:
    """SQL boolean: 9 digits with a valid Luhn key. (La Poste's SIREN 356000000 is valid Luhn;
    only its establishments' SIRETs are the exception, see :func:`siret_valid_sql`.)"""
    return f"(regexp_full_match({expr}, '[0-9]{{9}}') and {luhn_sql(expr)})"


def _digit_sum_sql(expr: str) -> str:
    return f"list_sum(list_transform(range(1, length({expr}) + 1), lambda i: try_cast(substr({expr}, i, 1) as integer)))"


def siret_valid_sql(expr: str) -> str:
    """SQL boolean: 14 digits with a valid Luhn key, or - La Poste, SIREN 356000000, whose
    establishments were numbered beyond what Luhn allows - a digit sum that is a multiple of 5
    (INSEE's rule; the head office 35600000000048 also passes Luhn)."""
    return (
        f"(regexp_full_match({expr}, '[0-9]{{14}}') and ({luhn_sql(expr)} or "
        f"(substr({expr}, 1, 9) = '{LA_POSTE_SIREN}' and coalesce({_digit_sum_sql(expr)} % 5 = 0, false))))"
    )


def register_macros(con: Any) -> None:
    """Define ``is_valid_siren(x)`` and ``is_valid_siret(x)`` as temporary DuckDB macros."""
    con.execute(f"create or replace temp macro is_valid_siren(x) as {siren_valid_sql('x')}")
    con.execute(f"create or replace temp macro is_valid_siret(x) as {siret_valid_sql('x')}")


def valid_siren(column: str, *, exceptions: Iterable[str] = ()) -> Sql:
    """Every non-null ``column`` is 9 digits with a valid Luhn key (``exceptions``: known
    identifiers accepted as they are, each one documented by the caller)."""
    c = _col(column)
    allowed = list(exceptions)
    unless = f" and {c} not in ({', '.join(map(sql_literal, allowed))})" if allowed else ""
    return Sql(
        f"{column} is a SIREN (9 digits, valid Luhn key)",
        f"select {c}, case when not regexp_full_match({c}, '[0-9]{{9}}') then 'not 9 digits' "
        f"else 'invalid Luhn key' end as problem from {{table}} "
        f"where {c} is not null and not {siren_valid_sql(c)}{unless}",
    )


def valid_siret(column: str) -> Sql:
    """Every non-null ``column`` is 14 digits with a valid key (Luhn; La Poste: digit sum / 5)."""
    c = _col(column)
    return Sql(
        f"{column} is a SIRET (14 digits, valid Luhn key; La Poste 356000000: digit sum multiple of 5)",
        f"select {c}, case when not regexp_full_match({c}, '[0-9]{{14}}') then 'not 14 digits' "
        f"when substr({c}, 1, 9) = '{LA_POSTE_SIREN}' then 'invalid key (neither Luhn nor La Poste digit sum)' "
        f"else 'invalid Luhn key' end as problem from {{table}} "
        f"where {c} is not null and not {siret_valid_sql(c)}",
    )


def siret_of_siren(siret: str, siren: str) -> Sql:
    """The first 9 digits of ``siret`` are ``siren`` (an establishment of its legal unit)."""
    s, u = _col(siret), _col(siren)
    return Sql(
        f"{siret} starts with {siren}",
        f"select {s}, {u}, 'SIRET does not start with its SIREN' as problem from {{table}} "
        f"where {s} is not null and {u} is not null and substr({s}, 1, 9) <> {u}",
    )


_METRO = "(?:0[1-9]|1[0-9]|2[1-9]|[3-8][0-9]|9[0-5])[0-9]{3}"
_CORSICA = "2[AB][0-9]{3}"
_DROM = "97[1-46][0-9]{2}"
_COM = "(?:97[578]|98[4-9])[0-9]{2}"


def commune_code(column: str, *, arrondissements: bool = True, overseas_collectivities: bool = False) -> Sql:
    """Every non-null ``column`` is a commune code of the COG: 2 digits (01-95, not 20) or
    2A/2B, then 3 digits; or a DROM code 971-974/976 + 2 digits.

    ``arrondissements``: whether the municipal arrondissements of Paris, Lyon and Marseille are
    accepted (SIRENE records them; tables at commune level must use 75056, 69123, 13055).
    ``overseas_collectivities``: whether the COM codes (975, 977, 978, 984-989) are accepted.
    ``20xxx`` is refused: Corsica has been 2A/2B since 1976, a 20 prefix is a mangled code.
    """
    c = _col(column)
    valid = f"^(?:{_METRO}|{_CORSICA}|{_DROM}" + (f"|{_COM}" if overseas_collectivities else "") + ")$"
    arr = ARRONDISSEMENT_RE.replace("^", "").replace("$", "")
    failing = f"not regexp_matches({c}, '{valid}')"
    if not arrondissements:
        failing += f" or regexp_full_match({c}, '{arr}')"
    return Sql(
        f"{column} is a commune code (01-95 or 2A/2B + 3 digits, DROM 971-976"
        + (", COM" if overseas_collectivities else "")
        + ("" if arrondissements else "; no arrondissement")
        + ")",
        f"select {c}, case "
        f"when regexp_full_match({c}, '20[0-9]{{3}}') then '20xxx: Corsica codes are 2A/2B since 1976' "
        f"when regexp_full_match({c}, '[0-9]{{1,4}}') then 'fewer than 5 characters (leading zero lost?)' "
        f"when regexp_full_match({c}, '{_COM}') then 'overseas collectivity (COM), not a commune of the COG' "
        f"when regexp_full_match({c}, '{arr}') then 'municipal arrondissement: expected its commune 75056/69123/13055' "
        f"else 'not a commune code' end as problem from {{table}} where {c} is not null and ({failing})",
    )


def epci_siren(column: str) -> Sql:
    """Every non-null ``column`` is the SIREN of a public body (first digit 2, as every EPCI's)
    with a valid Luhn key."""
    c = _col(column)
    return Sql(
        f"{column} is an EPCI SIREN (9 digits starting with 2, valid Luhn key)",
        f"select {c}, case when not regexp_full_match({c}, '[0-9]{{9}}') then 'not 9 digits' "
        f"when not starts_with({c}, '2') then 'not a public body SIREN (EPCI SIRENs start with 2)' "
        f"else 'invalid Luhn key' end as problem from {{table}} "
        f"where {c} is not null and not ({siren_valid_sql(c)} and starts_with({c}, '2'))",
    )


def shares_in_unit_interval(column: str, *, tolerance: float = 1e-9) -> Sql:
    """Every non-null share lies in [0, 1] (to ``tolerance``: float sums of parts)."""
    c = _col(column)
    return Sql(
        f"{column} in [0, 1]",
        f"select *, 'share outside [0, 1]' as problem from {{table}} "
        f"where {c} < -{float(tolerance)!r} or {c} > 1 + {float(tolerance)!r}",
    )


def shares_sum_to_one(column: str, by: Sequence[str], *, tolerance: float = 1e-6) -> Sql:
    """Per group ``by``, the non-null shares sum to 1 (to ``tolerance``). A group whose shares are
    all null (share undefined, e.g. a territory without any facility) is not checked."""
    if not by:
        raise ValueError("shares_sum_to_one: give the group columns (by=...)")
    c, g = _col(column), _cols(by)
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
    c = _col(column)
    listed = ", ".join(str(y) for y in expected)
    query = (
        f"with expected as (select unnest([{listed}]) as y), "
        f"present as (select distinct cast({c} as integer) as y from {{table}} where {c} is not null) "
        f"select y as {c}, 'missing year' as problem from expected where y not in (select y from present)"
    )
    if exact:
        query += f" union all select y, 'unexpected year' from present where y not in (select y from expected)"
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
    reason = f", {_col(reason_column)} as _reason" if reason_column else ", null::varchar as _reason"
    ref_proj = ", ".join(f"{_col(r)} as {_col(c)}" for c, r in zip(columns, ref_columns))
    on = " and ".join(f"a.{_col(c)} = b.{_col(c)}" for c in columns)
    unexplained = " or _reason is null" if reason_column else ""
    shown_reason = f", _reason as {_col(reason_column)}" if reason_column else ""
    query = (
        f"with a as (select {keys}{reason} from {{table}}{f' where {where}' if where else ''}), "
        f"b as (select distinct {ref_proj} from {ref}), "
        f"j as (select a.*, exists (select 1 from b where {on}) as _hit from a), "
        f"s as (select count(*) as n_rows, count(*) filter (where _hit) as n_joined from j) "
        f"select {', '.join('j.' + _col(c) for c in columns)}{shown_reason}, "
        f"case when s.n_joined < {float(min_share)!r} * s.n_rows "
        f"then 'not in {ref}; joined share ' || round(s.n_joined / s.n_rows, 5) || ' below {min_share}' "
        f"else 'not in {ref} and no reason given' end as problem, s.n_joined, s.n_rows "
        f"from j, s where not j._hit and (s.n_joined < {float(min_share)!r} * s.n_rows{unexplained})"
    )
    name = f"({', '.join(columns)}) found in {ref} for >= {min_share:.1%} of rows"
    if reason_column:
        name += f", the rest with a {reason_column}"
    return Sql(name, query)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def _gx_expectation(gx: Any, spec: Spec) -> Any:
    e = gx.expectations
    if isinstance(spec, Unique):
        if len(spec.columns) == 1:
            return e.ExpectColumnValuesToBeUnique(column=spec.columns[0])
        return e.ExpectCompoundColumnsToBeUnique(column_list=list(spec.columns))
    if isinstance(spec, NotNull):
        return e.ExpectColumnValuesToNotBeNull(column=spec.column)
    if isinstance(spec, Matches):
        return e.ExpectColumnValuesToMatchRegex(column=spec.column, regex=spec.regex)
    if isinstance(spec, Between):
        return e.ExpectColumnValuesToBeBetween(column=spec.column, min_value=spec.min_value, max_value=spec.max_value)
    if isinstance(spec, InSet):
        return e.ExpectColumnValuesToBeInSet(column=spec.column, value_set=list(spec.values))
    if isinstance(spec, RowCount):
        return e.ExpectTableRowCountToBeBetween(min_value=spec.min_value, max_value=spec.max_value)
    raise TypeError(f"not a GX spec: {spec!r}")


def _import_gx() -> Any:
    # Analytics would try the network; must be set before the first import.
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx  # lazy: ~2-4 s import

    return gx


def _validate_with_gx(df: Any, specs: Sequence[Spec], keys: Sequence[str] = ()) -> list[Outcome]:
    """Validate ``df`` with GX; failing rows are shown with the ``keys`` and the rule's columns."""
    if not specs:
        return []
    # A GX suite silently keeps one of two identical expectations: evaluate each distinct spec once.
    distinct: list[Spec] = []
    for spec in specs:
        if spec not in distinct:
            distinct.append(spec)
    if len(distinct) < len(specs):
        once = dict(zip(map(id, distinct), _validate_with_gx(df, distinct, keys)))
        return [once[id(next(d for d in distinct if d == spec))] for spec in specs]
    gx = _import_gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # In memory, no data docs site, no analytics, no progress bars on the run's stderr.
    ctx = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        ),
    )
    batch = (
        ctx.data_sources.add_pandas("warehouse")
        .add_dataframe_asset("table")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": df})
    )
    suite = gx.ExpectationSuite(name="suite")
    for i, spec in enumerate(specs):
        expectation = _gx_expectation(gx, spec)
        expectation.meta = {"spec_index": i}
        suite.add_expectation(expectation)
    result = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES})
    # GX does not return results in suite order (table-level expectations come first) and an
    # unsaved suite has no expectation ids: match results to specs by our own index in ``meta``.
    by_index = {int(res.expectation_config.meta["spec_index"]): res for res in result.results}
    if sorted(by_index) != list(range(len(specs))):
        raise RuntimeError(f"GX returned results for specs {sorted(by_index)}, expected 0..{len(specs) - 1}")
    outcomes = []
    for i, spec in enumerate(specs):
        res = by_index[i]
        r = res.result or {}
        error = _gx_error(res)
        if isinstance(spec, RowCount):
            count, examples = (0, []) if res.success else (1, [{"row_count": _scalar(r.get("observed_value"))}])
        else:
            count = int(r.get("unexpected_count") or 0)
            rows = [i for i in (r.get("partial_unexpected_index_list") or []) if isinstance(i, int)]
            shown = list(dict.fromkeys([*keys, *_columns_of(spec)]))
            examples = (
                _records(df.iloc[rows[:EXAMPLES]][shown]) if rows
                else [_scalar(v) for v in r.get("partial_unexpected_list") or []]
            )
        if not res.success and count == 0 and not error:
            count = 1
        outcomes.append(
            Outcome(spec.name, bool(res.success) and not error, count, examples, _percent(r.get("unexpected_percent")), error)
        )
    return outcomes


def _gx_error(res: Any) -> str:
    info = getattr(res, "exception_info", None) or {}
    if isinstance(info, dict) and info.get("raised_exception"):
        return str(info.get("exception_message") or "GX raised an exception")
    return ""


def _percent(value: Any) -> float | None:
    return None if value is None else float(value)


def _scalar(v: Any) -> Any:
    """A JSON-safe value: NaN/NA/NaT become None, numpy scalars Python ones, the rest strings."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        return v.isoformat()
    item = getattr(v, "item", None)
    if callable(item):
        try:
            return _scalar(item())
        except (ValueError, TypeError):
            pass
    try:
        import pandas as pd

        if pd.isna(v):
            return None
    except (TypeError, ValueError, ImportError):
        pass
    return str(v)


def _records(df: Any) -> list[dict[str, Any]]:
    return [{str(k): _scalar(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _columns_of(spec: Spec) -> tuple[str, ...]:
    if isinstance(spec, Unique):
        return spec.columns
    if isinstance(spec, RowCount):
        return ()
    return (spec.column,)


def _table_columns(con: Any, t: str) -> dict[str, str]:
    return {r[0]: str(r[1]) for r in con.execute(f"describe {t}").fetchall()}


def run_suite(con: Any, table: str, specs: Sequence[Spec]) -> list[Outcome]:
    """Evaluate a suite against ``table`` in an open DuckDB connection.

    Never raises for bad data: a missing table, a missing column or a rule whose SQL fails is a
    failing outcome whose ``error`` says why.
    """
    import duckdb

    t = qualified(table)
    try:
        actual = _table_columns(con, t)
    except duckdb.Error as exc:
        return [Outcome("table exists", False, 1, [], None, f"{t}: {exc}")]
    outcomes: list[Outcome] = []
    gx_specs = []
    for spec in specs:
        if isinstance(spec, Columns):
            problems = [
                f"{c}: expected {ty}, found {actual.get(c, 'missing')}" for c, ty in spec.types.items() if actual.get(c) != ty
            ] + [f"{c}: unexpected column" for c in actual if c not in spec.types]
            outcomes.append(Outcome(spec.name, not problems, len(problems), problems))
        elif isinstance(spec, Sql):
            outcomes.append(_run_sql(con, t, spec))
        else:
            missing = [c for c in _columns_of(spec) if c not in actual]
            if missing:
                outcomes.append(
                    Outcome(spec.name, False, 1, [], None, f"{t}: column(s) {missing} missing; found {sorted(actual)}")
                )
            else:
                gx_specs.append(spec)
    if gx_specs:
        needed = list(dict.fromkeys(c for s in gx_specs for c in _columns_of(s)))
        # Key columns (of the uniqueness rules) come along so that failing rows can be found.
        keys = [c for s in gx_specs if isinstance(s, Unique) for c in s.columns]
        shown = list(dict.fromkeys(keys + needed))
        projection = ", ".join(f'"{c}"' for c in shown) if shown else "1 as _one"
        df = con.execute(f"select {projection} from {t}").df()
        outcomes.extend(_validate_with_gx(df, gx_specs, keys=list(dict.fromkeys(keys))))
    return outcomes


def _run_sql(con: Any, t: str, spec: Sql) -> Outcome:
    import duckdb

    query = spec.query.replace("{table}", t)
    try:
        count = con.execute(f"select count(*) from ({query})").fetchone()[0]
        rel = con.execute(f"select * from ({query}) limit {EXAMPLES}")
        cols = [d[0] for d in rel.description]
        examples = [dict(zip(cols, map(_scalar, row))) for row in rel.fetchall()]
    except duckdb.Error as exc:
        return Outcome(spec.name, False, 1, [], None, f"rule query failed on {t}: {exc}")
    return Outcome(spec.name, count == 0, int(count), examples)


def record_outcome(con: Any, table: str, check_name: str, passed: bool, *, run_id: str = "", failures: Any = None) -> None:
    """Log the outcome in the build database: publication refuses tables whose latest check failed."""
    con.execute(
        "create table if not exists main.quality_log(table_name varchar, check_name varchar, passed boolean, checked_at timestamp)"
    )
    # Added after the first release: older build databases get the columns on the fly.
    con.execute("alter table main.quality_log add column if not exists run_id varchar")
    con.execute("alter table main.quality_log add column if not exists failures varchar")
    con.execute(
        "insert into main.quality_log by name select ? as table_name, ? as check_name, ? as passed, now()::timestamp as checked_at, "
        "? as run_id, ? as failures",
        [table, check_name, passed, run_id, json.dumps(failures, ensure_ascii=False) if failures else None],
    )


def failure_report(outcomes: Sequence[Outcome]) -> str:
    """Markdown shown in the UI: each failing rule, its count and a few failing rows."""
    parts = []
    for o in outcomes:
        if o.success:
            continue
        pct = f" ({o.unexpected_percent:.3g} % of non-null values)" if o.unexpected_percent is not None else ""
        parts.append(f"**{o.name}**: {o.unexpected_count} failing{pct}")
        if o.error:
            parts.append(f"> {o.error}")
        if o.examples:
            parts.append(_markdown_table(o.examples[:EXAMPLES]))
        parts.append("")
    return "\n".join(parts).strip()


def _markdown_table(examples: list[Any]) -> str:
    rows = [e if isinstance(e, dict) else {"value": e} for e in examples]
    cols = list(dict.fromkeys(k for r in rows for k in r))

    def cell(v: Any) -> str:
        return "NULL" if v is None else str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def table_check(
    table: str,
    specs: Sequence[Spec],
    *,
    name: str = "quality",
    description: str = "",
) -> dg.AssetChecksDefinition:
    """A blocking asset check on ``layer.name`` (asset key ``[layer, name]``).

    A failure (severity ERROR) stops downstream assets, and therefore publication, in the run;
    its metadata lists each failing expectation with its count and a few failing rows, and the
    same summary goes to the run log.
    """
    key = dg.AssetKey(qualified(table).split("."))
    if not specs:
        raise ValueError(f"table_check({table!r}): empty suite")

    @dg.asset_check(
        asset=key,
        name=name,
        blocking=True,
        description=description or f"Great Expectations suite on {table}: " + "; ".join(s.name for s in specs),
        pool="duckdb",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            outcomes = run_suite(con, table, specs)
            failed = [o for o in outcomes if not o.success]
            record_outcome(
                con, table, name, not failed, run_id=context.run.run_id,
                failures={o.name: o.unexpected_count for o in failed},
            )
        metadata: dict[str, Any] = {
            "expectations": len(outcomes),
            "failed": len(failed),
            "results": dg.MetadataValue.json({o.name: o.as_dict() for o in outcomes}),
        }
        if failed:
            report = failure_report(outcomes)
            metadata["failures"] = dg.MetadataValue.md(report)
            context.log.error(f"{table}: {len(failed)} of {len(outcomes)} expectations failed\n{report}")
        else:
            context.log.info(f"{table}: all {len(outcomes)} expectations passed")
        return dg.AssetCheckResult(passed=not failed, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata)

    return _check
