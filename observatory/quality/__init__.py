"""Blocking data-quality checks, split by concern:

* :mod:`~observatory.quality.specs` - the expectation specs (a suite is a plain list of them) and outcomes;
* :mod:`~observatory.quality.rules` - SQL rule builders for generic invariants (shares, years, referential integrity);
* :mod:`~observatory.quality.aggregates` - the value specs evaluated in DuckDB (counts as aggregates, a few
  failing rows), what the checks run;
* :mod:`~observatory.quality.gx` - the Great Expectations 1.x adapter (GX imported lazily): the reference the
  aggregates are tested against;
* :mod:`~observatory.quality.suite` - :func:`run_suite`, evaluating a suite on a warehouse table (pytest runs the
  very suites Dagster runs);
* :mod:`~observatory.quality.check` - :func:`table_check`, the blocking asset-check factory, and the failure report;
* :mod:`~observatory.quality.log` - the build database's quality log that gates publication.

Rules that know a domain (SIREN / SIRET keys, commune and département codes) are not here: they live in
``assets/common/identifiers.py``. This package re-exports the names suites use.
"""

from observatory.quality.check import failure_report, table_check
from observatory.quality.log import failed_checks, record_outcome, refusals, table_fingerprint
from observatory.quality.rules import (
    quote_column,
    referential_integrity,
    share_rules,
    shares_in_unit_interval,
    shares_sum_to_one,
    years_covered,
)
from observatory.quality.specs import EXAMPLES, Between, Columns, InSet, Matches, NotNull, Outcome, RowCount, Spec, Sql, Unique
from observatory.quality.suite import run_suite

__all__ = [
    "EXAMPLES",
    "Between",
    "Columns",
    "InSet",
    "Matches",
    "NotNull",
    "Outcome",
    "RowCount",
    "Spec",
    "Sql",
    "Unique",
    "failed_checks",
    "failure_report",
    "quote_column",
    "record_outcome",
    "referential_integrity",
    "refusals",
    "run_suite",
    "share_rules",
    "shares_in_unit_interval",
    "shares_sum_to_one",
    "table_check",
    "table_fingerprint",
    "years_covered",
]
