"""Budget ledger: budgets, the reserve/commit/release/expire life cycle, idempotency,
outcomes, export and money conservation against a reference model (the pacing of the
price is policy: tests/unit/policy/test_pacing.py).

Every test runs on SQLite; on PostgreSQL too when MAKEGOOD_TEST_DATABASE_URL is set
(each ledger then lives in a schema of its own, dropped afterwards).
"""

from __future__ import annotations

import copy
import doctest
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

import makegood.store.ledger as ledger_module
from dbtesting import BACKENDS, PG_URL, drop_schema, fresh_schema
from makegood.errors import BudgetError, BudgetExceededError, ConfigError
from makegood.store.ledger import (
    DecisionNotFoundError,
    DecisionRecord,
    DecisionStateError,
    DecisionStatus,
    Ledger,
    LedgerError,
    WrapUp,
    make_engine,
)

T0 = datetime(2026, 11, 10, 12, 0, 0)
NOV_START, NOV_END = datetime(2026, 11, 1), datetime(2026, 12, 1)


class LedgerFactory:
    """Makes isolated ledgers: a fresh SQLite file, or a fresh PostgreSQL schema."""

    def __init__(self, backend: str, tmp_dir: Path) -> None:
        self.backend = backend
        self.tmp_dir = tmp_dir
        self._made: list[Ledger] = []

    def __call__(self) -> Ledger:
        if self.backend == "sqlite":
            ledger = Ledger(f"sqlite:///{self.tmp_dir / f'ledger-{uuid.uuid4().hex[:8]}.db'}")
        else:
            assert PG_URL is not None
            ledger = Ledger(PG_URL, schema=fresh_schema())
        ledger.create_all()
        self._made.append(ledger)
        return ledger

    def close(self) -> None:
        for ledger in self._made:
            ledger.close()
            if ledger.schema is not None:
                drop_schema(ledger.url, ledger.schema)


@pytest.fixture(params=BACKENDS)
def ledger(request, tmp_path):
    factory = LedgerFactory(request.param, tmp_path)
    yield factory()
    factory.close()


@pytest.fixture(scope="module", params=BACKENDS)
def shared_ledger(request, tmp_path_factory):
    """One ledger per module and backend, for @given tests: each example uses a
    period of its own."""
    factory = LedgerFactory(request.param, tmp_path_factory.mktemp("ledger"))
    yield factory()
    factory.close()


def record(
    complaint_id: str = "c1",
    *,
    period: str = "2026-11",
    team: str | None = None,
    resolution: str = "credit_25",
    propensity: float = 0.7,
    **extra,
) -> DecisionRecord:
    return DecisionRecord(
        period=period,
        complaint_id=complaint_id,
        customer_id=f"cust-{complaint_id}",
        recommended_resolution=resolution,
        recommended_propensity=propensity,
        model_version="v1",
        ranking=[
            {"resolution": resolution, "net_value": 12.5, "compensation": 25.0},
            {"resolution": "apology", "net_value": 3.0, "compensation": 0.0},
        ],
        complaint={"complaint_id": complaint_id, "issue_type": "billing_error", "severity": 3},
        team=team,
        **extra,
    )


def totals(ledger: Ledger, period: str = "2026-11", team: str | None = None):
    state = ledger.get_budget(period, team)
    audit = ledger.audit(period, team)
    assert (audit.committed, audit.reserved) == (state.committed, state.reserved)
    return state.committed, state.reserved, state.available


# --------------------------------------------------------------------------- engine


def test_make_engine_creates_the_directory_and_sets_wal_and_busy_timeout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ledger = Ledger("sqlite:///nested/dir/ledger.db")
    ledger.create_all()
    assert (tmp_path / "nested" / "dir" / "ledger.db").exists()
    with make_engine("sqlite:///nested/dir/ledger.db").connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    ledger.close()


def test_sqlite_write_transactions_take_the_write_lock_at_begin(tmp_path):
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with engine.begin() as conn:
        conn.execute(text("SELECT 1"))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # free again once the first commits
    other.execute("ROLLBACK")
    other.close()
    engine.dispose()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_make_engine_rejects_other_databases(url):
    with pytest.raises(ConfigError, match="url"):
        make_engine(url)


