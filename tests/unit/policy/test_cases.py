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
