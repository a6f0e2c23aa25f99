"""schemathesis over the app: every answer matches the OpenAPI document, with ALL checks.

The app runs in process (ASGI) on the session's small trained bundle, with an admin key
(admin may call every route) and a budget for this month. Examples are bounded and
deterministic (a fixed seed, a few examples per operation and phase), so this stays a
test, not a fuzzing campaign.

One check is narrowed, per operation and with the reason:

* ``positive_data_acceptance`` expects a 2xx (or 401/403/404/409) for schema-valid
  data. Some rules depend on server state that no static schema can state, and those
  answers are a 422 naming the field: a complaint of a customer the store does not know
  must carry the profile fields; an override must name a resolution of the *loaded*
  model's catalog (a reload may change it); a budget period other than ``YYYY-MM``
  needs explicit bounds, and an amount must not fall below what is already spent; the
  report's complaint rows are checked by the data contract (CONTRACT.md), as files are;
  a queued contact is a complaint too, a queue entry's override is a decision's, and a
  callback slot must not lie in the past (the schema cannot say "after now").
  For those operations 422 is added to the expected statuses, nothing else.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict

import pytest
import schemathesis
from apihelpers import KEYS, period_now

from makegood.serving.app import create_app
from makegood.serving.budget import set_budget

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("openapi")]

ADMIN_KEY = next(k for k, role in KEYS.items() if role == "admin")
MAX_EXAMPLES = 12
# Schema-valid requests that server state can still refuse with 422 (see the docstring).
STATEFUL_422 = [
    ("/v1/recommendations", "POST"),
    ("/v1/decisions/{decision_id}", "POST"),
    ("/v1/budget", "PUT"),
    ("/v1/budget", "POST"),
    ("/v1/reports/budget", "GET"),
    ("/v1/reports/budget", "POST"),
    ("/v1/contacts", "POST"),
    ("/v1/queue/{entry_id}/decision", "POST"),
    ("/v1/queue/{entry_id}/callback", "POST"),
]
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "422"]
# schemathesis' default rejections, plus 413 (BodyLimit answers a body over max_body_bytes)
REJECTED = [
    "400",
    "401",
    "403",
    "404",
    "405",
    "406",
    "409",
    "413",
    "415",
    "422",
    "428",
    "429",
    "5xx",
]


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": 20261201,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "auth": {"openapi": {"APIKeyHeader": {"api_key": ADMIN_KEY}}},
            # a body over the server's size limit is refused before validation: 413
            "checks": {"negative_data_rejection": {"expected-statuses": REJECTED}},
            "operations": [
                {
                    "include-path": path,
                    "include-method": method,
                    "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
                }
                for path, method in STATEFUL_422
            ],
        }
    )


@pytest.fixture(scope="module")
def api_schema(settings_module):
    from schemathesis.python import asgi

    app = create_app(settings_module)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config())
    set_budget(app.state.service, period_now(), 1_000_000)  # the lifespan has started
    yield schema
    asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def settings_module(trained, tmp_path_factory):
    from makegood.serving.settings import Settings

    db = tmp_path_factory.mktemp("openapi") / "ledger.db"
    return Settings(
        database_url=f"sqlite:///{db}",
        models_dir=trained["models_dir"],
        api_keys=",".join(f"{k}:{r}" for k, r in KEYS.items()),
        reload_poll_seconds=0,
    )


def run_schemathesis(schema) -> dict:
    """Every phase of ``schemathesis run`` (examples, coverage, fuzzing, stateful) through
    its engine; the cases sent, the checks made and every failure, with a curl command."""
    from schemathesis.engine import events, from_schema

    cases, checks, failures, errors = 0, Counter(), [], []
    statuses: dict[str, Counter] = defaultdict(Counter)
    phases: dict[str, str] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, events.PhaseFinished):
            phases[event.phase.name.value] = event.status.value
        elif isinstance(event, events.ScenarioFinished):
            cases += len(event.recorder.cases)
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    statuses[event.label or "?"][interaction.response.status_code] += 1
            for nodes in event.recorder.checks.values():
                for node in nodes:
                    checks[node.name] += 1
                    if node.failure_info is not None:
                        f = node.failure_info.failure
                        failures.append(
                            f"{event.label} [{node.name}] {f.title}: {f.message}\n"
                            f"    {node.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    return {
        "cases": cases,
        "checks": checks,
        "failures": failures,
        "errors": errors,
        "statuses": statuses,
        "phases": phases,
    }


def test_every_answer_matches_the_openapi_document(api_schema):
    t0 = time.perf_counter()
    result = run_schemathesis(api_schema)
    seconds = time.perf_counter() - t0
    print(
        f"schemathesis: {result['cases']} cases, {sum(result['checks'].values())} checks "
        f"({dict(sorted(result['checks'].items()))}) in {seconds:.1f}s; "
        f"phases {result['phases']}"
    )
    for label, counts in sorted(result["statuses"].items()):
        print(f"  {label}: {dict(sorted(counts.items()))}")
    assert not result["errors"], "\n".join(result["errors"])
    unique = sorted(set(result["failures"]))
    assert not unique, f"{len(unique)} contract mismatch(es):\n" + "\n".join(unique[:30])
    assert result["cases"] >= 100  # the run is real: every operation got requests
    served = result["statuses"]  # and the main routes answered real work, not only errors
    for label in ("POST /v1/recommendations", "GET /v1/model", "GET /v1/budget"):
        assert any(200 <= code < 300 for code in served[label]), (label, served[label])
    assert {"status_code_conformance", "response_schema_conformance"} <= set(result["checks"])


def test_the_harness_finds_what_last_round_found():
    """The same run on a tiny app with last round's mismatches fails, naming each: a
    naive timestamp documented as date-time, an enum value the schema does not list,
    an undocumented 404."""
    from datetime import datetime
    from typing import Literal

    from fastapi import FastAPI, HTTPException
    from pydantic import BaseModel

    class When(BaseModel):
        at: datetime

    class Mood(BaseModel):
        mood: Literal["calm", "angry"]

    bad = FastAPI()

    @bad.get("/when", response_model=None, responses={200: {"model": When}})
    def when() -> dict:
        return {"at": "2026-11-30T14:05:00"}

    @bad.get("/mood", response_model=None, responses={200: {"model": Mood}})
    def mood() -> dict:
        return {"mood": "sleepy"}

    @bad.get("/thing/{n}")
    def thing(n: int) -> dict:
        raise HTTPException(404, "no such thing")

    config = schemathesis.Config.from_dict(
        {"seed": 1, "generation": {"max-examples": 5, "deterministic": True}}
    )
    result = run_schemathesis(schemathesis.openapi.from_asgi("/openapi.json", bad, config=config))
    found = "\n".join(result["failures"])
    assert '"2026-11-30T14:05:00" is not a "date-time"' in found
    assert '"sleepy" is not one of' in found
    assert "GET /thing/{n} [status_code_conformance] Undocumented status code" in found