def test_schema_is_refused_on_sqlite(tmp_path):
    with pytest.raises(ConfigError, match="schema"):
        Ledger(f"sqlite:///{tmp_path / 'x.db'}", schema="s")


def test_create_all_is_idempotent(ledger):
    ledger.create_all()
    ledger.set_budget("2026-11", 10)
    ledger.create_all()
    assert ledger.get_budget("2026-11").amount == Decimal("10.00")


def test_module_doctests():
    assert doctest.testmod(ledger_module).failed == 0


# --------------------------------------------------------------------------- budgets


def test_set_budget_derives_month_bounds_and_updates_in_place(ledger):
    state = ledger.set_budget("2026-12", "1000.5")
    assert state.amount == Decimal("1000.50")
    assert (state.period_start, state.period_end) == (datetime(2026, 12, 1), datetime(2027, 1, 1))
    assert state.available == Decimal("1000.50")
    assert state.team is None

    updated = ledger.set_budget("2026-12", 2000)
    assert updated.amount == Decimal("2000.00")
    assert updated.period_start == datetime(2026, 12, 1)  # kept


def test_set_budget_needs_bounds_for_other_periods(ledger):
    with pytest.raises(BudgetError, match="period_start and period_end are required"):
        ledger.set_budget("2026-Q4", 100)
    state = ledger.set_budget(
        "2026-Q4", 100, period_start=datetime(2026, 10, 1), period_end=datetime(2027, 1, 1)
    )
    assert state.period_end == datetime(2027, 1, 1)


def test_aware_bounds_are_stored_as_naive_utc(ledger):
    plus_two = timezone(timedelta(hours=2))
    state = ledger.set_budget(
        "w45",
        1,
        period_start=datetime(2026, 11, 2, 2, 0, tzinfo=plus_two),
        period_end=datetime(2026, 11, 9, tzinfo=UTC),
    )
    assert state.period_start == datetime(2026, 11, 2, 0, 0)


@pytest.mark.parametrize(
    ("amount", "match"),
    [(-5, "amount must be a finite number >= 0. Got -5"), (float("nan"), "finite"), ("x", "x")],
)
def test_set_budget_rejects_bad_amounts(ledger, amount, match):
    with pytest.raises(BudgetError, match=match):
        ledger.set_budget("2026-11", amount)


def test_set_budget_rejects_reversed_bounds(ledger):
    with pytest.raises(BudgetError, match="period_end must be after period_start"):
        ledger.set_budget("p", 1, period_start=NOV_END, period_end=NOV_START)


def test_budget_cannot_drop_below_what_is_spent(ledger):
    ledger.set_budget("2026-11", 100)
    assert ledger.reserve(record(), 60).ok
    with pytest.raises(BudgetError, match=r"committed plus reserved \(60.00\)"):
        ledger.set_budget("2026-11", 59.99)
    assert ledger.set_budget("2026-11", 60).available == 0


def test_money_is_exact_to_the_cent(ledger):
    ledger.set_budget("2026-11", 0.3)
    assert ledger.reserve(record("a"), 0.1).ok
    assert ledger.reserve(record("b"), 0.2).ok  # 0.1 + 0.2 == 0.3 exactly
    assert ledger.available("2026-11") == Decimal("0.00")
    ledger.set_budget("2026-11", "10.005")  # half up
    assert ledger.get_budget("2026-11").amount == Decimal("10.01")


def test_missing_budget(ledger):
    with pytest.raises(BudgetError, match="no budget for period '2026-11'"):
        ledger.get_budget("2026-11")
    assert ledger.available("2026-11") == 0
    assert ledger.spend_by_day("2026-11") == {}


