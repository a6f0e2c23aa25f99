"""Partial pooling of the resolutions' satisfaction effects: a ridge-pooled linear layer.

On a small history each resolution is given a few hundred times, so a tree model of
satisfaction sees little of how *this* resolution's effect varies with the customer.
:class:`PooledLinear` is the satisfaction model's linear part:

    sat(x, a) = c_a + z(x) . (b + d_a)

with ``z(x)`` the standardized model inputs (one-hot categories, missing-value flags),
``b`` the slopes every resolution shares and ``d_a`` resolution ``a``'s own departure
from them. The departures are ridge-penalized: with little evidence a resolution's slopes
are pulled towards the shared ones (partial pooling across resolutions), with much
evidence they are its own. They may also be held to a low rank: the resolutions' effects
then vary with the customer along a few shared directions (a customer who wants money
back gains from every resolution that pays, one in a hurry from every quick one), so each
resolution learns how much it moves along them rather than a slope per input. The
penalty and the rank are chosen by the cross-fitting folds' own validation error on the
answered surveys (:func:`fit_pooled`), never by the truth.

The boosted trees of satisfaction are then fitted on top (their ``init_score`` is this
layer's prediction), so they learn what is not linear. The layer is exact to explain:
the difference between two resolutions for one customer is
``c_r - c_u + sum_j z_j (d_rj - d_uj)``, split per input (:meth:`PooledLinear.contrast`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["PENALTIES", "RANKS", "PooledLinear", "fit_pooled", "predict_folds"]

#: Candidate penalties of the resolutions' own slopes (weights scaled to mean 1).
PENALTIES = (5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 2000.0)
#: Candidate ranks of the own slopes (0: unrestricted): how many directions the
#: resolutions' effects may vary along.
RANKS = (1, 2, 3, 4, 0)
SHARED_PENALTY = 10.0  # the shared slopes: a light ridge for collinear inputs
INTERCEPT_PENALTY = 1.0  # the resolutions' own intercepts
MAX_LEVELS = 30  # one-hot columns per categorical input
_CLIP = 5.0  # standardized values beyond this are clipped (heavy tails)
_CHUNK = 20_000  # rows per block when accumulating the normal equations
_PREDICT_CHUNK = 5_000  # rows per block when predicting


@dataclass
class PooledLinear:
    """The fitted linear layer of one fold (see the module docstring).

    ``numeric`` are the input columns used as numbers (standardized with ``mean`` and
    ``scale``; ``missing`` the ones with a missing-value flag), ``categorical`` the
    ``(column, n_levels)`` one-hot inputs, ``centre`` the design's training means
    (so each column's contribution is relative to an average customer);
    ``intercept`` is (K,) and ``coef`` (q, K): resolution ``a`` predicts
    ``intercept[a] + z . coef[:, a]``; ``penalty`` is the own slopes' ridge penalty.
    """

    numeric: list[int]
    mean: np.ndarray
    scale: np.ndarray
    missing: list[int]
    categorical: list[tuple[int, int]]
    centre: np.ndarray
    intercept: np.ndarray
    coef: np.ndarray
    penalty: float
    action_column: int  # the number of base inputs: the action code's column
    rank: int = 0  # of the own slopes (0: unrestricted)

    @property
    def n_actions(self) -> int:
        return len(self.intercept)

    # --- the design ----------------------------------------------------------------
    def design(self, X: np.ndarray) -> np.ndarray:
        """(n, q) standardized, centred inputs of base rows ``X`` (float64)."""
        return (
            _design(X, self.numeric, self.mean, self.scale, self.missing, self.categorical)
            - self.centre
        )

    def same_design(self, other: PooledLinear) -> bool:
        """True when ``other`` builds the same design rows (as :func:`fit_pooled`'s folds
        do), so one design serves both."""
        return (
            self.numeric == other.numeric
            and self.missing == other.missing
            and self.categorical == other.categorical
            and np.array_equal(self.mean, other.mean)
            and np.array_equal(self.scale, other.scale)
            and np.array_equal(self.centre, other.centre)
        )

    def source_columns(self) -> np.ndarray:
        """(q,) the model input each design column comes from."""
        cols = [*self.numeric, *self.missing]
        for c, n_levels in self.categorical:
            cols += [c] * n_levels
        return np.asarray(cols, dtype=int)

    # --- predictions ---------------------------------------------------------------
    def predict_all(self, X: np.ndarray) -> np.ndarray:
        """(n, K): every resolution for every base row (in blocks of rows, so a large
        batch never holds its whole design)."""
        return predict_folds([self], X)[0]

    def predict(self, xa: np.ndarray) -> np.ndarray:
        """(n,) for outcome-model rows ``[X, action code, ...]`` (the trees' input)."""
        xa = np.asarray(xa)
        action = xa[:, self.action_column].astype(int)
        z = self.design(xa[:, : self.action_column])
        return self.intercept[action] + np.einsum("ij,ji->i", z, self.coef[:, action])

    def contrast(self, x: np.ndarray, a: int, b: int) -> np.ndarray:
        """``sat(x, a) - sat(x, b)`` of one base row split per input: (p + 1,) with the
        inputs' shares first and the resolutions' own intercepts last (the action)."""
        z = self.design(np.asarray(x).reshape(1, -1))[0]
        per = z * (self.coef[:, a] - self.coef[:, b])
        out = np.zeros(self.action_column + 1)
        np.add.at(out, self.source_columns(), per)
        out[-1] = self.intercept[a] - self.intercept[b]
        return out

    # --- persistence ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "numeric": self.numeric,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "missing": self.missing,
            "categorical": [list(c) for c in self.categorical],
            "centre": self.centre.tolist(),
            "intercept": self.intercept.tolist(),
            "coef": self.coef.tolist(),
            "penalty": self.penalty,
            "action_column": self.action_column,
            "rank": self.rank,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PooledLinear:
        return cls(
            numeric=[int(v) for v in d["numeric"]],
            mean=np.asarray(d["mean"], dtype=float),
            scale=np.asarray(d["scale"], dtype=float),
            missing=[int(v) for v in d["missing"]],
            categorical=[(int(c), int(n)) for c, n in d["categorical"]],
            centre=np.asarray(d["centre"], dtype=float),
            intercept=np.asarray(d["intercept"], dtype=float),
            coef=np.asarray(d["coef"], dtype=float).reshape(len(d["centre"]), -1),
            penalty=float(d["penalty"]),
            action_column=int(d["action_column"]),
            rank=int(d.get("rank", 0)),
        )


def _design(
    X: np.ndarray,
    numeric: Sequence[int],
    mean: np.ndarray,
    scale: np.ndarray,
    missing: Sequence[int],
    categorical: Sequence[tuple[int, int]],
) -> np.ndarray:
    X = np.asarray(X)
    n, n_num, n_miss = len(X), len(numeric), len(missing)
    one_col = [c for c, m in categorical for _ in range(m)]
    one_level = [v for _, m in categorical for v in range(m)]
    out = np.empty((n, n_num + n_miss + len(one_col)))
    z = out[:, :n_num]
    np.subtract(X[:, numeric], mean, out=z)
    z /= scale
    np.nan_to_num(z, copy=False, nan=0.0)
    np.clip(z, -_CLIP, _CLIP, out=z)
    if n_miss:
        out[:, n_num : n_num + n_miss] = np.isnan(X[:, missing])
    if one_col:
        out[:, n_num + n_miss :] = X[:, one_col] == np.asarray(one_level, dtype=np.float64)
    return out


def fit_pooled(
    X: np.ndarray,
    action: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray,
    fold: np.ndarray,
    n_folds: int,
    *,
    categorical: Sequence[int],
    n_levels: Mapping[int, int],
    n_actions: int,
    penalties: Sequence[float] = PENALTIES,
    ranks: Sequence[int] = RANKS,
) -> tuple[list[PooledLinear], dict[str, Any]]:
    """One :class:`PooledLinear` per fold, each fitted on the other folds' rows.

    ``X`` are the base inputs of the answered rows, ``y`` their satisfaction, ``weight``
    their inverse response probability, ``fold`` their cross-fitting fold. The penalty of
    the resolutions' own slopes and their rank (the ridge solution's own-slope matrix cut
    by its singular value decomposition; 0: uncut) are the pair of ``penalties`` x
    ``ranks`` with the smallest weighted out-of-fold squared error over the folds (each
    fold's fit predicts its own rows); the normal equations are accumulated once per
    fold, so trying a pair costs a solve, not a pass over the data. Returns the fits and
    a diagnostic dict (``penalty``, ``rank``, ``cv_mse`` per "penalty/rank",
    ``n_columns``).
    """
    X = np.asarray(X)
    n, p = X.shape
    cats = [int(c) for c in categorical]
    numeric = [j for j in range(p) if j not in set(cats)]
    num = X[:, numeric].astype(np.float64)
    mean = np.nan_to_num(np.nanmean(num, axis=0)) if n else np.zeros(len(numeric))
    scale = np.nanstd(num, axis=0)
    scale = np.where(np.isfinite(scale) & (scale > 1e-12), scale, 1.0)
    missing = [numeric[j] for j in np.flatnonzero(np.isnan(num).any(axis=0))]
    levels = [(c, int(min(max(n_levels.get(c, 0), 0), MAX_LEVELS))) for c in cats]
    levels = [(c, m) for c, m in levels if m > 1]

    def design(rows: np.ndarray) -> np.ndarray:
        return _design(rows, numeric, mean, scale, missing, levels)

    q = len(numeric) + len(missing) + sum(m for _, m in levels)
    centre = np.zeros(q)
    for s in range(0, n, _CHUNK):
        centre += design(X[s : s + _CHUNK]).sum(axis=0)
    centre /= max(n, 1)
    K = n_actions
    Q = 1 + q + K + K * q  # intercept, shared slopes, own intercepts, own slopes
    w = weight / weight.mean()
    G = np.zeros((n_folds, Q, Q))
    g = np.zeros((n_folds, Q))
    yy = np.zeros(n_folds)
    for f in range(n_folds):
        rows = np.flatnonzero(fold == f)
        for s in range(0, len(rows), _CHUNK):
            r = rows[s : s + _CHUNK]
            D = _full_design(design(X[r]) - centre, action[r], K)
            Dw = D * w[r, None]
            G[f] += D.T @ Dw
            g[f] += Dw.T @ y[r]
            yy[f] += float((w[r] * y[r] ** 2).sum())
    G_all, g_all = G.sum(axis=0), g.sum(axis=0)
    cv: dict[tuple[float, int], float] = {}
    fits: dict[tuple[float, int], list[np.ndarray]] = {}
    for lam in penalties:
        pen = np.concatenate(
            [[0.0], np.full(q, SHARED_PENALTY), np.full(K, INTERCEPT_PENALTY), np.full(K * q, lam)]
        )
        full = [_solve(G_all - G[f] + np.diag(pen), g_all - g[f]) for f in range(n_folds)]
        for rank in ranks:
            err, betas = 0.0, []
            for f in range(n_folds):
                beta = _low_rank(full[f], q, K, rank)
                err += yy[f] - 2.0 * beta @ g[f] + beta @ G[f] @ beta
                betas.append(beta)
            cv[(lam, rank)] = err / max(float(w.sum()), 1e-12)
            fits[(lam, rank)] = betas
    best, best_rank = min(cv, key=lambda key: cv[key])
    out = []
    for beta in fits[(best, best_rank)]:
        c0, shared = beta[0], beta[1 : 1 + q]
        own_c = beta[1 + q : 1 + q + K]
        own = beta[1 + q + K :].reshape(K, q).T  # (q, K)
        out.append(
            PooledLinear(
                numeric=numeric,
                mean=mean,
                scale=scale,
                missing=missing,
                categorical=levels,
                centre=centre,
                intercept=c0 + own_c,
                coef=shared[:, None] + own,
                penalty=float(best),
                action_column=p,
                rank=best_rank,
            )
        )
    info = {
        "penalty": float(best),
        "rank": best_rank,
        "cv_mse": {f"{lam:g}/{rank}": float(e) for (lam, rank), e in cv.items()},
        "n_columns": q,
    }
    return out, info


def predict_folds(layers: Sequence[PooledLinear], X: np.ndarray) -> np.ndarray:
    """(F, n, K): every fold's layer for every base row and resolution.

    The folds' layers standardize alike (:func:`fit_pooled` fixes one design for all), so
    the design of each block of rows is built once and shared.
    """
    X = np.asarray(X)
    out = np.empty((len(layers), len(X), layers[0].n_actions if layers else 0))
    shared = all(layers[0].same_design(layer) for layer in layers[1:])
    for s in range(0, len(X), _PREDICT_CHUNK):
        z = layers[0].design(X[s : s + _PREDICT_CHUNK]) if shared else None
        for f, layer in enumerate(layers):
            zf = z if z is not None else layer.design(X[s : s + _PREDICT_CHUNK])
            out[f, s : s + _PREDICT_CHUNK] = layer.intercept[None, :] + _rows_times(zf, layer.coef)
    return out


def _rows_times(z: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """``z @ coef`` computed row by row in one fixed order, so a complaint gets the same
    bits alone (the service) as in a batch (BLAS blocks rows and sums in other orders)."""
    return np.einsum("iq,qk->ik", z, coef, optimize=False)


def _low_rank(beta: np.ndarray, q: int, K: int, rank: int) -> np.ndarray:
    """``beta`` with the resolutions' own slopes (a K x q matrix) cut to ``rank`` by its
    singular value decomposition (0: as they are)."""
    if rank <= 0 or rank >= min(K, q):
        return beta
    out = beta.copy()
    own = beta[1 + q + K :].reshape(K, q)
    u, sv, vt = np.linalg.svd(own, full_matrices=False)
    out[1 + q + K :] = ((u[:, :rank] * sv[:rank]) @ vt[:rank]).reshape(-1)
    return out


def _full_design(z: np.ndarray, action: np.ndarray, K: int) -> np.ndarray:
    """[1, z, one-hot(action), one-hot(action) x z] of centred design rows ``z``."""
    n, q = z.shape
    onehot = np.zeros((n, K))
    onehot[np.arange(n), action.astype(int)] = 1.0
    inter = (onehot[:, :, None] * z[:, None, :]).reshape(n, K * q)
    return np.hstack([np.ones((n, 1)), z, onehot, inter])


def _solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(A, b)
    except np.linalg.LinAlgError:  # a resolution never given in these folds
        return np.linalg.lstsq(A, b, rcond=None)[0]
