"""Owed spend in the live period: compensation a guardrail floor required (a refund owed,
CONTRACT.md section 2b). The service gives it whatever the budget; when the budget could
not fund it, the decision spends from no budget (``budget_id`` NULL) and shows here as
owed beyond the budget.

Of each decision, the owed part is ``min(owed, money)``, where money is its final
compensation when committed and its hold while it is live.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, select

from makegood.contract.units import from_cents
from makegood.store.ledger import DecisionStatus, decisions

__all__ = ["owed_spend"]


def owed_spend(conn: Any, in_scope: Any, held_now: Any) -> dict:
    """The period's owed spend: committed and held, all of it and beyond the budget.

    Args:
        conn: a read connection on the ledger.
        in_scope: the condition on ``decisions`` of the report's scope.
        held_now: the condition of a hold live at the report's moment.
    """
    committed = decisions.c.status == DecisionStatus.COMMITTED.value
    final = func.coalesce(decisions.c.final_compensation_cents, 0)
    owed = decisions.c.owed_cents
    part = case(
        (committed, case((final < owed, final), else_=owed)),
        else_=case(
            (decisions.c.compensation_cents < owed, decisions.c.compensation_cents), else_=owed
        ),
    )
    live = and_(in_scope, owed > 0, committed | held_now)
    beyond = decisions.c.budget_id.is_(None)
    rows = conn.execute(
        select(
            beyond.label("beyond"),
            committed.label("committed"),
            func.count(),
            func.coalesce(func.sum(part), 0),
        )
        .where(live)
        .group_by(beyond, committed)
    ).all()
    cents = {(bool(b), bool(c)): (int(n), int(s)) for b, c, n, s in rows}

    def block(which: tuple[bool, ...]) -> dict:
        n_c = sum(cents.get((b, True), (0, 0))[0] for b in which)
        n_h = sum(cents.get((b, False), (0, 0))[0] for b in which)
        c = sum(cents.get((b, True), (0, 0))[1] for b in which)
        h = sum(cents.get((b, False), (0, 0))[1] for b in which)
        return {
            "n_committed": n_c,
            "committed": float(from_cents(c)),
            "n_held": n_h,
            "held": float(from_cents(h)),
            "committed_and_held": float(from_cents(c + h)),
        }

    return {**block((False, True)), "beyond_budget": block((True,))}