def test_team_spends_from_its_own_budget_else_company_wide(ledger):
    ledger.set_budget("2026-11", 100)
    ledger.set_budget("2026-11", 30, team="billing")
    assert ledger.get_budget("2026-11", "billing").amount == Decimal("30.00")
    assert ledger.get_budget("2026-11", "retention").team is None  # falls back

    assert ledger.reserve(record("a", team="billing"), 25).ok
    assert not ledger.reserve(record("b", team="billing"), 25).ok  # team budget is separate
    assert ledger.reserve(record("c", team="retention"), 25).ok
    assert totals(ledger, team="billing") == (0, Decimal("25.00"), Decimal("5.00"))
    assert totals(ledger) == (0, Decimal("25.00"), Decimal("75.00"))


# --------------------------------------------------------------------------- life cycle


def test_reserve_holds_and_commit_spends(ledger):
    ledger.set_budget("2026-11", 100)
    result = ledger.reserve(record(), 25, now=T0)
    assert result.ok and not result.replayed
    assert result.available == Decimal("75.00")
    decision = result.decision
    assert decision.status is DecisionStatus.RESERVED
    assert decision.compensation == Decimal("25.00")
    assert decision.expires_at == T0 + timedelta(seconds=ledger_module.DEFAULT_TTL_SECONDS)
    assert decision.ranking[0]["resolution"] == "credit_25"
    assert decision.recommended_propensity == 0.7
    assert totals(ledger) == (0, Decimal("25.00"), Decimal("75.00"))

    committed = ledger.commit(decision.decision_id, now=T0 + timedelta(minutes=5))
    assert committed.status is DecisionStatus.COMMITTED
    assert committed.final_resolution == "credit_25"
    assert committed.final_compensation == Decimal("25.00")
    assert totals(ledger) == (Decimal("25.00"), 0, Decimal("75.00"))
    assert ledger.get_decision(decision.decision_id) == committed


def test_declined_reservation_is_recorded_and_caller_can_fall_back(ledger):
    ledger.set_budget("2026-11", 30)
    assert ledger.reserve(record("a"), 20).ok
    result = ledger.reserve(record("b"), 25, idempotency_key="req-b")
    assert not result.ok
    assert result.available == Decimal("10.00")
    assert result.decision.status is DecisionStatus.DECLINED
    assert result.decision.idempotency_key is None  # a declined try does not claim the key
    assert ledger.get_decision(result.decision.decision_id).compensation == Decimal("25.00")

    fallback = ledger.reserve(record("b", resolution="credit_10"), 10, idempotency_key="req-b")
    assert fallback.ok and not fallback.replayed
    assert totals(ledger) == (0, Decimal("30.00"), 0)
    # A retry of the whole request gets the fallback back, even for the dearer option.
    retry = ledger.reserve(record("b"), 25, idempotency_key="req-b")
    assert retry.replayed and retry.decision.decision_id == fallback.decision.decision_id
    with pytest.raises(DecisionStateError, match="declined"):
        ledger.commit(result.decision.decision_id)


def test_zero_compensation_needs_no_budget(ledger):
    result = ledger.reserve(record(resolution="apology"), 0)
    assert result.ok
    assert result.available == 0
    committed = ledger.commit(result.decision.decision_id)
    assert committed.final_compensation == 0
    with pytest.raises(BudgetExceededError, match="no budget"):
        ledger.commit(ledger.reserve(record("b"), 0).decision.decision_id, final_compensation=5)


def test_same_idempotency_key_spends_once(ledger):
    ledger.set_budget("2026-11", 100)
    first = ledger.reserve(record(), 40, idempotency_key="req-1")
    second = ledger.reserve(record(), 40, idempotency_key="req-1")
    assert second.replayed and second.ok
    assert second.decision == first.decision
    assert totals(ledger) == (0, Decimal("40.00"), Decimal("60.00"))
    assert len(list(ledger.iter_decisions_with_outcomes())) == 1

    ledger.commit(first.decision.decision_id)
    third = ledger.reserve(record(), 40, idempotency_key="req-1")
    assert third.replayed and third.ok
    assert third.decision.status is DecisionStatus.COMMITTED
    assert totals(ledger) == (Decimal("40.00"), 0, Decimal("60.00"))


