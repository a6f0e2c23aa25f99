"""The company's own columns the tests declare (``trained_extras`` in conftest.py)."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

#: The declared extra columns of ``trained_extras`` (name -> kind).
EXTRA_KINDS = {"region": "category", "plan_price": "number", "agent_note": "text"}


def with_extras(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the company's own columns of :data:`EXTRA_KINDS`: a region per
    customer (a few big ones, many rare ones, some missing), a plan price (some missing)
    and a short note, all derived from the ids so a row's values never change."""
    h = np.array([zlib.crc32(str(c).encode()) for c in frame["customer_id"]])
    g = np.array([zlib.crc32(str(c).encode()) for c in frame["complaint_id"]])
    region = np.where(
        h % 10 < 7, "north", np.where(h % 10 < 9, "south", "r" + (h % 97).astype(str))
    )
    region = np.where(g % 23 == 0, "", region)
    price = np.where(g % 11 == 0, "", ((h % 5) * 10.0 + 9.99).round(2).astype(str))
    notes = np.array(["called twice about the bill", "asked for a supervisor", "", "late fee"])
    return frame.assign(region=region, plan_price=price, agent_note=notes[g % 4])
