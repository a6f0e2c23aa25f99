"""Case rules: which open case a new contact joins, what the case already covers, and
what a contact that joins it may still take from the budget.

A contact joins its customer's open case about the same issue type whose last contact
is at most ``window_days`` before it (the latest such); else it opens a new case. What
the case covers is what its earlier contacts hold now plus what was given for it.

Compensation already held or given for a case (by its earlier contacts) is not held a
second time: a candidate of the new contact needs only what it adds beyond that::

    top_up(a) = max(compensation(a) - covered, 0)

unless the agent overrides with a reason (then the full compensation is held). A
candidate's cost to the budget, for fitting and for the shadow price, is its top-up.
Plain numpy; the cases and contacts are read through the small protocols below (the
store's :class:`~makegood.store.contacts.Case` and ``LiveContact`` are such).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Protocol, TypeVar

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["CaseFacts", "ContactMoney", "case_cover", "case_to_join", "top_up"]


class CaseFacts(Protocol):
    """What the joining rule reads of a case."""

    @property
    def status(self) -> str: ...
    @property
    def issue_type(self) -> str: ...
    @property
    def last_contact_at(self) -> datetime: ...


class ContactMoney(Protocol):
    """What a case's contact holds at a moment and what was given for it."""

    def holding(self, now: datetime) -> Decimal: ...
    def spent(self) -> Decimal: ...


C = TypeVar("C", bound=CaseFacts)


def case_to_join(cases: Iterable[C], issue_type: str, at: datetime, window_days: float) -> C | None:
    """The open case about ``issue_type`` whose last contact is within ``window_days``
    before ``at`` (the latest such), or None: the case a contact at ``at`` joins.

    >>> from types import SimpleNamespace as Case
    >>> old = Case(status="open", issue_type="billing_error", last_contact_at=datetime(2026, 1, 1))
    >>> case_to_join([old], "billing_error", datetime(2026, 1, 10), 14) is old
    True
    >>> case_to_join([old], "billing_error", datetime(2026, 1, 20), 14) is None
    True
    """
    found = [
        c
        for c in cases
        if c.status == "open"
        and c.issue_type == issue_type
        and 0 <= (at - c.last_contact_at).total_seconds() <= window_days * 86_400
    ]
    return max(found, key=lambda c: c.last_contact_at, default=None)


def case_cover(contacts: Iterable[ContactMoney], now: datetime) -> tuple[Decimal, Decimal]:
    """``(held, given)`` of a case at ``now``: what its contacts hold (reservations not
    lapsed) and what was given (committed); a joining contact's top-up is counted beyond
    ``held + given``."""
    contacts = list(contacts)
    held = sum((c.holding(now) for c in contacts), Decimal(0))
    given = sum((c.spent() for c in contacts), Decimal(0))
    return held, given


def top_up(compensation: ArrayLike, covered: float | int) -> np.ndarray:
    """``max(compensation - covered, 0)`` per candidate, in ``compensation``'s dtype
    and unit (give integer cents for exact money).

    >>> top_up([0, 5000, 8999, 12000], 8999).tolist()
    [0, 0, 0, 3001]
    >>> top_up([2500], 0).tolist()
    [2500]
    """
    comp = np.asarray(compensation)
    return np.maximum(comp - np.asarray(covered, dtype=comp.dtype), 0)