def test_idempotency_key_of_another_complaint_is_refused(ledger):
    ledger.set_budget("2026-11", 100)
    ledger.reserve(record("a"), 10, idempotency_key="k")
    with pytest.raises(DecisionStateError, match="Idempotency-Key 'k' was used for complaint 'a'"):
        ledger.reserve(record("b"), 10, idempotency_key="k")


def test_commit_with_other_final_compensation(ledger):
    ledger.set_budget("2026-11", 100)
    a = ledger.reserve(record("a"), 30).decision
    b = ledger.reserve(record("b"), 30).decision
    with pytest.raises(BudgetExceededError, match="above the budget of 100.00"):
        ledger.commit(a.decision_id, final_compensation=70.01)
    assert ledger.get_decision(a.decision_id).status is DecisionStatus.RESERVED  # unchanged
    assert ledger.commit(a.decision_id, final_compensation=70).final_compensation == 70
    assert ledger.commit(b.decision_id, final_compensation=10).final_compensation == 10
    assert totals(ledger) == (Decimal("80.00"), 0, Decimal("20.00"))


def test_commit_is_idempotent_but_not_rewritable(ledger):
    ledger.set_budget("2026-11", 100)
    decision_id = ledger.reserve(record(), 30).decision.decision_id
    first = ledger.commit(decision_id)
    assert ledger.commit(decision_id) == first
    assert ledger.commit(decision_id, final_compensation=30) == first
    with pytest.raises(DecisionStateError, match="already committed"):
        ledger.commit(decision_id, final_compensation=10)
    with pytest.raises(DecisionStateError, match="only a reserved or expired"):
        ledger.release(decision_id, "changed mind")
    assert totals(ledger) == (Decimal("30.00"), 0, Decimal("70.00"))


def test_release_frees_the_reservation(ledger):
    ledger.set_budget("2026-11", 100)
    decision_id = ledger.reserve(record(), 30).decision.decision_id
    released = ledger.release(
        decision_id, "customer wanted a call back", final_resolution="apology"
    )
    assert released.status is DecisionStatus.RELEASED
    assert released.override_reason == "customer wanted a call back"
    assert released.final_resolution == "apology"
    assert released.final_compensation == 0
    assert ledger.release(decision_id, "customer wanted a call back") == released
    assert totals(ledger) == (0, 0, Decimal("100.00"))
    with pytest.raises(LedgerError, match="reason must be a non-empty string"):
        ledger.release(decision_id, " ")


def test_override_with_compensation_commits_it_if_it_fits(ledger):
    ledger.set_budget("2026-11", 100)
    a = ledger.reserve(record("a"), 30).decision
    ledger.reserve(record("b"), 50)
    with pytest.raises(BudgetExceededError):
        ledger.release(
            a.decision_id, "gave refund", final_resolution="refund", final_compensation=51
        )
    assert ledger.get_decision(a.decision_id).status is DecisionStatus.RESERVED
    overridden = ledger.release(
        a.decision_id, "gave refund", final_resolution="refund", final_compensation=50
    )
    assert overridden.status is DecisionStatus.COMMITTED
    assert (overridden.final_resolution, overridden.final_compensation) == ("refund", 50)
    assert overridden.override_reason == "gave refund"
    assert totals(ledger) == (Decimal("50.00"), Decimal("50.00"), 0)


def test_unknown_decision(ledger):
    for call in (ledger.get_decision, ledger.commit, lambda d: ledger.release(d, "r")):
        with pytest.raises(DecisionNotFoundError, match="nope"):
            call("nope")
    with pytest.raises(DecisionNotFoundError):
        ledger.record_outcome("nope", satisfaction=3)


def test_expiry_releases_overdue_reservations(ledger):
    ledger.set_budget("2026-11", 100)
    short = ledger.reserve(record("a"), 60, ttl_seconds=60, now=T0).decision
    ledger.reserve(record("b"), 0, ttl_seconds=60, now=T0)  # no money, still expires
    assert ledger.expire(T0 + timedelta(seconds=59)) == 0
    assert ledger.expire(T0 + timedelta(seconds=60)) == 2
    assert ledger.get_decision(short.decision_id).status is DecisionStatus.EXPIRED
    assert totals(ledger) == (0, 0, Decimal("100.00"))


