"""The Great Expectations 1.x adapter: validates a pandas frame against the value specs.

The reference, not the checks' path: the checks evaluate the same specs as DuckDB aggregates
(:mod:`observatory.quality.aggregates`), because this adapter needs a pandas copy of the table - GX 1.x
rejects Polars frames and its DuckDB path is broken - which costs the import of GX (seconds) and a copy
of every column a rule reads. It stays so that the SQL is tested against GX rule by rule
(``run_suite(..., engine="gx")``, ``tests/unit/test_quality_oracle.py``). Why our own adapter:
``dagster-ge`` requires great-expectations<1 and pandas<3. ``import great_expectations`` happens
inside the call, never at import time, with GX analytics and progress bars switched off.
"""

import datetime as dt
import decimal
import math
import os
from typing import Any, Sequence

from observatory.quality.specs import EXAMPLES, Between, InSet, Matches, NotNull, Outcome, RowCount, Spec, Unique, columns_of


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


def validate_with_gx(df: Any, specs: Sequence[Spec], keys: Sequence[str] = ()) -> list[Outcome]:
    """Validate ``df`` with GX; failing rows are shown with the ``keys`` and the rule's columns."""
    if not specs:
        return []
    # A GX suite silently keeps one of two identical expectations: evaluate each distinct spec once.
    distinct: list[Spec] = []
    for spec in specs:
        if spec not in distinct:
            distinct.append(spec)
    if len(distinct) < len(specs):
        once = dict(zip(map(id, distinct), validate_with_gx(df, distinct, keys)))
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
            count, examples = (0, []) if res.success else (1, [{"row_count": scalar(r.get("observed_value"))}])
        else:
            count = int(r.get("unexpected_count") or 0)
            rows = [i for i in (r.get("partial_unexpected_index_list") or []) if isinstance(i, int)]
            shown = list(dict.fromkeys([*keys, *columns_of(spec)]))
            examples = _records(df.iloc[rows[:EXAMPLES]][shown]) if rows else [scalar(v) for v in r.get("partial_unexpected_list") or []]
        if not res.success and count == 0 and not error:
            count = 1
        outcomes.append(Outcome(spec.name, bool(res.success) and not error, count, examples, _percent(r.get("unexpected_percent")), error))
    return outcomes


def _gx_error(res: Any) -> str:
    info = getattr(res, "exception_info", None) or {}
    if isinstance(info, dict) and info.get("raised_exception"):
        return str(info.get("exception_message") or "GX raised an exception")
    return ""


def _percent(value: Any) -> float | None:
    return None if value is None else float(value)


def scalar(v: Any) -> Any:
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
            return scalar(item())
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
    return [{str(k): scalar(v) for k, v in row.items()} for row in df.to_dict(orient="records")]
