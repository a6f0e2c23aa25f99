"""A bundle trained without survey answers is served, with the same candidates as batch."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from apihelpers import ADMIN, AGENT, period_now

from makegood.contract.files import validate_complaints
from makegood.modeling.bundle import load_bundle
from makegood.modeling.predict import score

RARE_RESOLUTION = "credit_75"  # given too rarely in ``trained_no_surveys``' history


def test_a_bundle_without_surveys_is_served_and_says_so(
    make_client, trained_no_surveys, complaints
):
    client = make_client(models_dir=trained_no_surveys["models_dir"])
    info = client.get("/v1/model", headers=ADMIN).json()
    assert info["has_satisfaction"] is False
    r = client.put("/v1/budget", json={"period": period_now(), "amount": 1e6}, headers=ADMIN)
    assert r.status_code == 200, r.text
    bundle = load_bundle(trained_no_surveys["models_dir"])
    batch = score(bundle, validate_complaints(pd.DataFrame(complaints[:25])))
    ids = np.asarray(batch.action_ids)
    for i, body in enumerate(complaints[:25]):
        r = client.post("/v1/recommendations", json={"complaint": body}, headers=AGENT)
        assert r.status_code == 200, r.text
        out = json.loads(r.text)  # strict: no NaN in the body
        assert out["note"] and "satisfaction" in out["note"]
        cands = out["candidates"]
        assert all(c["expected_satisfaction"] is None for c in cands)
        assert {c["resolution"] for c in cands} == set(ids[batch.eligible[i]])
        assert RARE_RESOLUTION not in {c["resolution"] for c in cands}
        e = out["explanation"]
        assert e["summary"].startswith("Offer ")
        assert e["reasons"] or e["runner_up"] is None
        assert "satisfied by" not in out["handover"]["customer_wants"]
        assert out["budget"]["reserved"] == out["recommended"]["compensation"]


def test_a_bundle_with_surveys_answers_without_a_note(client, complaints):
    r = client.post("/v1/recommendations", json={"complaint": complaints[3]}, headers=AGENT)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["note"] is None
    assert all(isinstance(c["expected_satisfaction"], float) for c in out["candidates"])