def test_reserve_expires_overdue_reservations_first(ledger):
    ledger.set_budget("2026-11", 100)
    ledger.reserve(record("a"), 60, ttl_seconds=60, now=T0)
    assert not ledger.reserve(record("b"), 60, now=T0 + timedelta(seconds=30)).ok
    assert ledger.reserve(record("c"), 60, now=T0 + timedelta(seconds=61)).ok


def test_late_commit_of_an_expired_reservation_needs_room_again(ledger):
    ledger.set_budget("2026-11", 100)
    a = ledger.reserve(record("a"), 60, ttl_seconds=60, now=T0).decision
    b = ledger.reserve(record("b"), 30, ttl_seconds=60, now=T0).decision
    later = T0 + timedelta(minutes=5)
    ledger.reserve(record("c"), 50, now=later)  # a and b expire here
    assert ledger.commit(b.decision_id, now=later).status is DecisionStatus.COMMITTED
    with pytest.raises(BudgetExceededError):
        ledger.commit(a.decision_id, now=later)
    assert ledger.release(a.decision_id, "too late", now=later).status is DecisionStatus.RELEASED
    assert totals(ledger) == (Decimal("30.00"), Decimal("50.00"), Decimal("20.00"))


@pytest.mark.parametrize("ttl", [0, -1, float("inf")])
def test_reserve_rejects_bad_ttl(ledger, ttl):
    with pytest.raises(LedgerError, match="ttl_seconds must be > 0"):
        ledger.reserve(record(), 1, ttl_seconds=ttl)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"recommended_propensity": 0.0}, "recommended_propensity must be a probability"),
        ({"recommended_propensity": 1.5}, "recommended_propensity"),
        ({"complaint_id": ""}, "complaint_id must be a non-empty string"),
        ({"model_version": None}, "model_version"),
        ({"complaint": {"x": object()}}, "cannot store a object as JSON"),
    ],
)
def test_reserve_rejects_malformed_records(ledger, changes, match):
    from dataclasses import replace

    with pytest.raises(LedgerError, match=match):
        ledger.reserve(replace(record(), **changes), 0)


def test_complaint_fields_from_pandas_are_stored_as_json(ledger):
    row = pd.Series(
        {
            "opened_at": pd.Timestamp("2026-11-03 10:15"),
            "severity": np.int64(4),
            "disputed_amount": np.float64(12.5),
            "satisfaction": np.nan,
            "emotion": float("nan"),
            "escalated": np.bool_(True),
        }
    )
    decision = ledger.reserve(
        DecisionRecord(
            period="2026-11",
            complaint_id="c9",
            customer_id="u9",
            recommended_resolution="apology",
            recommended_propensity=np.float64(0.25),
            model_version="v2",
            ranking=[{"resolution": "apology", "net_value": np.float32(1.5)}],
            complaint=row.to_dict(),
        ),
        0,
    ).decision
    assert decision.complaint == {
        "opened_at": "2026-11-03T10:15:00",
        "severity": 4,
        "disputed_amount": 12.5,
        "satisfaction": None,
        "emotion": None,
        "escalated": True,
    }
    assert decision.ranking == [{"resolution": "apology", "net_value": 1.5}]


# --------------------------------------------------------------------------- outcomes, export


def test_outcomes_merge_fields_recorded_at_different_times(ledger):
    decision_id = ledger.reserve(record(), 0).decision.decision_id
    assert ledger.get_outcome(decision_id) is None
    first = ledger.record_outcome(decision_id, satisfaction=7.5, now=T0)
    assert (first.satisfaction, first.churned_90d) == (7.5, None)
    second = ledger.record_outcome(decision_id, churned_90d=1, now=T0 + timedelta(days=90))
    assert (second.satisfaction, second.churned_90d) == (7.5, True)
    assert second.recorded_at == T0
    assert ledger.get_outcome(decision_id) == second


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"satisfaction": 11}, "satisfaction must be a number in 0..10"),
        ({"satisfaction": float("nan")}, "satisfaction"),
        ({"churned_90d": 2}, "churned_90d must be 0/1"),
    ],
)
def test_record_outcome_rejects_bad_values(ledger, kwargs, match):
    decision_id = ledger.reserve(record(), 0).decision.decision_id
    with pytest.raises(LedgerError, match=match):
        ledger.record_outcome(decision_id, **kwargs)


