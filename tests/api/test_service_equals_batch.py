"""The service's one-complaint path equals the batch path, candidate by candidate.

For generated complaints (known and new customers, times before, inside and after the
history, unseen channels, issue types and segments, missing emotions, odd and non-ASCII
texts) the service's answer path (request schema, ``customers.complaint_fields``,
``Scorer.score``) gives exactly the model row and the per-candidate predictions of
``score`` on the same complaints read as a contract file, for a bundle trained with
surveys, for one trained without surveys and with a rarely given resolution, and for one
trained with the company's own declared columns (a pooled category with rare, unseen and
missing levels, a number, a text), sent as the request's optional ``features`` and read by
the batch as extra columns, and for one whose models read each candidate's compensation.
"""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from makegood.contract.files import validate_complaints
from makegood.modeling.bundle import load_bundle
from makegood.modeling.predict import score
from makegood.serving.customers import complaint_fields
from makegood.serving.schemas import ComplaintIn
from makegood.serving.scorer import CANDIDATE_FIELDS, Scorer
from makegood.serving.service import Service
from makegood.serving.settings import Settings

RARE_RESOLUTION = "credit_75"  # as tests/conftest.py trains it

FIELDS = sorted(CANDIDATE_FIELDS)


@pytest.fixture(scope="module", params=["surveys", "no_surveys_rare_resolution", "extras", "money"])
def served(request, trained, trained_no_surveys, trained_extras, trained_money) -> dict:
    models = {
        "surveys": trained,
        "no_surveys_rare_resolution": trained_no_surveys,
        "extras": trained_extras,
        "money": trained_money,
    }[request.param]
    bundle = load_bundle(models["models_dir"])
    history = models["history"]
    return {
        "kind": request.param,
        "bundle": bundle,
        "scorer": Scorer(bundle),
        "service": Service(Settings(api_keys="k:agent"), ledger=None),
        "customers": sorted(set(history["customer_id"]))[:200],
        "texts": [t for t in history["complaint_text"].head(300) if t],
        "start": history["opened_at"].min().to_pydatetime(),
        "end": history["opened_at"].max().to_pydatetime(),
    }


LABELS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=60)


@st.composite
def complaints(draw, served: dict) -> list[dict]:
    """1-5 request bodies (JSON shapes), unique complaint ids."""
    span = (served["end"] - served["start"]).total_seconds()
    out = []
    for i in range(draw(st.integers(1, 5))):
        known = draw(st.booleans())
        customer = (
            draw(st.sampled_from(served["customers"]))
            if known
            else f"new-{draw(st.integers(0, 9))}"
        )
        offset = draw(st.floats(-0.2, 1.3)) * span
        opened = served["start"] + timedelta(seconds=offset)
        zone = draw(st.sampled_from([UTC, timezone(timedelta(hours=2)), None]))
        opened_at = opened if zone is None else opened.replace(tzinfo=UTC).astimezone(zone)
        text = draw(
            st.one_of(
                st.sampled_from(served["texts"]),
                LABELS,
                st.just(""),
                st.sampled_from(served["texts"]).map(lambda t: t.upper() + " Très déçu!!"),
            )
        )
        out.append(
            {
                "complaint_id": f"c{i}",
                "customer_id": customer,
                "opened_at": opened_at.isoformat(),
                "channel": draw(st.sampled_from(["phone", "chat", "email", "fax machine"])),
                "issue_type": draw(
                    st.sampled_from(["billing_error", "service_outage", "fee_dispute", "ufo"])
                ),
                "severity": draw(st.integers(1, 5)),
                "emotion": draw(st.sampled_from([None, "calm", "angry", "confused"])),
                "complaint_text": text,
                "disputed_amount": draw(st.sampled_from([0.0, 12.5, 80.0, 1234.56])),
                "tenure_months": draw(st.integers(0, 240)),
                "annual_value": draw(st.floats(0, 5000, allow_nan=False)),
                "lifetime_value": draw(st.floats(0, 20000, allow_nan=False)),
                "segment": draw(st.sampled_from(["consumer", "premium", "martian"])),
                "prior_complaints_12m": draw(st.integers(0, 12)),
                "digital_skill": draw(st.sampled_from([None, "low", "high"])),
            }
        )
        if served["kind"] == "extras" and draw(st.booleans()):
            out[-1]["features"] = draw(extras())
    return out


@st.composite
def extras(draw) -> dict:
    """Some of the declared columns (a left-out one is missing): kept, pooled, unseen and
    empty regions, prices as numbers or null, notes."""
    values = {
        "region": st.sampled_from(["north", "south", "r5", "atlantis", "", " North", None]),
        "plan_price": st.sampled_from([None, 9.99, 19.99, 0, 1234.5]),
        "agent_note": st.one_of(st.none(), LABELS),
    }
    names = draw(st.lists(st.sampled_from(sorted(values)), unique=True))
    return {name: draw(values[name]) for name in names}


def batch_frame(bodies: list[dict]) -> pd.DataFrame:
    """The request bodies as a contract file's rows: declared features as extra columns."""
    rows = [{k: v for k, v in b.items() if k != "features"} | b.get("features", {}) for b in bodies]
    return validate_complaints(pd.DataFrame(rows))


@given(data=st.data())
def test_one_complaint_path_equals_the_batch_path(served, data):
    bodies = data.draw(complaints(served))
    frame = batch_frame(bodies)
    batch = score(served["bundle"], frame)
    scorer, service = served["scorer"], served["service"]
    for i, body in enumerate(bodies):
        record = complaint_fields(
            service, scorer, ComplaintIn.model_validate(body).model_dump(exclude_unset=True)
        )
        one = scorer.score(record)
        names = served["bundle"].engine.spec.names
        differ = [
            (name, float(a), float(b))
            for name, a, b in zip(names, one.X[0], batch.X[i], strict=True)
            if not (a == b or (np.isnan(a) and np.isnan(b)))
        ]
        assert not differ, (body, differ)
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(one, name), getattr(batch, name)[i], name)


def test_the_bundles_are_what_the_property_needs(served):
    engine = served["bundle"].engine
    if served["kind"] == "surveys":
        assert engine.has_satisfaction and engine.supported_actions().all()
    elif served["kind"] == "extras":
        assert engine.spec.extras is not None
        assert set(engine.spec.extras.kinds) == {"region", "plan_price", "agent_note"}
    elif served["kind"] == "money":
        assert engine.params.money_input and engine.mediated
        assert engine.sat_models[0].num_feature() == len(engine.spec.names) + 2
    else:
        k = engine.action_ids.index(RARE_RESOLUTION)
        assert not engine.has_satisfaction
        assert 0 < engine.action_counts[k] < 20 and not engine.supported_actions()[k]
