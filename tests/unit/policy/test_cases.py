"""The case top-up rule: never negative, never more than the compensation, and the
case never holds more in total than its dearest candidate."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from makegood.policy.cases import top_up

cents = st.integers(min_value=0, max_value=10**9)


@given(st.lists(cents, min_size=1, max_size=12), cents)
def test_top_up_is_what_the_candidate_adds_beyond_the_case(compensation, covered):
    comp = np.array(compensation, dtype=np.int64)
    extra = top_up(comp, covered)
    assert extra.dtype == comp.dtype
    assert ((extra >= 0) & (extra <= comp)).all()
    # what the case holds after the new contact: no more than the larger of the two
    assert (covered + extra == np.maximum(comp, covered)).all()


# --------------------------------------------------------------------------- joining a case

from dataclasses import dataclass  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from decimal import Decimal  # noqa: E402

from makegood.policy.cases import case_cover, case_to_join  # noqa: E402

T0 = datetime(2026, 1, 1)


@dataclass(frozen=True)
class _Case:
    status: str
    issue_type: str
    last_contact_at: datetime


cases_st = st.lists(
    st.builds(
        _Case,
        st.sampled_from(["open", "closed"]),
        st.sampled_from(["billing_error", "service_outage"]),
        st.integers(0, 40).map(lambda d: T0 + timedelta(days=d)),
    ),
    max_size=8,
)


@given(cases_st, st.integers(0, 45), st.sampled_from([1.0, 7.0, 14.0]))
def test_a_contact_joins_the_latest_open_case_of_its_issue_within_the_window(cases, day, window):
    at = T0 + timedelta(days=day)
    joined = case_to_join(cases, "billing_error", at, window)
    fits = [
        c for c in cases
        if c.status == "open" and c.issue_type == "billing_error"
        and timedelta(0) <= at - c.last_contact_at <= timedelta(days=window)
    ]  # fmt: skip
    if not fits:
        assert joined is None
    else:
        assert joined in fits
        assert joined.last_contact_at == max(c.last_contact_at for c in fits)


@dataclass(frozen=True)
class _Contact:
    held: Decimal
    expires: datetime
    given: Decimal

    def holding(self, now: datetime) -> Decimal:
        return self.held if self.expires > now else Decimal(0)

    def spent(self) -> Decimal:
        return self.given


def test_a_case_covers_what_its_contacts_hold_now_and_what_was_given():
    contacts = [
        _Contact(Decimal("25.00"), T0 + timedelta(hours=1), Decimal(0)),
        _Contact(Decimal("40.00"), T0 - timedelta(hours=1), Decimal(0)),  # lapsed
        _Contact(Decimal(0), T0, Decimal("10.50")),
    ]
    assert case_cover(contacts, T0) == (Decimal("25.00"), Decimal("10.50"))
    assert case_cover([], T0) == (Decimal(0), Decimal(0))
