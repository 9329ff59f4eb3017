"""Blocking data-quality checks: a thin Great Expectations 1.x adapter plus SQL rules.

Why our own adapter: ``dagster-ge`` requires great-expectations<1 and pandas<3. GX 1.x rejects
Polars frames and its DuckDB path is broken, so a table is read from the build warehouse into a
pandas frame and validated there. ``import great_expectations`` costs seconds: it happens inside
the check, never at import time.

A suite is a plain list of expectation specs, so pytest can run the very same suite
(:func:`run_suite`) that Dagster runs as a blocking asset check (:func:`table_check`).

Spec kinds:
* :class:`Columns` - exact column set and DuckDB types (checked on the warehouse schema);
* :class:`Unique`, :class:`NotNull`, :class:`Matches`, :class:`Between`, :class:`InSet`,
  :class:`RowCount` - mapped to GX expectations;
* :class:`Sql` - an invariant written as a query returning the *failing* rows (e.g. shares that do
  not sum to 1, communes without an EPCI). Empty result = pass.
"""


import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import dagster as dg

from observatory.resources import Warehouse, qualified

#: Code formats shared by every suite.
SIREN_RE = r"^[0-9]{9}$"
SIRET_RE = r"^[0-9]{14}$"
#: Commune codes: 5 characters, Corsica 2A/2B, DROM 97x; arrondissements are ordinary codes.
COMMUNE_RE = r"^(?:[0-9]{2}|2A|2B)[0-9]{3}$"
DEPARTEMENT_RE = r"^(?:[0-9]{2}|2A|2B|97[1-8])$"
EPCI_RE = SIREN_RE


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

    def as_dict(self) -> dict[str, Any]:
        return {"success": self.success, "unexpected_count": self.unexpected_count, "examples": self.examples[:5]}


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


def _validate_with_gx(df: Any, specs: Sequence[Spec]) -> list[Outcome]:
    if not specs:
        return []
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx  # lazy: ~2-4 s import
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        ctx.data_sources.add_pandas("warehouse")
        .add_dataframe_asset("table")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": df})
    )
    suite = gx.ExpectationSuite(name="suite")
    for spec in specs:
        suite.add_expectation(_gx_expectation(gx, spec))
    result = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5})
    outcomes = []
    for spec, res in zip(specs, result.results):
        r = res.result or {}
        examples = r.get("partial_unexpected_list") or ([r["observed_value"]] if "observed_value" in r and not res.success else [])
        outcomes.append(
            Outcome(spec.name, bool(res.success), int(r.get("unexpected_count") or (0 if res.success else 1)), _jsonable(examples))
        )
    return outcomes


def _jsonable(values: list[Any]) -> list[Any]:
    out = []
    for v in values:
        if isinstance(v, (str, int, float, bool)) or v is None:
            out.append(v)
        else:
            out.append(str(v))
    return out


def run_suite(con: Any, table: str, specs: Sequence[Spec]) -> list[Outcome]:
    """Evaluate a suite against ``table`` in an open DuckDB connection."""
    t = qualified(table)
    outcomes: list[Outcome] = []
    gx_specs = []
    for spec in specs:
        if isinstance(spec, Columns):
            actual = {r[0]: str(r[1]) for r in con.execute(f"describe {t}").fetchall()}
            problems = [
                f"{c}: expected {ty}, found {actual.get(c, 'missing')}" for c, ty in spec.types.items() if actual.get(c) != ty
            ] + [f"{c}: unexpected column" for c in actual if c not in spec.types]
            outcomes.append(Outcome(spec.name, not problems, len(problems), problems))
        elif isinstance(spec, Sql):
            rel = con.sql(spec.query.replace("{table}", t))
            cols = rel.columns
            rows = rel.fetchall()
            examples = [dict(zip(cols, map(_scalar, row))) for row in rows[:5]]
            outcomes.append(Outcome(spec.name, not rows, len(rows), examples))
        else:
            gx_specs.append(spec)
    if gx_specs:
        needed = sorted({c for s in gx_specs for c in _columns_of(s)})
        projection = ", ".join(f'"{c}"' for c in needed) if needed else "1 as _one"
        df = con.execute(f"select {projection} from {t}").df()
        outcomes.extend(_validate_with_gx(df, gx_specs))
    return outcomes


def _scalar(v: Any) -> Any:
    return v if isinstance(v, (str, int, float, bool)) or v is None else str(v)


def _columns_of(spec: Spec) -> tuple[str, ...]:
    if isinstance(spec, Unique):
        return spec.columns
    if isinstance(spec, RowCount):
        return ()
    return (spec.column,)


def record_outcome(con: Any, table: str, check_name: str, passed: bool) -> None:
    """Log the outcome in the build database: publication refuses tables whose latest check failed."""
    con.execute(
        "create table if not exists main.quality_log(table_name varchar, check_name varchar, passed boolean, checked_at timestamp)"
    )
    con.execute("insert into main.quality_log values (?, ?, ?, now())", [table, check_name, passed])


def table_check(
    table: str,
    specs: Sequence[Spec],
    *,
    name: str = "quality",
    description: str = "",
) -> dg.AssetChecksDefinition:
    """A blocking asset check on ``layer.name`` (asset key ``[layer, name]``).

    A failure (severity ERROR) stops downstream assets, and therefore publication, in the run;
    its metadata lists each failing expectation with its count and a few failing rows.
    """
    key = dg.AssetKey(qualified(table).split("."))

    @dg.asset_check(
        asset=key,
        name=name,
        blocking=True,
        description=description or f"Great Expectations suite on {table}: " + "; ".join(s.name for s in specs),
        pool="duckdb",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            outcomes = run_suite(con, table, specs)
            record_outcome(con, table, name, all(o.success for o in outcomes))
        failed = [o for o in outcomes if not o.success]
        metadata: dict[str, Any] = {
            "expectations": len(outcomes),
            "failed": len(failed),
            "results": dg.MetadataValue.json({o.name: o.as_dict() for o in outcomes}),
        }
        if failed:
            metadata["failures"] = dg.MetadataValue.md(
                "\n".join(f"- **{o.name}**: {o.unexpected_count} failing; e.g. `{o.examples[:3]}`" for o in failed)
            )
        return dg.AssetCheckResult(passed=not failed, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata)

    return _check
