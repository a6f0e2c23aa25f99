"""A copy of the session's trained bundle whose catalog carries the issue's guardrails
(imported by name: tests/ is on sys.path through its conftest)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

FLOOR = {
    "id": "owed_is_refunded",
    "when": {"issue_type": ["billing_error", "fee_dispute"]},
    "compensation_at_least": "disputed_amount",
}
CAP = {"amount": 150.0, "days": 90}
GUARDRAILS = [FLOOR, {"id": "per_customer_cap", "max_compensation_per_customer": CAP}]


def guarded_models_dir(models_dir: Path, out: Path) -> Path:
    """``models_dir`` copied to ``out/models`` with the guardrails in its latest bundle."""
    target = out / "models"
    shutil.copytree(models_dir, target)
    version = (target / "LATEST").read_text().strip()
    path = target / version / "bundle.json"
    meta = json.loads(path.read_text())
    meta["catalog"] = {**meta["catalog"], "guardrails": GUARDRAILS}
    path.write_text(json.dumps(meta, indent=2) + "\n")
    return target
