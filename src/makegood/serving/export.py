"""Served decisions with their outcomes, written as contract history."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from makegood.contract.files import HISTORY_COLUMNS, write_frame
from makegood.store.ledger import Ledger


def history_frame(ledger: Ledger) -> tuple[pd.DataFrame, int]:
    """The exportable decisions as a history frame (contract column order first) and
    how many decisions were left out (no final action or no churn outcome yet)."""
    rows, skipped = [], 0
    for item in ledger.iter_decisions_with_outcomes():
        if item.exportable:
            rows.append(item.history_row())
        else:
            skipped += 1
    frame = pd.DataFrame(rows)
    for col in HISTORY_COLUMNS:
        if col not in frame:
            frame[col] = pd.Series(dtype=object)
    extra = [c for c in frame.columns if c not in HISTORY_COLUMNS]
    return frame[[*HISTORY_COLUMNS, *extra]], skipped


def export_history(url: str, output: str | Path, *, schema: str | None = None) -> tuple[int, int]:
    """Write the history file atomically; returns (rows written, decisions skipped)."""
    with Ledger(url, schema=schema) as ledger:
        frame, skipped = history_frame(ledger)
    write_frame(frame, output)
    return len(frame), skipped
