"""The served choice rule: which resolution one live complaint gets, and with what
probability (its logging propensity, stored with the decision for off-policy learning).

With ``lam`` the paced shadow price of the budget
(:func:`makegood.policy.pacing.pacing_shadow_price`), every candidate ``a`` is worth::

    policy_value(a) = net_value(a) - lam * compensation(a)

Only *allowed* candidates may be served (:func:`allowed_candidates`): the eligible ones
whose compensation fits what is left of the budget, else (nothing fits) the cheapest
eligible one, whose reservation the ledger then declines. Among the allowed, the best
``policy_value`` is served unless others are within ``epsilon`` (money) of it; then one
of those near-ties ``N`` is drawn with::

    P(a) = exp((policy_value(a) - v_best) / temperature) / sum_{b in N} exp(...)

so the logged decisions keep some overlap between resolutions for the next training.
Ties in value go to the cheaper candidate, then the lower index. Pure numpy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from makegood.errors import BudgetError

__all__ = ["allowed_candidates", "choice_probabilities", "choose_served"]


def allowed_candidates(
    eligible: ArrayLike, compensation: ArrayLike, available: float | int
) -> np.ndarray:
    """The candidates the served rule may choose from, as a boolean mask.

    ``fits = eligible & ((compensation <= available) | (compensation == 0))``; when no
    candidate fits, the eligible ones of the lowest compensation. Give ``compensation``
    and ``available`` in the same unit (exact integer cents avoid rounding).

    >>> allowed_candidates([True, True, False], [0, 500, 0], 100).tolist()
    [True, False, False]
    >>> allowed_candidates([False, True, True], [0, 500, 300], 100).tolist()
    [False, False, True]
    """
    elig = np.asarray(eligible, dtype=bool)
    comp = np.asarray(compensation)
    fits = elig & ((comp <= available) | (comp == 0))
    if fits.any() or not elig.any():
        return fits
    return elig & (comp == comp[elig].min())


def _near_ties(
    policy_value: np.ndarray, compensation: np.ndarray, allowed: np.ndarray, epsilon: float
) -> np.ndarray:
    idx = np.flatnonzero(allowed)
    if not len(idx):
        raise BudgetError("allowed must mark at least one candidate. Got none instead.")
    order = idx[np.lexsort((idx, compensation[idx], -policy_value[idx]))]
    if epsilon <= 0:
        return order[:1]
    return order[policy_value[order[0]] - policy_value[order] <= epsilon]


def choice_probabilities(
    policy_value: ArrayLike,
    compensation: ArrayLike,
    allowed: ArrayLike,
    *,
    epsilon: float,
    temperature: float,
) -> np.ndarray:
    """Probability of serving each candidate under the rule above; sums to 1.

    Zero outside the near-ties of the best allowed candidate (so zero wherever not
    allowed); 1 on the best when ``epsilon <= 0`` or it has no near-tie.

    >>> choice_probabilities([10.0, 9.5, 3.0], [0, 0, 0], [True] * 3,
    ...                      epsilon=1.0, temperature=1.0).round(3).tolist()
    [0.622, 0.378, 0.0]

    Raises:
        BudgetError: if no candidate is allowed.
    """
    v = np.asarray(policy_value, dtype=float)
    near = _near_ties(v, np.asarray(compensation, dtype=float), np.asarray(allowed, bool), epsilon)
    p = np.zeros(len(v))
    if len(near) == 1:
        p[near[0]] = 1.0
        return p
    w = np.exp((v[near] - v[near[0]]) / temperature)
    p[near] = w / w.sum()
    return p


def choose_served(
    policy_value: ArrayLike,
    compensation: ArrayLike,
    allowed: ArrayLike,
    *,
    epsilon: float,
    temperature: float,
    rng: np.random.Generator,
) -> tuple[int, float]:
    """The served candidate's index and the probability it had of being chosen.

    Deterministic (probability 1) unless near-ties exist; then drawn with ``rng`` from
    :func:`choice_probabilities`.

    >>> choose_served([10.0, 9.5, 3.0], [0, 0, 0], [True] * 3,
    ...               epsilon=0.0, temperature=1.0, rng=np.random.default_rng(0))
    (0, 1.0)

    Raises:
        BudgetError: if no candidate is allowed.
    """
    p = choice_probabilities(
        policy_value, compensation, allowed, epsilon=epsilon, temperature=temperature
    )
    best = int(np.argmax(p))
    if p[best] == 1.0:
        return best, 1.0
    k = int(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right"))
    k = min(k, len(p) - 1)
    while p[k] == 0.0:  # float edge: the draw fell exactly on a boundary
        k -= 1
    return k, float(p[k])
