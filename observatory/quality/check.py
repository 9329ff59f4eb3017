"""The check factory: a suite becomes a blocking Dagster asset check, its failures a readable report."""

import re
from typing import Any, Sequence

import dagster as dg

from observatory.quality.log import record_outcome, retire_checks, table_fingerprint
from observatory.quality.specs import EXAMPLES, Between, Columns, InSet, Matches, NotNull, Outcome, RowCount, Spec, Sql, Unique
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


#: Check names of the families of value rules: one named check per family, so that a failure says at a
#: glance which kind of rule broke; each ``Sql`` rule is a check of its own, named after its text.
FAMILIES: dict[type, str] = {
    Columns: "columns_and_types",
    RowCount: "row_count",
    NotNull: "not_null",
    Matches: "code_formats",
    InSet: "allowed_values",
    Between: "value_ranges",
}
#: Name of the uniqueness check of the table's natural key (the column spec's ``key``).
KEY_CHECK = "unique_key"
_MAX_NAME = 60
#: table -> the suite of the last :func:`table_check` built for it (as evaluated: key rule added), so that
#: ``benchmarks/checks.py`` times the very suites the definitions run.
SUITES: dict[str, list[Spec]] = {}


def check_name(spec: Spec, key: Sequence[str] = ()) -> str:
    """The check a spec belongs to: its family's name, ``unique_key`` for the natural key, or a slug of an
    ``Sql`` rule's text (``shares of facilities sum to 1 ...`` -> ``shares_of_facilities_sum_to_1...``)."""
    if isinstance(spec, Unique):
        return KEY_CHECK if not key or tuple(spec.columns) == tuple(key) else "unique_" + "_".join(spec.columns)
    if isinstance(spec, Sql):
        slug = re.sub(r"[^a-z0-9]+", "_", spec.name.lower()).strip("_")
        return slug[:_MAX_NAME].rstrip("_") or "rule"
    return FAMILIES[type(spec)]


def named_checks(specs: Sequence[Spec], key: Sequence[str] = ()) -> dict[str, list[Spec]]:
    """The suite split into named checks, in suite order; the key's uniqueness rule is added when the suite
    lacks it, so every table with a declared key has its ``unique_key`` check."""
    specs = list(specs)
    if key and not any(isinstance(s, Unique) and tuple(s.columns) == tuple(key) for s in specs):
        specs.insert(0, Unique(*key))
    groups: dict[str, list[Spec]] = {}
    for spec in specs:
        name = check_name(spec, key)
        # Two rules whose text slugs alike stay two checks.
        if isinstance(spec, Sql) and name in groups:
            n = 2
            while f"{name}_{n}" in groups:
                n += 1
            name = f"{name}_{n}"
        groups.setdefault(name, []).append(spec)
    return groups


def _rule_text(specs: Sequence[Spec]) -> str:
    return "; ".join(s.name for s in specs)


def table_check(
    table: str,
    specs: Sequence[Spec],
    *,
    key: Sequence[str] = (),
    description: str = "",
) -> dg.AssetChecksDefinition:
    """Blocking asset checks on ``layer.name`` (asset key ``[layer, name]``): one named check per rule or
    family of rules (:func:`named_checks`), all evaluated in one step (one warehouse connection, one scan of the table for
    the row-wise value rules: :mod:`observatory.quality.aggregates`) and each reported on its own.

    A failure (severity ERROR) stops downstream assets, and therefore publication, in the run; its
    metadata shows the failing rows as a small markdown table, and the same text goes to the run log.
    Every outcome is recorded in the build database's quality log, which gates publication across runs.
    ``description`` is added to every check's description (the rule text comes first).
    """
    tkey = table_key(table)
    if not specs:
        raise ValueError(f"table_check({table!r}): empty suite")
    groups = named_checks(specs, key)
    SUITES[table] = [s for rules in groups.values() for s in rules]
    check_specs = [
        dg.AssetCheckSpec(
            name,
            asset=tkey,
            blocking=True,
            description=(_rule_text(rules) + (f". {description}" if description else ""))[:4000],
        )
        for name, rules in groups.items()
    ]

    @dg.multi_asset_check(
        specs=check_specs,
        name=f"{tkey.path[0]}_{tkey.path[-1]}_checks",
        description=f"Blocking quality checks of {table}: " + ", ".join(groups),
        pool="duckdb",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        flat = [s for rules in groups.values() for s in rules]
        with warehouse.connect() as con:
            outcomes = run_suite(con, table, flat)
            # The content every check of this step saw: hashed once, not once per named check.
            fingerprint = table_fingerprint(con, table)
            results, i = [], 0
            for name, rules in groups.items():
                mine = outcomes[i : i + len(rules)]
                i += len(rules)
                failed = [o for o in mine if not o.success]
                record_outcome(
                    con,
                    table,
                    name,
                    not failed,
                    run_id=context.run.run_id,
                    failures={o.name: o.unexpected_count for o in failed},
                    fingerprint=fingerprint,
                )
                results.append((name, mine, failed))
            retire_checks(con, table, list(groups))
        n_failed = 0
        for name, mine, failed in results:
            metadata: dict[str, Any] = {
                "rules": len(mine),
                "failed": len(failed),
                "failing_rows": sum(o.unexpected_count for o in failed),
                "results": dg.MetadataValue.json({o.name: o.as_dict() for o in mine}),
            }
            if failed:
                n_failed += 1
                report = failure_report(mine)
                metadata["failures"] = dg.MetadataValue.md(report)
                context.log.error(f"{table}: check {name} failed\n{report}")
            yield dg.AssetCheckResult(
                asset_key=tkey,
                check_name=name,
                passed=not failed,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata=metadata,
            )
        if not n_failed:
            context.log.info(f"{table}: all {len(results)} checks passed ({len(outcomes)} rules)")

    return _check
