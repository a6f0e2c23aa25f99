"""Where a model came from: the hash of its training data and the code's git commit.

Training records both in the bundle's meta and on the MLflow run; evaluation compares a
history's hash with the bundle's to tell an in-sample evaluation from an honest one.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pandas as pd

__all__ = ["data_hash", "git_commit"]


def data_hash(df: pd.DataFrame) -> str:
    """A stable sha256 of a frame's contents (order and values)."""
    h = hashlib.sha256()
    h.update(",".join(map(str, df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df.astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()


def git_commit() -> str:
    """The current git commit of the code, or "unknown" outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"
