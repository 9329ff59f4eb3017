"""Expectation specs: a suite is a plain list of them, so pytest runs the very suite Dagster runs.

* :class:`Columns` - exact column set and DuckDB types (checked on the warehouse schema);
* :class:`Unique`, :class:`NotNull`, :class:`Matches`, :class:`Between`, :class:`InSet`,
  :class:`RowCount` - the GX expectations of the same names, evaluated as DuckDB aggregates
  (:mod:`~observatory.quality.aggregates`; nulls are ignored by every rule but NotNull);
* :class:`Sql` - an invariant written as a query returning the *failing* rows (e.g. shares that do
  not sum to 1, communes without an EPCI). Empty result = pass.

:class:`Outcome` is the result of one spec.
"""

from dataclasses import dataclass, field
from typing import Any

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


def columns_of(spec: Spec) -> tuple[str, ...]:
    if isinstance(spec, Unique):
        return spec.columns
    if isinstance(spec, RowCount):
        return ()
    return (spec.column,)
