"""The check factory: a suite becomes a blocking Dagster asset check, its failures a readable report."""

from typing import Any, Sequence

import dagster as dg

from observatory.quality.log import record_outcome
from observatory.quality.specs import EXAMPLES, Outcome, Spec
from observatory.quality.suite import run_suite
from observatory.resources import Warehouse, table_key

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
    key = table_key(table)
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