def test_export_rows_in_contract_form(ledger):
    ledger.set_budget("2026-11", 100)
    accepted = ledger.reserve(record("a", propensity=0.6), 25, now=T0).decision
    overridden = ledger.reserve(record("b"), 25, now=T0 + timedelta(seconds=1)).decision
    pending = ledger.reserve(record("c"), 25, now=T0 + timedelta(seconds=2)).decision
    ledger.commit(accepted.decision_id, wrap_up=WrapUp("resolved", "credit applied on the call"))
    ledger.release(overridden.decision_id, "agent judgement", final_resolution="apology")
    ledger.record_outcome(accepted.decision_id, satisfaction=9, churned_90d=False)
    ledger.record_outcome(overridden.decision_id, churned_90d=True)
    ledger.record_outcome(pending.decision_id, churned_90d=False)

    items = list(ledger.iter_decisions_with_outcomes(batch_size=2))
    assert [i.decision.complaint_id for i in items] == ["a", "b", "c"]
    assert [i.exportable for i in items] == [True, True, False]
    assert items[0].history_row() == {
        "complaint_id": "a",
        "customer_id": "cust-a",
        "issue_type": "billing_error",
        "severity": 3,
        "resolution": "credit_25",
        "compensation": 25.0,
        "logging_propensity": 0.6,
        "satisfaction": 9.0,
        "churned_90d": 0,
        "wrap_up_code": "resolved",
        "wrap_up_note": "credit applied on the call",
    }
    row_b = items[1].history_row()
    assert (row_b["wrap_up_code"], row_b["wrap_up_note"]) == (None, None)
    assert (row_b["resolution"], row_b["compensation"]) == ("apology", 0.0)
    assert row_b["logging_propensity"] is None  # a person chose it: propensity unknown
    assert (row_b["satisfaction"], row_b["churned_90d"]) == (None, 1)
    with pytest.raises(LedgerError, match="cannot be exported"):
        items[2].history_row()


def test_iteration_pages_through_equal_timestamps(ledger):
    ids = {ledger.reserve(record(f"c{i}"), 0, now=T0).decision.decision_id for i in range(7)}
    seen = [i.decision.decision_id for i in ledger.iter_decisions_with_outcomes(batch_size=3)]
    assert sorted(seen) == sorted(ids)


def test_spend_by_day(ledger):
    ledger.set_budget("2026-11", 100)
    for day, amount in [(3, 10), (3, 5.5), (4, 20)]:
        at = datetime(2026, 11, day, 9)
        decision_id = ledger.reserve(record(f"c{day}{amount}"), amount, now=at).decision.decision_id
        ledger.commit(decision_id, now=at + timedelta(hours=1))
    ledger.reserve(record("held"), 30, now=datetime(2026, 11, 4, 9))
    assert ledger.spend_by_day("2026-11") == {
        date(2026, 11, 3): Decimal("15.50"),
        date(2026, 11, 4): Decimal("20.00"),
    }


# --------------------------------------------------------------------------- conservation


