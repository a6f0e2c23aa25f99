"""Customer memory: exact as-of features, no leakage from later complaints, the store."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from makegood.errors import ModelNotFoundError
from makegood.features.memory import (
    MEMORY_CATEGORICAL_FEATURES,
    MEMORY_FEATURE_NAMES,
    CustomerMemoryStore,
    customer_memory,
)

T0 = pd.Timestamp("2024-01-01 09:00")
OUTCOMES = ["resolution", "compensation", "logging_propensity", "satisfaction", "churned_90d"]
# Day offsets chosen so that ties and both sides of the 365-day window occur often.
OFFSETS_DAYS = [0, 0, 1, 1.5, 30, 364, 365, 366, 400, 729, 730]


def make_frame(records: list[dict]) -> pd.DataFrame:
    """A normalized history frame from partial records."""
    n = len(records)
    df = pd.DataFrame(
        {
            "complaint_id": [r["complaint_id"] for r in records],
            "customer_id": [r["customer_id"] for r in records],
            "opened_at": pd.to_datetime([r["opened_at"] for r in records]).astype("datetime64[ns]"),
            "channel": [r.get("channel", "phone") for r in records],
            "issue_type": [r.get("issue_type", "billing_error") for r in records],
            "severity": np.array([r.get("severity", 3) for r in records], dtype=np.int64),
            "emotion": pd.Series([r.get("emotion", np.nan) for r in records], dtype="str"),
            "complaint_text": [r.get("complaint_text", "") for r in records],
            "disputed_amount": np.full(n, 10.0),
            "tenure_months": np.array([r.get("tenure_months", 12) for r in records]),
            "annual_value": np.full(n, 500.0),
            "lifetime_value": np.full(n, 1500.0),
            "segment": [r.get("segment", "consumer") for r in records],
            "prior_complaints_12m": np.zeros(n, dtype=np.int64),
            "digital_skill": pd.Series([r.get("digital_skill", np.nan) for r in records]),
            "resolution": [r.get("resolution", "apology") for r in records],
            "compensation": np.array([r.get("compensation", 0.0) for r in records], dtype=float),
            "logging_propensity": np.full(n, 0.5),
            "satisfaction": np.array([r.get("satisfaction", np.nan) for r in records], dtype=float),
            "churned_90d": np.array([r.get("churned_90d", 0) for r in records], dtype=np.int64),
        }
    )
    return df


def reference_memory(df: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Slow, obviously-correct memory: an explicit loop over each row's earlier complaints."""
    pools = [h for h in (history,) if h is not None]
    if "resolution" in df.columns:
        pools.append(df)
    pool = (
        pd.concat(pools, ignore_index=True).drop_duplicates("complaint_id", keep="last")
        if pools
        else None
    )
    out = []
    for _, row in df.iterrows():
        t = row["opened_at"]
        earlier = []
        if pool is not None:
            earlier = [
                p
                for _, p in pool.iterrows()
                if p["customer_id"] == row["customer_id"] and p["opened_at"] < t
            ]
        earlier.sort(key=lambda p: (p["opened_at"], str(p["complaint_id"])))
        last = earlier[-1] if earlier else None
        in_window = [p for p in earlier if p["opened_at"] >= t - pd.Timedelta(days=365)]
        answered = [p["satisfaction"] for p in earlier if not math.isnan(p["satisfaction"])]
        same = [p for p in earlier if p["issue_type"] == row["issue_type"]]

        def last_of(col: str, last=last):
            return last[col] if last is not None else np.nan

        out.append(
            {
                "mem_n_prior": len(earlier),
                "mem_n_prior_365d": len(in_window),
                "mem_days_since_last": (t - last["opened_at"]) / pd.Timedelta(days=1)
                if last is not None
                else np.nan,
                "mem_last_resolution": last_of("resolution"),
                "mem_last_compensation": float(last_of("compensation")),
                "mem_total_compensation_365d": float(sum(p["compensation"] for p in in_window)),
                "mem_last_satisfaction": float(last_of("satisfaction")),
                "mem_mean_satisfaction": float(np.mean(answered)) if answered else np.nan,
                "mem_n_answered": len(answered),
                "mem_repeat_issue": int(bool(same)),
                "mem_n_same_issue": len(same),
                "mem_last_severity": float(last_of("severity")),
                "mem_last_channel": last_of("channel"),
                "mem_n_channels": len({p["channel"] for p in earlier}),
                "mem_last_emotion": last_of("emotion"),
            }
        )
    return pd.DataFrame(out, index=df.index, columns=list(MEMORY_FEATURE_NAMES))


