"""The one exception tree of makegood.

Validate at the edges (files, CLI, API, config); inside the core, trust the data.
Only ``serving/`` turns these into HTTP responses (one table,
:data:`makegood.serving.errors.STATUS`) and only ``cli`` into exit codes::

    MakegoodError
    +-- ContractError            an input file breaks the contract (every violation)
    +-- CatalogError             the resolution catalog is invalid
    +-- ModelNotFoundError       no trained bundle where one was expected
    |   +-- IncompatibleModelError   a bundle this makegood cannot read or serve
    +-- ModelNotLoadedError      the service has no model loaded yet
    +-- BudgetError              a budget is invalid or cannot be met
    |   +-- BudgetNotFoundError      no budget for the period (and team)
    |   +-- BudgetExceededError      spending would exceed the budget
    |   +-- GuardrailBudgetError     the budget cannot fund what the guardrails require
    +-- ConfigError              a setting or option is invalid
    |   +-- InvalidParameterError    a training parameter breaks its rule
    +-- FieldError               a request field is missing or invalid
    +-- LedgerError              a ledger operation is invalid
        +-- DecisionNotFoundError    no decision with that id
        +-- DecisionStateError       the decision's state forbids the operation
        |   +-- IdempotencyKeyReusedError  a key came back with another request
        +-- CaseNotFoundError        no such case (or not the customer's)
    LedgerBusyError (MakegoodError)  the ledger's write lock was not free in time
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


class IncompatibleModelError(ModelNotFoundError):
    """A bundle exists but this makegood cannot read or serve it (another format
    version, say): retrain with this version."""


class ModelNotLoadedError(MakegoodError):
    """The service has no model loaded (yet); retry once one is."""


class BudgetError(MakegoodError):
    """A budget is invalid (negative, not finite) or cannot be met."""


class BudgetNotFoundError(BudgetError, LookupError):
    """No budget applies to the period (and team)."""


class BudgetExceededError(BudgetError):
    """Spending would take committed plus reserved compensation above the budget."""


class GuardrailBudgetError(BudgetError):
    """The budget cannot fund what the catalog's guardrails require (floors are funded
    before anything else); ``needed`` is the least budget that can, ``budget`` the one
    given."""

    def __init__(self, message: str, needed: float, budget: float) -> None:
        super().__init__(message)
        self.needed = needed
        self.budget = budget

    def __reduce__(self):  # pickled across processes (Dask workers) with its figures
        return (type(self), (str(self), self.needed, self.budget))


class ConfigError(MakegoodError):
    """A setting or option is invalid."""


class InvalidParameterError(ConfigError, ValueError):
    """A parameter breaks its rule; the message names it, the rule and the value, as
    scikit-learn does: ``"n_folds must be >= 2. Got 1 instead."``."""

    def __init__(self, name: str, rule: str, value: object) -> None:
        super().__init__(f"{name} must be {rule}. Got {value!r} instead.")
        self.name = name
        self.rule = rule
        self.value = value


class FieldError(MakegoodError, ValueError):
    """A request field is missing or invalid; ``field`` is its dotted path
    (``complaint.lifetime_value``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class LedgerError(MakegoodError):
    """A ledger operation is invalid: unknown decision, wrong state or malformed record."""


class DecisionNotFoundError(LedgerError, LookupError):
    """No decision with the given id."""


class DecisionStateError(LedgerError):
    """The decision is not in a state that allows the operation (or a key is reused)."""


class IdempotencyKeyReusedError(DecisionStateError):
    """An idempotency key came back with a different request than its first use;
    ``key`` is the key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} {message}")
        self.key = key


class CaseNotFoundError(LedgerError, LookupError):
    """No case with the given id (or not the customer's)."""


class ContactsChangedError(LedgerError):
    """The customer's stored contacts changed between reading them and recording a new
    one (a concurrent contact of the same customer): read them again and decide again."""


class LedgerBusyError(MakegoodError):
    """A write could not get the ledger's lock within its bounded wait; retry after
    ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueueError(MakegoodError):
    """A queue operation is invalid."""


class QueueEntryNotFoundError(QueueError, LookupError):
    """No queue entry with the given id (for this team)."""


class QueueStateError(QueueError):
    """The queue entry is not in a state that allows the operation (taken by someone else,
    already closed)."""
