"""The one exception tree of makegood.

Validate at the edges (files, CLI, API, config); inside the core, trust the data.
Only ``serving/`` turns these into HTTP responses and only ``cli`` into exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass


class MakegoodError(Exception):
    """Base class of every error makegood raises on purpose."""


@dataclass(frozen=True)
class Violation:
    """One broken rule in an input file.

    ``row`` is the 1-based data row number in the file (header excluded), or None
    when the rule concerns the whole file (a missing column, say).
    """

    file: str
    row: int | None
    complaint_id: str | None
    column: str | None
    rule: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.complaint_id:
            where.append(f"complaint_id {self.complaint_id!r}")
        if self.column:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.rule}"


class ContractError(MakegoodError):
    """An input file breaks CONTRACT.md section 1. Carries every violation found."""

    def __init__(self, violations: list[Violation], n_total: int | None = None) -> None:
        self.violations = list(violations)
        self.n_total = n_total if n_total is not None else len(self.violations)
        head = str(self.violations[0]) if self.violations else "invalid input"
        more = self.n_total - 1
        msg = head if more <= 0 else f"{head} (and {more} more violation(s))"
        super().__init__(msg)

    def __reduce__(self):  # pickled across processes (Dask workers) with its violations
        return (type(self), (self.violations, self.n_total))

    def report(self) -> str:
        """All violations, one per line (the first line equals ``str(self)``'s head)."""
        lines = [str(v) for v in self.violations]
        if self.n_total > len(self.violations):
            lines.append(f"... {self.n_total - len(self.violations)} more not shown")
        return "\n".join(lines)


class CatalogError(MakegoodError):
    """The resolution catalog breaks CONTRACT.md section 2."""


class ModelNotFoundError(MakegoodError):
    """No trained model bundle where one was expected."""


class BudgetError(MakegoodError):
    """A budget is invalid (negative, not finite) or cannot be met."""


class BudgetExceededError(BudgetError):
    """Spending would take committed plus reserved compensation above the budget."""


class ConfigError(MakegoodError):
    """A setting or option is invalid."""
