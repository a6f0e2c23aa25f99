"""The guardrails for one complaint decided live (the service): the same rule as batch,
:func:`~makegood.policy.guardrails.guarded_eligibility`, with the customer's payments
*after* the complaint's time turned into decided complaints of the batch.

Why: a window ``[t - days, t]`` closes at each payment, so a complaint opened at ``t``
also falls in the windows of the customer's later payments (a complaint served after
contacts opened later than it). Batch sees every complaint of the customer as a row and
walks those windows; here the later payments become rows with their one amount (what
they hold or were given: they are decided), so the walk reserves their room before this
complaint's, exactly as batch reserves a later complaint's floor. Payments at or before
``t`` stay the history (:class:`~makegood.policy.caps.Spent`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike

from makegood.policy.caps import Spent
from makegood.policy.guardrails import GuardrailCut, Guardrails, guarded_eligibility

__all__ = ["live_eligibility"]

_NS_PER_DAY = 86_400 * 10**9


def live_eligibility(
    compensation: ArrayLike,
    eligible: ArrayLike,
    guardrails: Guardrails,
    *,
    given: ArrayLike | None = None,
) -> GuardrailCut:
    """:func:`~makegood.policy.guardrails.guarded_eligibility` of one complaint (row 0
    of ``compensation``), its customer's payments later than it (within the longest cap)
    counted as decided complaints.

    Args:
        compensation, eligible: (1, K).
        guardrails: the complaint's :class:`Guardrails` (floor, caps, customer,
            opened_at) and ``spent``: everything its customer was given or holds, at any
            time (history as recorded and the live ledger).
        given: (1, K) what each option adds to the windows (see
            :func:`guarded_eligibility`); default the compensation.

    Returns:
        The :class:`GuardrailCut` of the complaint (every array of length 1).

    >>> from makegood.contract.guardrails import Cap
    >>> t = np.array(["2026-03-10"], dtype="datetime64[ns]")
    >>> later = Spent(["ann"], np.array(["2026-03-20"], dtype="datetime64[ns]"), [120.0])
    >>> rails = Guardrails(caps=[Cap("cap", 150.0, 90)], customer=["ann"], opened_at=t,
    ...                    spent=later)
    >>> cut = live_eligibility([[0.0, 25.0, 90.0]], [[True, True, True]], rails)
    >>> cut.eligible.tolist(), float(cut.cap_later[0])
    ([[True, True, False]], 120.0)
    """
    comp = np.asarray(compensation, dtype=np.float64)
    elig = np.asarray(eligible)
    g = guardrails
    if not g.caps or g.spent is None or g.customer is None or g.opened_at is None:
        return guarded_eligibility(comp, elig, g, given=given)
    customer = np.asarray(g.customer, dtype=object).reshape(-1)
    at = np.asarray(g.opened_at, dtype="datetime64[ns]").reshape(-1)
    spent = g.spent
    reach = np.timedelta64(max(int(c.days) for c in g.caps) * _NS_PER_DAY, "ns")
    later = (spent.customer == customer[0]) & (spent.at > at[0]) & (spent.at <= at[0] + reach)
    if not later.any():
        return guarded_eligibility(comp, elig, g, given=given)
    amounts = spent.amount[later]
    m, k = int(later.sum()), comp.shape[1]
    fixed = np.full((m, k), np.nan)
    fixed[:, 0] = amounts
    chosen = np.zeros((m, k), dtype=bool)
    chosen[:, 0] = True
    adds = comp if given is None else np.asarray(given, dtype=np.float64)
    floor = np.full(1, np.nan) if g.floor is None else np.asarray(g.floor, np.float64)
    rule = np.full(1, "", object) if g.floor_rule is None else np.asarray(g.floor_rule, object)
    rows = Guardrails(
        floor=np.concatenate([floor, np.full(m, np.nan)]),
        floor_rule=np.concatenate([rule, np.full(m, "", dtype=object)]),
        caps=g.caps,
        customer=np.concatenate([customer, np.full(m, customer[0], dtype=object)]),
        opened_at=np.concatenate([at, spent.at[later]]),
        spent=Spent(spent.customer[~later], spent.at[~later], spent.amount[~later]),
    )
    cut = guarded_eligibility(
        np.vstack([comp, fixed]),
        np.vstack([elig, chosen]),
        rows,
        given=np.vstack([adds, fixed]),
    )
    return _first(cut)


def _first(cut: GuardrailCut) -> GuardrailCut:
    """The cut of row 0 alone."""
    out = {
        f.name: getattr(cut, f.name)[:1]
        for f in dataclasses.fields(cut)
        if isinstance(getattr(cut, f.name), np.ndarray)
    }
    floored = not np.isnan(out["floor"][0])
    out["floor_spend"] = float(out["required"][0]) if floored else 0.0
    return GuardrailCut(**out)
