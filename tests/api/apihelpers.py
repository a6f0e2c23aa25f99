"""Constants and helpers shared by the API tests (imported by name: tests/api is on sys.path)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(
    url: str,
    schema: str | None,
    models_dir: Path,
    log_path: Path,
    *,
    workers: int = 2,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """``makegood serve --workers N`` on a free port until the block ends; yields its
    base URL once /health answers ok."""
    port = free_port()
    environ = {
        **os.environ,
        "MAKEGOOD_API_KEYS": ",".join(f"{k}:{r}" for k, r in KEYS.items()),
        "MAKEGOOD_RELOAD_POLL_SECONDS": "0",
        **(env or {}),
    }
    cmd = [
        str(Path(sys.executable).parent / "makegood"),
        "serve",
        "--workers", str(workers),
        "--port", str(port),
        "--database-url", url,
        "--models-dir", str(models_dir),
        "--log-level", "warning",
    ]  # fmt: skip
    if schema:
        cmd += ["--database-schema", schema]
    log = log_path.open("w")
    proc = subprocess.Popen(cmd, env=environ, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # two workers importing on a busy machine
    try:
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).json().get("status") == "ok":
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text()[-3000:])
            time.sleep(0.3)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
