"""The import contracts of pyproject.toml hold (``lint-imports``; ``make test`` runs it
first too): the core never imports serving, reporting or the CLIs; modeling neither the
CLI nor the simulator; policy no LightGBM, MLflow or FastAPI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    res = subprocess.run(
        [str(lint_imports), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout and "5 kept" in res.stdout, res.stdout