@dataclass
class Model:
    """Reference semantics of one budget, in cents."""

    amount: int
    committed: int = 0
    reserved: int = 0
    decisions: list[dict] = field(default_factory=list)

    def expire(self, now):
        for d in self.decisions:
            if d["status"] == "reserved" and d["expires_at"] <= now:
                d["status"] = "expired"
                self.reserved -= d["cents"]

    def reserve(self, cents, now, ttl):
        self.expire(now)
        fits = cents == 0 or self.committed + self.reserved + cents <= self.amount
        self.decisions.append(
            {
                "status": "reserved" if fits else "declined",
                "cents": cents,
                "expires_at": now + timedelta(seconds=ttl),
            }
        )
        if fits:
            self.reserved += cents
        return fits

    def settle(self, index, target, spend, now, *, final_cents, reason):
        """Returns None on success, else the exception type the ledger must raise
        (a failed operation changes nothing, not even the expiry it began with)."""
        before = copy.deepcopy(self.__dict__)
        error = self._settle(self.decisions[index], target, spend, now, final_cents, reason)
        if error is not None:
            self.__dict__.update(before)
        return error

    def _settle(self, d, target, spend, now, final_cents, reason):
        self.expire(now)
        if d["status"] == target:
            same = final_cents in (None, d["final"]) and reason in (None, d["reason"])
            return None if same else DecisionStateError
        if d["status"] not in ("reserved", "expired"):
            return DecisionStateError
        held = d["cents"] if d["status"] == "reserved" else 0
        if spend > held and self.committed + self.reserved - held + spend > self.amount:
            return BudgetExceededError
        self.reserved -= held
        self.committed += spend
        d["status"], d["final"], d["reason"] = target, spend, reason
        return None


ops = st.lists(
    st.one_of(
        st.tuples(st.just("reserve"), st.integers(0, 2_000), st.sampled_from([5, 10_000])),
        st.tuples(st.just("commit"), st.integers(0, 50), st.none() | st.integers(0, 2_500)),
        st.tuples(st.just("release"), st.integers(0, 50), st.sampled_from([0, 0, 500, 3_000])),
        st.tuples(st.just("tick"), st.integers(1, 10)),
        st.tuples(st.just("expire")),
    ),
    min_size=4,
    max_size=40,
)


@settings(max_examples=50, deadline=None)
@given(amount=st.integers(0, 5_000), ops=ops)
def test_money_is_conserved_under_any_sequence_of_operations(shared_ledger, amount, ops):
    ledger = shared_ledger
    period = f"p-{uuid.uuid4().hex[:12]}"
    ledger.set_budget(period, Decimal(amount) / 100, period_start=NOV_START, period_end=NOV_END)
    model = Model(amount)
    ids: list[str] = []
    now = T0
    for op in ops:
        if op[0] == "reserve":
            _, cents, ttl = op
            result = ledger.reserve(
                record(f"c{len(ids)}", period=period),
                Decimal(cents) / 100,
                ttl_seconds=ttl,
                now=now,
            )
            assert result.ok == model.reserve(cents, now, ttl)
            event(f"reserve -> {'ok' if result.ok else 'declined'}")
            ids.append(result.decision.decision_id)
        elif op[0] in ("commit", "release") and ids:
            index = op[1] % len(ids)
            final = None if op[2] is None else Decimal(op[2]) / 100
            if op[0] == "commit":
                spend = model.decisions[index]["cents"] if op[2] is None else op[2]
                target = "committed"
                expected = model.settle(index, target, spend, now, final_cents=op[2], reason=None)
                method, args = ledger.commit, (ids[index],)
            else:
                target = "committed" if op[2] else "released"
                expected = model.settle(
                    index, target, op[2], now, final_cents=op[2], reason="override"
                )
                method, args = ledger.release, (ids[index], "override")
            event(f"{op[0]} -> {'ok' if expected is None else expected.__name__}")
            if expected is None:
                assert method(*args, final_compensation=final, now=now).status.value == target
            else:
                with pytest.raises(expected):
                    method(*args, final_compensation=final, now=now)
        elif op[0] == "tick":
            now += timedelta(seconds=op[1])
        elif op[0] == "expire":
            ledger.expire(now)
            model.expire(now)

        state = ledger.get_budget(period)
        assert state.committed + state.reserved <= state.amount
        assert (state.committed, state.reserved) == (
            Decimal(model.committed) / 100,
            Decimal(model.reserved) / 100,
        )
    totals(ledger, period)  # the running totals equal the sums over decisions
    statuses = [ledger.get_decision(i).status.value for i in ids]
    assert statuses == [d["status"] for d in model.decisions]
