"""Models fitted once from shipped data and kept on disk between processes.

A fit that takes seconds (the intent detector, the emotion model) is stored under
``$MAKEGOOD_CACHE_DIR`` (default ``~/.cache/makegood``) by a key of everything it was fit
from, so a later process loads it in milliseconds and any change to the data, the code's
signature or the libraries fits it afresh.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

__all__ = ["cache_path", "load_or_fit"]

T = TypeVar("T")


def cache_path(name: str, fmt: str, *parts: str) -> Path:
    """``<cache dir>/<name>-<key>.joblib``: ``key`` hashes the format ``fmt`` (bump it when
    the stored object's code changes), the scikit-learn and numpy versions and ``parts``
    (the training data's text, signatures of the features)."""
    import sklearn

    key = hashlib.sha256(
        "|".join((fmt, sklearn.__version__, np.__version__, *parts)).encode("utf-8")
    ).hexdigest()[:16]
    root = os.environ.get("MAKEGOOD_CACHE_DIR") or Path.home() / ".cache" / "makegood"
    return Path(root) / f"{name}-{key}.joblib"


def load_or_fit(path: Path, kind: type[T], fit: Callable[[], T]) -> T:
    """The ``kind`` object stored at ``path``, or ``fit()``'s, then stored there.

    A cache that cannot be read (missing, partial, from another version, not a ``kind``)
    or written is ignored: the object is then fitted here. Writes go through a temporary
    file and an atomic rename, so concurrent processes never read half a file.
    """
    import joblib

    try:
        obj = joblib.load(path)
        if isinstance(obj, kind):
            return obj
    except Exception:  # missing, partial or from another version: fit again
        pass
    obj = fit()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        joblib.dump(obj, tmp)
        os.replace(tmp, path)
    except OSError:
        pass
    return obj
