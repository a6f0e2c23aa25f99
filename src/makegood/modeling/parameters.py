"""Training parameters checked at the edge: :func:`engine_params`, :func:`check_params`
(scikit-learn's rule: name, rule, value received) and :func:`check_protected`."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from makegood.contract.features import check_declared
from makegood.errors import InvalidParameterError
from makegood.features.pipeline import PROTECTED_DERIVED, protected_inputs
from makegood.modeling.engine import EngineParams

__all__ = ["check_params", "check_protected", "engine_params"]

# (name, rule as said in the error, test): integers are checked as integers first.
_INT_RULES: tuple[tuple[str, str, int], ...] = (
    ("n_estimators", ">= 1", 1),
    ("num_leaves", ">= 2", 2),
    ("min_child_samples", ">= 1", 1),
    ("propensity_estimators", ">= 1", 1),
    ("n_folds", ">= 2 (or 0: auto)", 2),
    ("num_threads", ">= 0", 0),
    ("random_state", ">= 0", 0),
)
_FLAGS = (
    "use_text",
    "use_memory",
    "use_intents",
    "mediated",
    "pooled",
    "dr_correction",
    "select",
    "money_input",
    "cut_rounds",
)


def engine_params(**values: object) -> EngineParams:
    """:class:`EngineParams` from keyword values, checked by :func:`check_params`.

    Raises:
        InvalidParameterError: for an unknown name or a value that breaks its rule.
    """
    names = [f.name for f in dataclasses.fields(EngineParams)]
    for name in values:
        if name not in names:
            raise InvalidParameterError(name, f"one of the training parameters {names}", name)
    return check_params(EngineParams(**values))  # type: ignore[arg-type]


def check_params(params: EngineParams, holdout_fraction: float = 0.2) -> EngineParams:
    """``params`` (and ``holdout_fraction``) if every value keeps its rule.

    The rules, in scikit-learn's words: ``n_estimators``, ``min_child_samples`` and
    ``propensity_estimators`` must be >= 1, ``num_leaves`` and ``n_folds`` >= 2 (cross-
    fitting needs two folds; ``n_folds`` 0 picks them by the history's size),
    ``num_threads`` and ``random_state`` >= 0 (integers);
    ``learning_rate`` > 0, ``propensity_clip`` in (0, 0.5) and ``holdout_fraction`` in
    [0, 1) (finite numbers); the ``use_*``/``mediated``/``dr_correction`` flags booleans.

    >>> check_params(EngineParams(n_folds=1))
    Traceback (most recent call last):
    ...
    makegood.errors.InvalidParameterError: n_folds must be >= 2 (or 0: auto). Got 1 instead.

    Raises:
        InvalidParameterError: naming the first parameter that breaks its rule.
    """
    for name, rule, low in _INT_RULES:
        value = getattr(params, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise InvalidParameterError(name, f"an integer {rule}", value)
        if value < low and not (name == "n_folds" and value == 0):
            raise InvalidParameterError(name, rule, value)
    _check_number("learning_rate", params.learning_rate, "> 0", lambda x: x > 0)
    _check_number("propensity_clip", params.propensity_clip, "in (0, 0.5)", lambda x: 0 < x < 0.5)
    _check_number("holdout_fraction", holdout_fraction, "in [0, 1)", lambda x: 0 <= x < 1)
    for name in _FLAGS:
        if not isinstance(getattr(params, name), bool):
            raise InvalidParameterError(name, "True or False", getattr(params, name))
    protected = params.protected
    if isinstance(protected, str) or not all(isinstance(c, str) and c for c in protected):
        raise InvalidParameterError("protected", "a list of column names", protected)
    features = params.features
    if isinstance(features, Mapping):
        features = tuple(features.items())
    if isinstance(features, str) or not all(
        isinstance(pair, tuple | list) and len(pair) == 2 for pair in features
    ):
        raise InvalidParameterError("features", "a list of (column, kind) pairs", features)
    declared = check_declared(dict(features))
    return dataclasses.replace(
        params, protected=tuple(dict.fromkeys(protected)), features=tuple(declared.items())
    )


def check_protected(
    history: pd.DataFrame, protected: Sequence[str], features: Sequence[str] = ()
) -> None:
    """Refuse protected columns that name nothing, or that the user also declared as
    model inputs (``features``, e.g. a mapping's ``features:``).

    Raises:
        InvalidParameterError: naming the column and the rule.
    """
    known = set(history.columns) | set(PROTECTED_DERIVED)
    for col in protected:
        if col not in known:
            raise InvalidParameterError(
                "protected", f"columns of the history ({', '.join(history.columns)})", col
            )
    clash = [c for c in features if c in protected_inputs(protected)]
    if clash:
        raise InvalidParameterError(
            "protected",
            "columns the models never read; they are declared as model inputs (features)",
            clash[0],
        )


def _check_number(name: str, value: object, rule: str, ok: Callable[[float], bool]) -> None:
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (real and math.isfinite(float(value)) and ok(float(value))):  # type: ignore[arg-type]
        raise InvalidParameterError(name, f"a finite number {rule}", value)