def assert_same_memory(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(MEMORY_FEATURE_NAMES)
    assert list(got.index) == list(want.index)
    for col in MEMORY_FEATURE_NAMES:
        g, w = got[col], want[col]
        if col in MEMORY_CATEGORICAL_FEATURES:
            assert [None if pd.isna(x) else x for x in g] == [
                None if pd.isna(x) else x for x in w
            ], col
        else:
            np.testing.assert_allclose(
                g.to_numpy(dtype=float), w.to_numpy(dtype=float), atol=1e-9, err_msg=col
            )


@st.composite
def histories(draw, min_size: int = 1, max_size: int = 14) -> pd.DataFrame:
    n = draw(st.integers(min_size, max_size))
    ids = draw(st.permutations([f"k{i:02d}" for i in range(n)]))
    records = []
    for i in range(n):
        records.append(
            {
                "complaint_id": ids[i],
                "customer_id": draw(st.sampled_from(["a", "b", "c"])),
                "opened_at": T0 + pd.Timedelta(days=draw(st.sampled_from(OFFSETS_DAYS))),
                "channel": draw(st.sampled_from(["phone", "chat", "email"])),
                "issue_type": draw(st.sampled_from(["billing_error", "outage"])),
                "severity": draw(st.integers(1, 5)),
                "emotion": draw(st.sampled_from([np.nan, "calm", "angry"])),
                "resolution": draw(st.sampled_from(["apology", "credit_25", "refund"])),
                "compensation": draw(st.sampled_from([0.0, 25.0, 12.5])),
                "satisfaction": draw(st.sampled_from([np.nan, 0.0, 4.0, 10.0])),
                "churned_90d": draw(st.integers(0, 1)),
            }
        )
    return make_frame(records)


FAST = settings(max_examples=40, deadline=None)


@FAST
@given(histories())
def test_matches_slow_reference(df):
    assert_same_memory(customer_memory(df), reference_memory(df))


@FAST
@given(histories(), st.randoms(use_true_random=False))
def test_row_order_never_matters(df, rnd):
    order = list(range(len(df)))
    rnd.shuffle(order)
    shuffled = df.iloc[order].reset_index(drop=True)
    got = customer_memory(shuffled)
    got.index = [order[i] for i in range(len(order))]
    assert_same_memory(got.sort_index(), customer_memory(df))


@FAST
@given(
    histories(),
    histories(min_size=0, max_size=6),
    st.sampled_from(OFFSETS_DAYS),
    st.data(),
)
def test_later_complaints_never_change_earlier_features(df, extra, cutoff_days, data):
    cutoff = T0 + pd.Timedelta(days=cutoff_days)
    before = customer_memory(df)
    keep = (df["opened_at"] <= cutoff).to_numpy()

    # Rewrite every outcome of the complaints after the cutoff, and add new later ones.
    changed = df.copy()
    later = ~keep
    changed.loc[later, "resolution"] = "refund"
    changed.loc[later, "compensation"] = data.draw(st.sampled_from([0.0, 99.0]))
    changed.loc[later, "satisfaction"] = data.draw(st.sampled_from([np.nan, 1.0]))
    changed.loc[later, "channel"] = "social"
    extra = extra.assign(
        complaint_id="x" + extra["complaint_id"].astype(str),
        opened_at=cutoff + pd.Timedelta(hours=1) + (extra["opened_at"] - T0),
    )
    changed = pd.concat([changed, extra], ignore_index=True)

    after = customer_memory(changed).iloc[: len(df)]
    assert_same_memory(after[keep], before[keep])


@FAST
@given(histories(min_size=2), st.data())
def test_scoring_new_complaints_against_history(df, data):
    is_new = np.array(data.draw(st.lists(st.booleans(), min_size=len(df), max_size=len(df))))
    history = df[~is_new].reset_index(drop=True)
    new = df[is_new].drop(columns=OUTCOMES).reset_index(drop=True)
    want = reference_memory(new, history=history)
    assert_same_memory(customer_memory(new, history=history), want)
    assert_same_memory(CustomerMemoryStore.from_history(history).features_for(new), want)


def test_same_complaint_in_history_and_frame_counts_once():
    df = make_frame(
        [
            {"complaint_id": "1", "customer_id": "a", "opened_at": T0},
            {"complaint_id": "2", "customer_id": "a", "opened_at": T0 + pd.Timedelta(days=2)},
        ]
    )
    assert_same_memory(customer_memory(df, history=df), customer_memory(df))
    assert customer_memory(df)["mem_n_prior"].tolist() == [0, 1]


def test_ties_are_not_earlier():
    df = make_frame(
        [
            {"complaint_id": "1", "customer_id": "a", "opened_at": T0, "compensation": 5.0},
            {"complaint_id": "2", "customer_id": "a", "opened_at": T0, "compensation": 7.0},
            {
                "complaint_id": "3",
                "customer_id": "a",
                "opened_at": T0 + pd.Timedelta(hours=1),
                "resolution": "credit_25",
            },
        ]
    )
    m = customer_memory(df)
    assert m["mem_n_prior"].tolist() == [0, 0, 2]
    assert m["mem_total_compensation_365d"].tolist() == [0.0, 0.0, 12.0]
    # Of two earlier complaints opened at the same instant, the larger id is "last".
    assert m.loc[2, "mem_last_compensation"] == 7.0
    assert m.loc[2, "mem_days_since_last"] == pytest.approx(1 / 24)


def test_customer_with_one_complaint_has_empty_memory():
    df = make_frame([{"complaint_id": "1", "customer_id": "solo", "opened_at": T0}])
    m = customer_memory(df).iloc[0]
    assert m["mem_n_prior"] == 0 and m["mem_n_channels"] == 0 and m["mem_repeat_issue"] == 0
    assert m["mem_total_compensation_365d"] == 0.0
    assert all(
        pd.isna(m[c])
        for c in (
            "mem_days_since_last",
            "mem_last_resolution",
            "mem_last_satisfaction",
            "mem_mean_satisfaction",
            "mem_last_emotion",
        )
    )


def test_new_complaints_without_history_have_empty_memory():
    df = make_frame([{"complaint_id": "1", "customer_id": "a", "opened_at": T0}] * 1)
    new = df.drop(columns=OUTCOMES)
    assert customer_memory(new)["mem_n_prior"].tolist() == [0]
    empty = customer_memory(new.iloc[0:0])
    assert list(empty.columns) == list(MEMORY_FEATURE_NAMES) and len(empty) == 0


def test_output_keeps_index_and_types():
    df = make_frame(
        [
            {"complaint_id": "1", "customer_id": "a", "opened_at": T0, "emotion": "calm"},
            {"complaint_id": "2", "customer_id": "a", "opened_at": T0 + pd.Timedelta(days=3)},
        ]
    )
    df.index = [10, 20]
    m = customer_memory(df)
    assert list(m.index) == [10, 20]
    assert m["mem_n_prior"].dtype == np.int64
    assert m["mem_days_since_last"].dtype == np.float64
    assert m.loc[20, "mem_last_emotion"] == "calm"


@pytest.fixture
def store_history() -> pd.DataFrame:
    long_text = "x" * 500
    return make_frame(
        [
            {
                "complaint_id": "1",
                "customer_id": "a",
                "opened_at": T0,
                "channel": "chat",
                "resolution": "apology",
                "satisfaction": 3.0,
                "complaint_text": "first one",
                "tenure_months": 10,
            },
            {
                "complaint_id": "2",
                "customer_id": "a",
                "opened_at": T0 + pd.Timedelta(days=40),
                "resolution": "credit_25",
                "compensation": 25.0,
                "complaint_text": long_text,
                "tenure_months": 11,
                "segment": "premium",
                "digital_skill": "high",
            },
            {"complaint_id": "3", "customer_id": "b", "opened_at": T0 + pd.Timedelta(days=5)},
        ]
    )


def test_store_round_trip_and_features(tmp_path, store_history):
    store = CustomerMemoryStore.from_history(store_history)
    path = tmp_path / "sub" / "memory.parquet"
    store.save(path)
    assert [p.name for p in path.parent.iterdir()] == ["memory.parquet"]  # no temp left
    loaded = CustomerMemoryStore.load(path)
    assert len(loaded) == 3 and loaded.n_customers == 2

    new = make_frame(
        [
            # later than all history, in the middle of it, and an unknown customer
            {"complaint_id": "n1", "customer_id": "a", "opened_at": T0 + pd.Timedelta(days=90)},
            {"complaint_id": "n2", "customer_id": "a", "opened_at": T0 + pd.Timedelta(days=20)},
            {"complaint_id": "n3", "customer_id": "zz", "opened_at": T0},
        ]
    ).drop(columns=OUTCOMES)
    want = reference_memory(new, history=store_history)
    assert_same_memory(loaded.features_for(new), want)
    assert_same_memory(store.features_for(new), want)
    assert loaded.features_for(new)["mem_n_prior"].tolist() == [2, 1, 0]


def test_store_recent_and_profile(store_history):
    store = CustomerMemoryStore.from_history(store_history)
    recent = store.recent("a", n=5)
    assert [r["complaint_id"] for r in recent] == ["2", "1"]
    assert len(recent[0]["complaint_text"]) == 200
    assert recent[0]["compensation"] == 25.0 and recent[0]["resolution"] == "credit_25"
    assert recent[0]["satisfaction"] is None  # not answered
    assert isinstance(recent[0]["opened_at"], dt.datetime)
    assert store.recent("a", n=1)[0]["complaint_id"] == "2"
    assert store.recent("nobody") == []
    assert [r["complaint_id"] for r in store.recent("b")] == ["3"]

    profile = store.profile("a")
    assert profile is not None
    assert profile["tenure_months"] == 11 and profile["segment"] == "premium"
    assert profile["digital_skill"] == "high" and profile["annual_value"] == 500.0
    assert profile["as_of"] == (T0 + pd.Timedelta(days=40)).to_pydatetime()
    assert store.profile("b")["digital_skill"] is None
    assert store.profile("nobody") is None


def test_store_of_single_complaint_customers(tmp_path):
    df = make_frame(
        [
            {"complaint_id": "1", "customer_id": "a", "opened_at": T0},
            {"complaint_id": "2", "customer_id": "b", "opened_at": T0},
        ]
    )
    store = CustomerMemoryStore.from_history(df)
    assert store.profile("a")["tenure_months"] == 12
    assert [r["complaint_id"] for r in store.recent("b")] == ["2"]


def test_store_load_errors(tmp_path):
    with pytest.raises(ModelNotFoundError, match="not found"):
        CustomerMemoryStore.load(tmp_path / "missing.parquet")
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(bad)
    with pytest.raises(ModelNotFoundError, match="columns"):
        CustomerMemoryStore.load(bad)


def test_from_history_names_missing_columns():
    df = make_frame([{"complaint_id": "1", "customer_id": "a", "opened_at": T0}])
    with pytest.raises(ValueError, match="resolution"):
        CustomerMemoryStore.from_history(df.drop(columns=["resolution"]))
