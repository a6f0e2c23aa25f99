"""Issue 22's queue rules: the "why first" parts add up to the priority, and who may open
a case out of turn."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from makegood.policy.queue import ageing, may_open, priority, servable

money = st.floats(0, 1e6, allow_nan=False)
waits = st.floats(-60, 1e6, allow_nan=False)
skills = st.sampled_from(["billing", "outage", "returns", "fees"])
skill_sets = st.lists(skills, max_size=3, unique=True)


@given(st.lists(st.tuples(money, waits), min_size=1, max_size=20), st.floats(0, 100))
def test_value_at_risk_plus_ageing_is_the_priority(rows, rate):
    var = np.array([r[0] for r in rows])
    waited = np.array([r[1] for r in rows])
    parts = var + ageing(waited, ageing_per_minute=rate)
    assert np.allclose(parts, priority(var, waited, ageing_per_minute=rate))
    assert (ageing(waited, ageing_per_minute=rate) >= 0).all()


@given(skills, skill_sets, skill_sets, st.booleans())
def test_may_open_is_the_skill_or_the_supervisor(skill, primary, backup, supervisor):
    allowed = may_open(skill, primary=primary, backup=backup, supervisor=supervisor)
    if supervisor or not primary:
        assert allowed
    else:
        assert allowed == (skill in primary or skill in backup)
    # whatever next would hand this agent after the backup wait, they may also open
    later = servable([skill], [1e9], primary=primary, backup=backup, backup_after_seconds=0)
    assert allowed or not later[0]
