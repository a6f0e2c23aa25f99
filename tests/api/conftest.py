"""Fixtures of the HTTP API tests: an app on the session's trained bundle, per-test ledger."""

from __future__ import annotations

import pytest
from apihelpers import KEYS
from fastapi.testclient import TestClient

from makegood.serving.app import create_app
from makegood.serving.settings import Settings


@pytest.fixture
def settings(trained, tmp_path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        models_dir=trained["models_dir"],
        api_keys=",".join(f"{k}:{r}" for k, r in KEYS.items()),
        reload_poll_seconds=0,
    )


@pytest.fixture
def make_client(settings):
    """Start an app (optionally with other settings) in a TestClient ``with`` block."""
    clients = []

    def make(**changes) -> TestClient:
        client = TestClient(create_app(settings.model_copy(update=changes)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


@pytest.fixture(scope="session")
def complaints(small_world) -> list[dict]:
    """New complaints of the small world as JSON request bodies."""
    from makegood.contract.files import read_complaints

    df = read_complaints(small_world["complaints"])
    out = []
    for rec in df.head(200).to_dict("records"):
        body = {k: v for k, v in rec.items() if not (isinstance(v, float) and v != v)}
        body["opened_at"] = rec["opened_at"].isoformat()
        out.append(body)
    return out
