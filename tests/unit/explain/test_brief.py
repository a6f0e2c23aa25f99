"""``explain_choice``: the choice against the best other candidate, its value difference
split into reasons for and against, and why a better runner-up was passed over."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from makegood.explain import explain_choice
from makegood.modeling.attribution import ContrastExplainer
from makegood.modeling.predict import score_rows


@pytest.fixture(scope="module")
def scored(trained):
    bundle = trained["model"].bundle
    df = trained["history"].head(8)
    out = []
    for rec in df.to_dict("records"):
        rec["opened_at"] = pd.Timestamp(rec["opened_at"]).to_pydatetime()
        for col in ("emotion", "digital_skill"):
            rec[col] = rec[col] if isinstance(rec[col], str) else None
        X, values = bundle.pipeline.transform_one(rec)
        s = score_rows(
            bundle, X, complaint_ids=np.array([rec["complaint_id"]], dtype=object),
            issue_type=np.array([rec["issue_type"]], dtype=object),
            severity=np.array([rec["severity"]]),
            disputed_amount=np.array([float(rec["disputed_amount"])]),
            lifetime_value=np.array([float(rec["lifetime_value"])]),
        )  # fmt: skip
        out.append((s, values))
    labels = {r.id: r.label for r in bundle.catalog.resolutions}
    return bundle, ContrastExplainer(bundle.engine, bundle.action_index), labels, out


def _explain(scored, s, values, r, **kw):
    _, explainer, labels, _ = scored
    options = {"fits_budget": np.ones(len(s.action_ids), bool), "shadow_price": 0.0, **kw}
    return explain_choice(s, values, r, explainer=explainer, labels=labels, currency="USD",
                          said=[], **options)  # fmt: skip


def test_the_best_choice_is_compared_with_the_next_best(scored):
    explained = 0
    for s, values in scored[3]:
        nv = np.where(s.eligible[0], s.net_value[0], -np.inf)
        order = np.argsort(-nv, kind="stable")
        if np.isfinite(nv).sum() < 2:
            continue
        r, u = int(order[0]), int(order[1])
        e = _explain(scored, s, values, r)
        assert (e.recommended, e.runner_up) == (s.action_ids[r], s.action_ids[u])
        assert e.value_difference == pytest.approx(nv[r] - nv[u], abs=0.006)
        assert all(x.amount > 0 for x in e.reasons) and len(e.reasons) <= 5
        assert all(x.amount < 0 for x in e.against) and len(e.against) <= 3
        assert e.summary.startswith(f"Offer {scored[2][e.recommended]} rather than")
        explained += 1
    assert explained


def test_a_runner_up_passed_over_is_explained_first(scored):
    s, values = next((s, v) for s, v in scored[3] if s.eligible[0].sum() >= 2)
    nv = np.where(s.eligible[0], s.net_value[0], -np.inf)
    best, second = (int(k) for k in np.argsort(-nv, kind="stable")[:2])
    # the second best chosen: the best does not fit, or the budget's price made it dear
    fits = np.ones(len(s.action_ids), bool)
    fits[best] = False
    e = _explain(scored, s, values, second, fits_budget=fits)
    assert e.runner_up == s.action_ids[best] and e.reasons[0].group == "budget"
    e = _explain(scored, s, values, second)
    assert e.reasons[0].group in ("exploration", "pacing")
