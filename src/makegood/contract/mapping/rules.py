"""What a validated mapping file holds: one rule per contract column, extra columns and
declared features (the dataclasses :mod:`~makegood.contract.mapping.parsing` builds and
:mod:`~makegood.contract.mapping.applying` applies)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "EXPORT_ROW",
    "OUTCOME",
    "ColumnMapping",
    "DateRule",
    "DaysBetween",
    "FieldRule",
    "Generator",
    "Kind",
]

Kind = Literal["history", "complaints"]

#: The export's 1-based data row of each mapped row; kept in a quarantine file so a set-aside
#: row can be found in the export, and dropped from the imported frame.
EXPORT_ROW = "export_row"
#: The contract column the mapping's ``outcome:`` fills.
OUTCOME = "churned_90d"


@dataclass(frozen=True)
class Generator:
    """A generated id: ``row_number`` (the export's data row, unique within one file) or a
    hash of chosen export columns (``columns`` None: every column of the export), stable
    across files that hold the same values in the same format."""

    method: Literal["row_number", "hash"]
    columns: tuple[str, ...] | None = None
    prefix: str = ""

    def describe(self) -> str:
        if self.method == "row_number":
            return "generated from the export row number"
        what = "all columns" if self.columns is None else ", ".join(map(repr, self.columns))
        return f"generated as a hash of {what}"


@dataclass(frozen=True)
class DateRule:
    """Parse a date or timestamp column: naive values are local times in ``timezone``; a
    value without a time of day (a date) gets ``time_of_day``. Stored as UTC."""

    timezone: str = "UTC"
    time_of_day: str | None = None
    format: str | None = None


@dataclass(frozen=True)
class FieldRule:
    """Where one contract column's values come from (exactly one of ``source``,
    ``constant``, ``generate``).

    With ``source``: the export column's values, through ``value_map`` when given. A value
    the map lacks (an empty value included) takes ``default`` if one is given, else follows
    ``unmapped``: ``error`` (name the values), ``drop`` (drop the row) or ``keep``. Without a
    map, an empty value takes ``default`` when given. ``default`` may be a
    :class:`Generator` (fill the gaps with generated ids).
    """

    target: str
    key: str  # where the rule sits in the mapping, for messages ("columns.resolution")
    source: str | None = None
    constant: Any = None
    generate: Generator | None = None
    value_map: dict[str, Any] | None = None
    default: Any = None
    has_default: bool = False
    unmapped: str = "error"
    date: DateRule | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        """The export columns this rule reads."""
        cols = [self.source] if self.source is not None else []
        for gen in (self.generate, self.default):
            if isinstance(gen, Generator) and gen.columns:
                cols += gen.columns
        return tuple(cols)


@dataclass(frozen=True)
class DaysBetween:
    """A derived extra column: ``end - start`` in days (a float: 1.5 is a day and a half),
    both export columns parsed as dates (``format`` a strftime format, else ISO-8601; values
    with their own offset are converted to UTC). Empty when either is empty or unparsable.

    Both dates must be known when the complaint arrives, as for every declared feature."""

    start: str
    end: str
    format: str | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        """The export columns this column reads."""
        return (self.start, self.end)

    def describe(self) -> str:
        return f"days from {self.start!r} to {self.end!r}"


@dataclass(frozen=True)
class ColumnMapping:
    """A validated mapping file: rules per contract column, extra columns, features.

    ``extra`` passes export columns through (output name -> export column); ``derived``
    holds the extra columns computed from several (output name -> rule); ``features`` the
    declared model inputs among both (output column -> kind: category, number, text).
    """

    rules: dict[str, FieldRule]
    extra: dict[str, str]
    features: dict[str, str]
    recorded_after_resolution: tuple[str, ...] = ()
    outcome_name: str | None = None
    source: str = "<mapping>"
    derived: dict[str, DaysBetween] = field(default_factory=dict)

    def extra_sources(self, name: str) -> tuple[str, ...]:
        """The export columns the extra column ``name`` reads (empty if it is none)."""
        if name in self.extra:
            return (self.extra[name],)
        if name in self.derived:
            return self.derived[name].sources
        return ()
