"""Batch ``recommend`` under the catalog's guardrails (issue 26): floors owed are paid up to
the largest refund available, no customer gets more than the cap in any window (history
included), floors are funded first, and a catalog without guardrails changes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from makegood.contract.catalog import parse_catalog
from makegood.contract.files import read_complaints
from makegood.errors import GuardrailBudgetError
from makegood.modeling.bundle import load_bundle, resolve_bundle_dir
from makegood.modeling.predict import recommend, recorded_spent, score, spent_in
from makegood.policy.budget import allocate

OWED = {
    "id": "owed_is_refunded",
    "when": {"issue_type": ["billing_error", "fee_dispute"]},
    "compensation_at_least": "disputed_amount",
}


def cap(amount: float = 150, days: int = 90) -> dict:
    return {
        "id": "per_customer_cap",
        "max_compensation_per_customer": {"amount": amount, "days": days},
    }


def with_rails(catalog, *rails: dict):
    return parse_catalog({**catalog.to_dict(), "guardrails": list(rails)}, source="test")


@pytest.fixture(scope="module")
def world(trained, small_world):
    bundle = load_bundle(resolve_bundle_dir(trained["models_dir"])).with_catalog(trained["catalog"])
    df = read_complaints(small_world["complaints"])
    out = {"bundle": bundle, "df": df, "scores": score(bundle, df), "history": trained["history"]}
    out["floors_need"] = needed(out, bundle.with_catalog(with_rails(bundle.catalog, OWED)))
    return out


def _budget(world, fraction: float) -> float:
    s = world["scores"]
    return round(fraction * allocate(s.net_value, s.compensation, s.eligible, 1e12).spend, 2)


def needed(world, bundle) -> float:
    """What the bundle's guardrails require of the batch (the error's figure)."""
    with pytest.raises(GuardrailBudgetError) as e:
        recommend(bundle, world["df"], 0.0, scores=world["scores"])
    return e.value.needed


def floors_met(recs, df: pd.DataFrame) -> None:
    """Every billing-error and fee-dispute complaint gets at least its disputed amount,
    or, where no eligible resolution gives that much, the most any eligible one gives."""
    s = recs.scores
    rows = np.arange(s.n)
    given_ = s.compensation[rows, recs.allocation.choice]
    owed = df["issue_type"].isin(["billing_error", "fee_dispute"]).to_numpy()
    most = np.where(s.eligible, s.compensation, -np.inf).max(axis=1)
    want = np.minimum(df["disputed_amount"].to_numpy(float), most)
    assert owed.any()
    assert (given_[owed] >= want[owed] - 1e-9).all()


def caps_kept(recs, df: pd.DataFrame, history: pd.DataFrame, amount: float, days: int) -> int:
    """No customer's window (every payment at a time in [t - days, t]: the history as
    recorded and the batch) goes over the cap, unless what the window must pay anyway
    (its history and its complaints' floors) is more. Returns the windows checked."""
    s = recs.scores
    given_ = s.compensation[np.arange(s.n), recs.allocation.choice]
    batch = pd.DataFrame(
        {
            "customer_id": df["customer_id"].to_numpy(),
            "opened_at": df["opened_at"].to_numpy(),
            "given": given_,
            "required": recs.cut.required,
        }
    )
    past = history[["customer_id", "opened_at", "compensation"]]
    span = pd.Timedelta(days=days)
    for k in range(s.n):
        c, t = batch["customer_id"].iat[k], batch["opened_at"].iat[k]
        b = batch[(batch["customer_id"] == c) & batch["opened_at"].between(t - span, t)]
        h = past[(past["customer_id"] == c) & past["opened_at"].between(t - span, t)]
        had = h["compensation"].sum()
        limit = max(amount, had + b["required"].sum())
        assert had + b["given"].sum() <= limit + 1e-6, (k, c, had, b["given"].tolist(), limit)
    return s.n


def test_without_guardrails_the_output_is_unchanged(world):
    budget = _budget(world, 0.3)
    recs = recommend(world["bundle"], world["df"], budget, scores=world["scores"])
    s = world["scores"]
    want = allocate(s.net_value, s.compensation, s.eligible, budget)
    assert recs.cut is None
    assert "guardrail" not in recs.frame.columns
    assert recs.allocation.choice.tolist() == want.choice.tolist()
    assert '"guardrail"' not in recs.rankings()[0]


def test_guardrails_that_never_bind_give_the_same_choices(world):
    budget = _budget(world, 0.3)
    cat = with_rails(
        world["bundle"].catalog,
        {**OWED, "when": {"issue_type": ["no_such_issue"]}},
        cap(1e9, 1),
    )
    plain = recommend(world["bundle"], world["df"], budget, scores=world["scores"])
    recs = recommend(world["bundle"].with_catalog(cat), world["df"], budget, scores=world["scores"])
    assert recs.allocation.choice.tolist() == plain.allocation.choice.tolist()
    assert (recs.frame["guardrail"] == "").all()
    assert (recs.frame["guardrail_reason"] == "").all()


def test_the_issue_catalog_pays_what_is_owed_and_keeps_the_cap(world):
    df, history = world["df"], world["history"]
    cat = with_rails(world["bundle"].catalog, OWED, cap(150, 90))
    bundle = world["bundle"].with_catalog(cat)
    budget = round(needed(world, bundle) + _budget(world, 0.3), 2)
    recs = recommend(bundle, df, budget, scores=world["scores"], spent=spent_in(history))
    floors_met(recs, df)
    assert caps_kept(recs, df, history, 150, 90) == len(df)
    assert recs.frame["compensation"].sum() <= budget
    decided = recs.frame["guardrail"]
    assert set(decided) <= {"", "floor", "floor_unreachable", "cap"}
    assert (decided == "floor").any()
    floored = recs.frame[decided == "floor"].iloc[0]
    assert floored["guardrail_reason"].startswith("owed_is_refunded: at least $")
    capped = recs.frame[decided == "cap"]
    if len(capped):
        assert capped["guardrail_reason"].str.contains("in 90 days").all()
    line = recs.rankings()[0]
    assert line["guardrail"] == recs.frame["guardrail"].iat[0]


def test_the_bundle_remembers_what_was_given(world):
    spent = recorded_spent(world["bundle"])
    history = world["history"]
    assert len(spent.amount) == len(history)
    assert spent.amount.sum() == pytest.approx(history["compensation"].sum())


def test_a_budget_below_the_floors_names_the_amount_needed(world):
    cat = with_rails(world["bundle"].catalog, OWED)
    bundle = world["bundle"].with_catalog(cat)
    with pytest.raises(GuardrailBudgetError, match=r"the budget must be at least \d+\.\d\d") as e:
        recommend(bundle, world["df"], 1.0, scores=world["scores"])
    assert e.value.needed > 1.0


@settings(max_examples=12)
@given(
    of_needed=st.floats(0.9, 1.3),
    fraction=st.floats(0.0, 0.5),
    amount=st.sampled_from([0.0, 25.0, 60.0, 150.0, 400.0]),
    days=st.integers(1, 200),
)
def test_property_floors_met_caps_kept_budget_kept(world, of_needed, fraction, amount, days):
    df, history = world["df"], world["history"]
    cat = with_rails(world["bundle"].catalog, OWED, cap(amount, days))
    bundle = world["bundle"].with_catalog(cat)
    budget = round(of_needed * world["floors_need"] + _budget(world, fraction), 2)
    try:
        recs = recommend(bundle, df, budget, scores=world["scores"], spent=spent_in(history))
    except GuardrailBudgetError as e:
        assert e.needed > budget
        return
    floors_met(recs, df)
    caps_kept(recs, df, history, amount, days)
    s = recs.scores
    assert recs.allocation.spend <= budget
    assert s.eligible[np.arange(s.n), recs.allocation.choice].all()
