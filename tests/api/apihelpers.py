"""Constants and helpers shared by the API tests (imported by name: tests/api is on sys.path)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

KEYS = {"agent-key": "agent", "finance-key": "finance", "admin-key": "admin"}
AGENT = {"X-API-Key": "agent-key"}
FINANCE = {"X-API-Key": "finance-key"}
ADMIN = {"X-API-Key": "admin-key"}
PG_URL = os.environ.get("MAKEGOOD_TEST_DATABASE_URL")


def period_now() -> str:
    now = datetime.now(UTC)
    return f"{now.year:04d}-{now.month:02d}"


def unique(body: dict) -> dict:
    """The same complaint under a fresh complaint_id."""
    return {**body, "complaint_id": f"{body['complaint_id']}-{uuid.uuid4().hex[:8]}"}
