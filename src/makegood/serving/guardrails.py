"""The catalog's guardrails on one live complaint (CONTRACT.md section 2b): which of its
candidates they leave, what of each is owed, and the customer's money they were judged on.

The rules are the policy's (:func:`makegood.policy.live_guardrails.live_eligibility`,
the batch rule for one complaint). This module gathers their inputs for the service:

* the **floor** from the complaint's fields (``Catalog.floor_amounts``), judged on each
  candidate's compensation as served (to the cent);
* for the **caps**, everything the customer was given or holds: the history as recorded
  (the bundle's customer memory) and the live ledger's committed and held compensation
  of their contacts, each at its complaint's ``opened_at`` (a complaint in both counts
  once, the ledger's figure). A candidate adds its top-up to the windows: what the case
  already holds is counted once, in the ledger.

Reading and deciding are atomic per customer: the plan keeps the ledger's figure it
read (:attr:`LiveGuard.money_read`), and the reservation re-reads it under the
customer's lock and decides again when it changed
(:meth:`makegood.store.contacts.ContactBook.record_contact`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from makegood.explain.guardrails import guardrail_text
from makegood.policy.guardrails import GuardrailCut, Guardrails, Spent
from makegood.policy.live_guardrails import live_eligibility
from makegood.serving.scorer import Scorer
from makegood.store.contacts import CustomerLive

__all__ = ["LiveGuard", "live_guard", "spent_of"]


@dataclass(frozen=True)
class LiveGuard:
    """The guardrails' answer for one live complaint.

    Attributes:
        cut: the policy's :class:`GuardrailCut` (arrays of length 1; ``eligible`` (1, K)).
        owed_cents: (K,) int, the part of each candidate's budget cost that a floor
            requires: ``min(cost, cost of the cheapest candidate the floor leaves)``,
            0 without a floor. Reserved even when the budget cannot fund it.
        money_read: cents the customer's contacts held or were given when read (checked
            again under the customer's lock), None when the catalog has no cap.
    """

    cut: GuardrailCut
    owed_cents: np.ndarray
    money_read: int | None

    @property
    def eligible(self) -> np.ndarray:
        """(K,) bool: the candidates the guardrails leave."""
        return np.asarray(self.cut.eligible[0])

    @property
    def decided_by(self) -> str:
        return str(self.cut.decided_by[0])

    @property
    def rule(self) -> str:
        """The id of the guardrail that decided ("" when none did)."""
        return str(self.cut.cap_rule[0] or self.cut.floor_rule[0])

    def text(self, complaint: Mapping[str, Any], scorer: Scorer, *, beyond_budget: bool) -> str:
        """Why a guardrail decided, in words (``explain.guardrails.guardrail_text``)."""
        return guardrail_text(self.cut, 0, complaint, scorer.catalog, beyond_budget=beyond_budget)


def live_guard(
    scorer: Scorer,
    complaint: Mapping[str, Any],
    live: CustomerLive,
    compensation: Sequence[Decimal],
    eligible: np.ndarray,
    cost: np.ndarray,
    now: datetime,
) -> LiveGuard | None:
    """The guardrails on one normalized complaint, or None when the catalog has none.

    Args:
        compensation: (K,) each candidate's compensation as served (to the cent).
        eligible: (K,) bool, the catalog's eligibility.
        cost: (K,) int cents each candidate takes from the budget (its top-up).
        now: the plan's moment (holds live then count).
    """
    catalog = scorer.catalog
    if not catalog.guardrails:
        return None
    columns = {c for f in catalog.floors for c in f.columns}
    frame = pd.DataFrame([{c: complaint.get(c) for c in sorted(columns)}], dtype=object)
    for c in columns:  # numeric columns as numbers, as the normalized frame holds them
        number = pd.to_numeric(frame[c], errors="coerce")
        if number.notna().all():
            frame[c] = number
    floor, rule = catalog.floor_amounts(frame)
    money_read = live.money_cents(now) if catalog.caps else None
    rails = Guardrails(
        floor=floor,
        floor_rule=rule,
        caps=catalog.caps,
        customer=[str(complaint["customer_id"])],
        opened_at=np.array([complaint["opened_at"]], dtype="datetime64[ns]"),
        spent=spent_of(scorer, live, now) if catalog.caps else None,
    )
    comp = np.array([[float(c) for c in compensation]])
    cut = live_eligibility(comp, eligible[None, :], rails, given=cost[None, :] / 100.0)
    left = cut.eligible[0]
    owed = np.zeros(cost.shape, dtype=np.int64)
    if not np.isnan(cut.floor[0]):
        owed = np.where(left, np.minimum(cost, cost[left].min()), 0).astype(np.int64)
    return LiveGuard(cut, owed, money_read)


def spent_of(scorer: Scorer, live: CustomerLive, now: datetime) -> Spent:
    """What the customer was given or holds at ``now``: the bundle's memory as recorded
    (complaints the ledger does not know) and each live contact's committed or held
    compensation at its complaint's time."""
    contact_ids = {str(c.complaint.get("complaint_id")) for c in live.contacts}
    customer, at, amount = [], [], []
    memory = scorer.bundle.memory
    if memory is not None:
        ids, opened, paid = memory.payments_of(live.customer_id)
        for cid, t, x in zip(ids.tolist(), opened, paid.tolist(), strict=True):
            if x > 0 and str(cid) not in contact_ids:
                customer.append(live.customer_id)
                at.append(t)
                amount.append(x)
    for c in live.contacts:
        money = c.holding(now) + c.spent()
        if money > 0:
            customer.append(live.customer_id)
            at.append(np.datetime64(c.opened_at, "ns"))
            amount.append(float(money))
    return Spent(
        np.array(customer, dtype=object),
        np.array(at, dtype="datetime64[ns]"),
        np.array(amount, dtype=np.float64),
    )
