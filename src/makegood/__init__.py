"""makegood: next-best complaint resolution under a compensation budget.

The notebook-friendly API (imports are lazy, so ``import makegood`` is quick)::

    history = makegood.load_history(path)
    model = makegood.train(history, makegood.load_catalog(path), n_estimators=200)
    recs = model.recommend(makegood.load_complaints(path), budget=20_000)
"""

from __future__ import annotations

from makegood.api import (
    TrainedModel,
    load_catalog,
    load_complaints,
    load_history,
    load_model,
    train,
)
from makegood.version import __version__ as __version__  # re-exported: makegood.__version__

__all__ = [
    "TrainedModel",
    "load_catalog",
    "load_complaints",
    "load_history",
    "load_model",
    "train",
]
