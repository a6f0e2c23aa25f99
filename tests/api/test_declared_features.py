"""The service reads the company's declared columns as the request's optional ``features``:
the answer moves with them as the batch's does, and a name the model does not read, or a
number that is not one, is refused with 422 naming the field."""

from __future__ import annotations

import pytest
from apihelpers import ADMIN, AGENT, period_now


@pytest.fixture
def served(make_client, trained_extras):
    client = make_client(models_dir=trained_extras["models_dir"])
    r = client.put("/v1/budget", json={"period": period_now(), "amount": 1e6}, headers=ADMIN)
    assert r.status_code == 200, r.text
    return client


def post(client, body: dict):
    return client.post("/v1/recommendations", json={"complaint": body}, headers=AGENT)


def test_features_are_optional_and_read(served, complaints):
    body = dict(complaints[0], complaint_id="feat-1")
    assert post(served, body).status_code == 200
    with_features = dict(
        body, complaint_id="feat-2", features={"region": "north", "plan_price": 19.99}
    )
    r = post(served, with_features)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("features", "field"),
    [
        ({"colour": "red"}, "complaint.features.colour"),
        ({"plan_price": "cheap"}, "complaint.features.plan_price"),
    ],
)
def test_bad_features_get_422_naming_the_field(served, complaints, features, field):
    r = post(served, dict(complaints[1], complaint_id="feat-bad", features=features))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


def test_a_model_without_declared_columns_refuses_features(client, complaints):
    r = post(client, dict(complaints[2], complaint_id="feat-none", features={"region": "north"}))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "complaint.features.region"
    assert "reads: none" in r.json()["errors"][0]["message"]
