"""Contrastive attribution: ``NV_r - NV_u`` of one complaint split over the model's inputs.

The net value of resolution ``a`` for a complaint is
``lifetime_value * (1 - churn(a)) - compensation(a) - handling_cost(a)``, so the
difference between the recommended resolution ``r`` and the runner-up ``u`` is::

    NV_r - NV_u = LTV * (churn_u - churn_r) - (comp_r - comp_u) - (hc_r - hc_u)

:func:`contrast_attribution` splits the churn part over the model's inputs with
LightGBM's exact TreeSHAP contributions (``pred_contrib``) of the two rows ``(x, r)``
and ``(x, u)``, computed for those two rows only. The churn model reads the predicted
satisfaction (a mediator); its share is passed back to the inputs through the
satisfaction model's contributions to the satisfaction difference (its trees' TreeSHAP
plus its pooled linear layer's exact per-input split); when the models read the
candidates' compensation, its share is the resolution's. Log-odds are turned
into money with the secant slope of the logistic between the two predictions, and what
the fold-averaged, corrected ensemble adds beyond the explained folds is credited to
the resolution itself.

The trees that cannot tell two resolutions apart give both rows the same contributions,
so the difference is computed on narrowed models (:func:`pair_difference_models`,
:class:`MediatorRangeModel`), built once per bundle by :class:`ContrastExplainer`.
Turning an :class:`Attribution` into words is :mod:`makegood.explain`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Protocol

import lightgbm as lgb
import numpy as np

from makegood.contract.units import sigmoid
from makegood.modeling.bundle import PinnedBooster
from makegood.modeling.engine import Engine
from makegood.modeling.predict import Scores

__all__ = [
    "ACTION",
    "MEDIATOR",
    "Attribution",
    "ContrastExplainer",
    "MediatorRangeModel",
    "Predictor",
    "contrast_attribution",
    "difference_model",
    "pair_difference_models",
    "subset_model",
]


class Predictor(Protocol):
    """A LightGBM booster, or a model standing in for one (pinned, narrowed)."""

    def predict(self, data: Any, **kwargs: Any) -> Any: ...


ACTION = "__resolution__"  # the resolution code itself
MEDIATOR = "__satisfaction__"  # predicted satisfaction, when not passed back to inputs
_MIN_SAT_GAP = 0.05  # below this satisfaction gap the mediator stays one term


@dataclass(frozen=True)
class Attribution:
    """The net-value difference ``NV_r - NV_u`` split into money terms.

    ``terms`` maps a model input (or :data:`ACTION`, :data:`MEDIATOR`) to its share of
    ``LTV * (churn_u - churn_r)``; positive favours the recommended resolution.
    ``compensation`` is ``comp_u - comp_r`` and ``handling_cost`` ``hc_u - hc_r``.
    ``sum(terms) + compensation + handling_cost == total`` (up to rounding).
    """

    terms: dict[str, float]
    compensation: float
    handling_cost: float
    total: float
    satisfaction_gap: float  # sat_r - sat_u of the explained folds


def difference_model(booster: lgb.Booster, features: set[int]) -> lgb.Booster:
    """A booster holding only the trees of ``booster`` that split on ``features``.

    Two rows that differ only in ``features`` follow the same path through every other
    tree, so those trees give both rows the same TreeSHAP contributions: the
    *difference* of the rows' ``pred_contrib`` is the same under this smaller model,
    and cheaper to compute. Returns ``booster`` itself when every tree is kept.
    """
    blocks = _tree_blocks(booster.model_to_string())[1]
    kept = [i for i, block in enumerate(blocks) if _split_features(block) & features]
    return subset_model(booster, kept)


def pair_difference_models(
    booster: lgb.Booster,
    action_feature: int,
    actions: Sequence[int],
    also: AbstractSet[int] = frozenset(),
    *,
    mediator: int | None = None,
) -> dict[tuple[int, int], lgb.Booster | MediatorRangeModel]:
    """Per pair of action codes ``(a, b)`` (``a < b``), a booster holding only the trees
    where the two rows ``(x, a)`` and ``(x, b)`` can differ: those with a split on the
    action that sends ``a`` and ``b`` different ways, or a split on a feature of ``also``
    (e.g. a mediator whose value differs between the rows).

    In every other tree both rows take the same direction at each action split and
    agree on every other feature, so every coalition's conditional expectation, and
    hence every TreeSHAP contribution, is the same for both rows: the difference of
    their ``pred_contrib`` is unchanged (like :func:`difference_model`, but narrower,
    so cheaper). Numerical splits on the action are assumed to separate any pair.
    Pairs with the same trees share one model.

    With ``mediator`` (a numerical feature whose value differs between the two rows),
    the trees kept only for their splits on it are narrowed per call instead: see
    :class:`MediatorRangeModel`.
    """
    model = booster.model_to_string()
    blocks = _tree_blocks(model)[1]
    # per tree: for each split on the action, the codes sent left (None: numerical)
    action_splits: list[list[frozenset[int] | None]] = [[] for _ in blocks]
    needed_always = [bool(_split_features(block) & set(also)) for block in blocks]
    thresholds: list[list[float]] = [[] for _ in blocks]  # numerical mediator splits
    categorical_mediator = [False] * len(blocks)

    def walk(tree: int, node: Mapping[str, Any]) -> None:
        if "split_index" not in node:
            return
        if node["split_feature"] == action_feature:
            if node["decision_type"] == "==":
                left = frozenset(int(v) for v in str(node["threshold"]).split("||"))
                action_splits[tree].append(left)
            else:
                action_splits[tree].append(None)
        elif node["split_feature"] == mediator:
            if node["decision_type"] == "<=":
                thresholds[tree].append(float(node["threshold"]))
            else:
                categorical_mediator[tree] = True
        walk(tree, node["left_child"])
        walk(tree, node["right_child"])

    for i, info in enumerate(booster.dump_model()["tree_info"]):
        walk(i, info["tree_structure"])
    by_kept: dict[tuple[int, ...], lgb.Booster | MediatorRangeModel] = {}
    out: dict[tuple[int, int], lgb.Booster | MediatorRangeModel] = {}
    codes = sorted({int(a) for a in actions})
    for j, a in enumerate(codes):
        for b in codes[j + 1 :]:
            kept = tuple(
                i
                for i, splits in enumerate(action_splits)
                if needed_always[i]
                or categorical_mediator[i]
                or any(s is None or ((a in s) != (b in s)) for s in splits)
            )
            by_mediator = sorted(
                (max(thresholds[i]), min(thresholds[i]), i)
                for i in range(len(blocks))
                if thresholds[i] and i not in set(kept)
            )
            key = kept + (-1,) + tuple(i for *_, i in by_mediator)
            if key not in by_kept:
                order = [*kept, *(i for *_, i in by_mediator)]
                sub = subset_model(booster, order, model)
                by_kept[key] = (
                    MediatorRangeModel(
                        sub,
                        mediator,
                        n_fixed=len(kept),
                        max_threshold=[t for t, _, _ in by_mediator],
                        min_threshold=[t for _, t, _ in by_mediator],
                    )
                    if mediator is not None and by_mediator
                    else sub
                )
            out[(a, b)] = by_kept[key]
    return out


class MediatorRangeModel:
    """A booster whose trees are ``n_fixed`` trees followed by trees that split on the
    numerical feature ``mediator`` only (as far as two rows can differ), sorted by their
    largest threshold; for ``pred_contrib`` of rows that differ in ``mediator`` only
    (and in what the fixed trees cover) it runs the fixed trees and just the range of
    mediator trees with a threshold between the rows' values.

    A tree whose every mediator threshold lies outside ``[lo, hi)`` (the rows' smallest
    and largest values) sends all rows the same way at each of its splits, so it gives
    them the same contributions (see :func:`pair_difference_models`). The range taken
    is a superset of the trees with a threshold in ``[lo, hi)`` (widened by a relative
    1e-9 for rounding); a value of exactly zero (LightGBM's missing-as-zero) takes all
    trees. Only the *difference* of the rows' contributions is kept exact, so other
    predictions use every tree.
    """

    def __init__(
        self,
        booster: lgb.Booster,
        mediator: int,
        *,
        n_fixed: int,
        max_threshold: Sequence[float],
        min_threshold: Sequence[float],
    ) -> None:
        self.booster = booster
        self.mediator = mediator
        self.n_fixed = n_fixed
        self.max_threshold = np.asarray(max_threshold, dtype=np.float64)
        self.min_threshold = np.asarray(min_threshold, dtype=np.float64)
        self.n_trees = n_fixed + len(self.max_threshold)

    def num_trees(self) -> int:
        return self.n_trees

    def trees_for(self, lo: float, hi: float) -> tuple[int, int]:
        """``[start, end)`` of the mediator trees (0-based among them) to run."""
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0.0 <= hi:
            return 0, len(self.max_threshold)
        eps = 1e-9 * max(1.0, abs(lo), abs(hi))
        start = int(np.searchsorted(self.max_threshold, lo - eps, side="left"))
        below = np.flatnonzero(self.min_threshold[start:] < hi + eps)
        end = start + int(below[-1]) + 1 if len(below) else start
        return start, end

    def predict(self, data: Any, **kwargs: Any) -> Any:
        if not kwargs.get("pred_contrib"):
            return self.booster.predict(data, **kwargs)
        values = np.asarray(data, dtype=np.float64)[:, self.mediator]
        start, end = self.trees_for(float(values.min()), float(values.max()))
        out = None
        for first, count in ((0, self.n_fixed), (self.n_fixed + start, end - start)):
            if count > 0:
                part = self.booster.predict(
                    data, start_iteration=first, num_iteration=count, **kwargs
                )
                out = part if out is None else out + part
        if out is None:  # nothing can differ: the rows' contributions are equal
            out = np.zeros((len(values), self.booster.num_feature() + 1))
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.booster, name)


def _tree_blocks(model: str) -> tuple[str, list[str], str]:
    """(header, tree blocks in order, tail) of a LightGBM model string."""
    start = model.index("\nTree=")
    end = model.index("end of trees")
    header, body, tail = model[: start + 1], model[start + 1 : end], model[end:]
    blocks = [b for b in body.split("\n\n") if b.strip().startswith("Tree=")]
    return header, blocks, tail


def _split_features(block: str) -> set[int]:
    for line in block.splitlines():
        if line.startswith("split_feature="):
            return {int(v) for v in line.split("=", 1)[1].split()}
    return set()


def subset_model(
    booster: lgb.Booster, kept: Sequence[int], model: str | None = None
) -> lgb.Booster:
    """A booster of the trees ``kept`` (indices) of ``booster``; itself if all are kept."""
    header, blocks, tail = _tree_blocks(model or booster.model_to_string())
    if len(kept) == len(blocks):
        return booster
    renumbered = []
    for i, k in enumerate(kept):
        _first, rest = blocks[k].strip().split("\n", 1)
        renumbered.append(f"Tree={i}\n{rest}")
    header = "\n".join(line for line in header.splitlines() if not line.startswith("tree_sizes="))
    if not kept:  # a constant model: one single-leaf tree of value 0
        renumbered.append("Tree=0\nnum_leaves=1\nnum_cat=0\nshrinkage=1\nleaf_value=0\n")
    model = header + "\n\n" + "\n\n".join(renumbered) + "\n\n\n" + tail
    return lgb.Booster(model_str=model)


def contrast_attribution(
    engine: Engine,
    x: np.ndarray,
    action_r: int,
    action_u: int,
    *,
    lifetime_value: float,
    churn_r: float,
    churn_u: float,
    compensation_r: float,
    compensation_u: float,
    handling_cost_r: float,
    handling_cost_u: float,
    n_folds: int = 1,
    difference_models: Sequence[tuple[Predictor | None, Predictor]] | None = None,
    fold_predictions: tuple[np.ndarray, np.ndarray] | None = None,
) -> Attribution:
    """Attribute ``NV_r - NV_u`` of one complaint to its inputs (see the module docstring).

    ``engine`` is a fitted :class:`makegood.modeling.engine.Engine` (its
    ``outcome_input`` gives the models' input layout); ``x`` its base row
    (1, p); ``action_r``/``action_u`` model action codes; ``churn_r``/``churn_u`` the
    served (fold-averaged, corrected) churn probabilities. ``n_folds`` fold models are
    explained and averaged (1 is enough: the folds are near-copies, and each costs two
    TreeSHAP rows per model). ``difference_models[f]`` may give fold ``f``'s
    (satisfaction, churn) models reduced by :func:`difference_model` to the trees that
    split on the action (and mediator), or by :func:`pair_difference_models` to those
    that can tell ``action_r`` from ``action_u``: same result, faster.
    ``fold_predictions`` may give the (satisfaction, churn probability) of ``r`` and
    ``u`` per fold, each (2, F), as scoring predicted them (``Engine.predict(folds=True)``):
    the same numbers, not predicted again.

    Returns:
        An :class:`Attribution`.
    """
    names = list(engine.spec.names)
    p = len(names)
    rows = np.vstack([x, x]).astype(np.float32)
    acts = np.array([action_r, action_u], dtype=np.float32)
    # the candidates' compensation, when the models read it: credited to the resolution
    m_col = engine.money_feature
    paid = None if m_col is None else np.array([compensation_r, compensation_u])
    n_folds = max(1, min(n_folds, len(engine.churn_models)))
    money = np.zeros(p + 2)  # inputs, action, mediator
    explained = 0.0
    sat_gap = 0.0 if engine.mediated else math.nan
    mediated = engine.mediated  # without surveys: churn alone, no mediator
    for f in range(n_folds):
        churn_model = engine.churn_models[f]
        churn_expl = churn_model if difference_models is None else difference_models[f][1]
        sat_pred = sat_c = None
        if mediated:
            sat_model = engine.sat_models[f]
            narrowed = None if difference_models is None else difference_models[f][0]
            sat_expl = sat_model if narrowed is None else narrowed
            sat_in = engine.outcome_input(rows, acts, money=paid)
            sat_pred = (
                engine.predict_satisfaction(f, sat_in)
                if fold_predictions is None
                else np.asarray(fold_predictions[0][:, f], dtype=np.float64)
            )
            sat_c = np.asarray(sat_expl.predict(sat_in, pred_contrib=True))
            if engine.sat_linear:  # the linear layer's difference, split per input
                sat_c[0, : p + 1] += engine.sat_linear[f].contrast(x, action_r, action_u)
        churn_in = engine.outcome_input(rows, acts, sat_pred, money=paid)
        if fold_predictions is None:
            z = np.asarray(churn_model.predict(churn_in, raw_score=True), dtype=np.float64)
        else:  # the raw score is the logit of the predicted probability
            q = np.clip(np.asarray(fold_predictions[1][:, f], dtype=np.float64), 1e-15, 1 - 1e-15)
            z = np.log(q) - np.log1p(-q)
        churn_c = np.asarray(churn_expl.predict(churn_in, pred_contrib=True))
        z_r, z_u = float(z[0]), float(z[1])
        p_r, p_u = float(sigmoid(z_r)), float(sigmoid(z_u))
        slope = (p_u - p_r) / (z_u - z_r) if abs(z_u - z_r) > 1e-9 else p_r * (1.0 - p_r)
        d = (churn_c[1] - churn_c[0]) * slope * lifetime_value  # >0: u churns more
        fold_money = np.zeros(p + 2)
        fold_money[: p + 1] = _inputs_and_action(d, p, m_col)
        if sat_pred is not None and sat_c is not None:
            d_sat = _inputs_and_action(sat_c[0] - sat_c[1], p, m_col)  # >0: r more satisfying
            d_med = d[engine.mediator_feature]
            gap = float(sat_pred[0] - sat_pred[1])
            if abs(gap) >= _MIN_SAT_GAP:
                fold_money[: p + 1] += d_med * d_sat / gap
            else:
                fold_money[p + 1] += d_med
            sat_gap += gap / n_folds
        money += fold_money / n_folds
        explained += lifetime_value * (p_u - p_r) / n_folds
    terms = {name: float(money[j]) for j, name in enumerate(names) if money[j] != 0.0}
    served = lifetime_value * (churn_u - churn_r)
    terms[ACTION] = float(money[p]) + (served - explained)
    if money[p + 1]:
        terms[MEDIATOR] = float(money[p + 1])
    comp = compensation_u - compensation_r
    hc = handling_cost_u - handling_cost_r
    return Attribution(terms, comp, hc, served + comp + hc, sat_gap)


def _inputs_and_action(d: np.ndarray, p: int, money: int | None) -> np.ndarray:
    """(p + 1,) the inputs' shares of a row of contributions ``d`` and the resolution's,
    which holds the compensation column's (``money``, when the model reads it).

    >>> _inputs_and_action(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 2, 3).tolist()
    [1.0, 2.0, 7.0]
    """
    out = np.array(d[: p + 1], dtype=np.float64)
    if money is not None:
        out[p] += d[money]
    return out


class ContrastExplainer:
    """:func:`contrast_attribution` for one bundle's engine, with its narrowed models
    built once (at start-up: each pair model costs a model-string parse).

    Parameters:
        engine: the fitted :class:`~makegood.modeling.engine.Engine` explained (the
            narrowed models are cut from its trees).
        action_index: the engine's action code of each catalog resolution (catalog
            order, as :attr:`makegood.modeling.bundle.Bundle.action_index`).
        num_threads: LightGBM threads per prediction of a narrowed model.
        n_folds: fold models explained per contrast (each costs 2 TreeSHAP rows per
            model); clipped to ``[1, number of folds]``.
    """

    def __init__(
        self,
        engine: Engine,
        action_index: Sequence[int] | np.ndarray,
        *,
        num_threads: int = 1,
        n_folds: int = 1,
    ) -> None:
        self.engine = engine
        self.action_index = np.asarray(action_index)
        self.n_folds = max(1, min(n_folds, len(engine.churn_models)))
        codes = [int(a) for a in self.action_index]
        # per explained fold, per pair of action codes: the (satisfaction, churn) trees
        # that can tell the pair apart (the same contribution difference, fewer trees);
        # with the money input, a second set for a pair whose compensation differs (the
        # trees splitting on it kept too; for satisfaction, narrowed to the range of
        # thresholds between the two amounts)
        self.pair_models = [self._pairs(f, codes, None, num_threads) for f in range(self.n_folds)]
        m = engine.money_feature
        self.money_pair_models = (
            None
            if m is None
            else [self._pairs(f, codes, m, num_threads) for f in range(self.n_folds)]
        )

    def _pairs(
        self, f: int, codes: list[int], money: int | None, num_threads: int
    ) -> dict[tuple[int, int], tuple[Predictor | None, Predictor]]:
        engine = self.engine
        churn = pair_difference_models(
            engine.churn_models[f],
            engine.action_feature,
            codes,
            frozenset() if money is None else {money},
            mediator=engine.mediator_feature,
        )
        sat: Mapping[tuple[int, int], lgb.Booster | MediatorRangeModel | None] = (
            pair_difference_models(
                engine.sat_models[f], engine.action_feature, codes, mediator=money
            )
            if engine.mediated
            else dict.fromkeys(churn)
        )
        return {
            pair: (
                None if sat[pair] is None else PinnedBooster(sat[pair], num_threads),
                PinnedBooster(churn[pair], num_threads),
            )
            for pair in churn
        }

    def contrast(self, scores: Scores, r: int, u: int, *, row: int = 0) -> Attribution:
        """Attribute ``NV_r - NV_u`` (catalog indices ``r``, ``u``) of complaint ``row``
        of ``scores`` (scored with its model rows ``X``) to the complaint's inputs."""
        assert scores.X is not None, "scores without their model rows cannot be explained"
        a_r, a_u = int(self.action_index[r]), int(self.action_index[u])
        pair = (min(a_r, a_u), max(a_r, a_u))
        churn, comp, hc = scores.churn_prob[row], scores.compensation[row], scores.handling_cost
        narrowed = self.pair_models
        if self.money_pair_models is not None and comp[r] != comp[u]:
            narrowed = self.money_pair_models
        return contrast_attribution(
            self.engine,
            scores.X[row : row + 1],
            a_r,
            a_u,
            lifetime_value=float(scores.lifetime_value[row]),
            churn_r=float(churn[r]),
            churn_u=float(churn[u]),
            compensation_r=float(comp[r]),
            compensation_u=float(comp[u]),
            handling_cost_r=float(hc[r]),
            handling_cost_u=float(hc[u]),
            n_folds=self.n_folds,
            difference_models=[models[pair] for models in narrowed],
            fold_predictions=None
            if scores.sat_folds is None or scores.churn_folds is None
            else (scores.sat_folds[row, [r, u]], scores.churn_folds[row, [r, u]]),
        )
