"""Contrastive explanations: why the recommended resolution rather than the runner-up.

The net value of resolution ``a`` for a complaint is
``lifetime_value * (1 - churn(a)) - compensation(a) - handling_cost(a)``, so the
difference between the recommended resolution ``r`` and the runner-up ``u`` is::

    NV_r - NV_u = LTV * (churn_u - churn_r) - (comp_r - comp_u) - (hc_r - hc_u)

:func:`contrast_attribution` splits the churn part over the model's inputs with
LightGBM's exact TreeSHAP contributions (``pred_contrib``) of the two rows ``(x, r)``
and ``(x, u)``, computed for those two rows only. The churn model reads the predicted
satisfaction (a mediator); its share is passed back to the inputs through the
satisfaction model's contributions to the satisfaction difference (its trees' TreeSHAP
plus its pooled linear layer's exact per-input split). Log-odds are turned
into money with the secant slope of the logistic between the two predictions, and what
the fold-averaged, corrected ensemble adds beyond the explained folds is credited to
the resolution itself. :func:`sayable_reasons` groups the inputs into plain reasons an
agent can say ("third complaint in a year", "the customer's words ask for their money
back").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from makegood.contract.units import money_text

__all__ = [
    "ACTION",
    "MEDIATOR",
    "Attribution",
    "MediatorRangeModel",
    "Reason",
    "agent_brief",
    "contrast_attribution",
    "customer_message",
    "group_of",
    "pair_difference_models",
    "sayable_reasons",
]

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


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def difference_model(booster: Any, features: set[int]) -> Any:
    """A booster holding only the trees of ``booster`` that split on ``features``.

    Two rows that differ only in ``features`` follow the same path through every other
    tree, so those trees give both rows the same TreeSHAP contributions: the
    *difference* of the rows' ``pred_contrib`` is the same under this smaller model,
    and cheaper to compute. Returns ``booster`` itself when every tree is kept.
    """
    blocks = _tree_blocks(booster.model_to_string())[1]
    kept = [i for i, block in enumerate(blocks) if _split_features(block) & features]
    return _subset_model(booster, kept)


def pair_difference_models(
    booster: Any,
    action_feature: int,
    actions: Sequence[int],
    also: AbstractSet[int] = frozenset(),
    *,
    mediator: int | None = None,
) -> dict[tuple[int, int], Any]:
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
    by_kept: dict[tuple[int, ...], Any] = {}
    out: dict[tuple[int, int], Any] = {}
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
                sub = _subset_model(booster, order, model)
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
        booster: Any,
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


def _subset_model(booster: Any, kept: Sequence[int], model: str | None = None) -> Any:
    """A booster of the trees ``kept`` (indices) of ``booster``; itself if all are kept."""
    import lightgbm as lgb

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
    engine: Any,
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
    difference_models: Sequence[tuple[Any, Any]] | None = None,
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

    Returns:
        An :class:`Attribution`.
    """
    names = list(engine.spec.names)
    p = len(names)
    rows = np.vstack([x, x]).astype(np.float32)
    acts = np.array([action_r, action_u], dtype=np.float32)
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
            sat_expl = sat_model if difference_models is None else difference_models[f][0]
            sat_in = engine.outcome_input(rows, acts)
            sat_pred = engine.predict_satisfaction(f, sat_in)
            sat_c = np.asarray(sat_expl.predict(sat_in, pred_contrib=True))
            if engine.sat_linear:  # the linear layer's difference, split per input
                sat_c[0, : p + 1] += engine.sat_linear[f].contrast(x, action_r, action_u)
        churn_in = engine.outcome_input(rows, acts, sat_pred)
        z = np.asarray(churn_model.predict(churn_in, raw_score=True), dtype=np.float64)
        churn_c = np.asarray(churn_expl.predict(churn_in, pred_contrib=True))
        z_r, z_u = float(z[0]), float(z[1])
        p_r, p_u = _sigmoid(z_r), _sigmoid(z_u)
        slope = (p_u - p_r) / (z_u - z_r) if abs(z_u - z_r) > 1e-9 else p_r * (1.0 - p_r)
        d = (churn_c[1] - churn_c[0]) * slope * lifetime_value  # >0: u churns more
        d[-1] = 0.0  # the expected value cancels
        fold_money = np.zeros(p + 2)
        fold_money[: p + 1] = d[: p + 1]
        if sat_pred is not None and sat_c is not None:
            d_sat = sat_c[0] - sat_c[1]  # >0: r more satisfying
            gap = float(sat_pred[0] - sat_pred[1])
            if abs(gap) >= _MIN_SAT_GAP:
                fold_money[: p + 1] += d[p + 1] * d_sat[: p + 1] / gap
            else:
                fold_money[p + 1] += d[p + 1]
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


# --------------------------------------------------------------------------- reasons

#: Inputs that make one reason together (e.g. an amount and its logarithm).
GROUPS: dict[str, tuple[str, ...]] = {
    "resolution": (ACTION,),
    "satisfaction": (MEDIATOR,),
    "money_words": ("text_money", "intent_compensation"),
    "leave_words": ("text_churn", "intent_leaving"),
    "recognition_words": ("intent_recognition",),
    "urgency_words": ("intent_urgency",),
    "tone": ("text_compound", "text_neg", "text_pos"),
    "shouting": ("text_n_exclaim", "text_upper_share"),
    "questions": ("text_n_question",),
    "length": ("text_log_chars",),
    "emotion": ("emotion", "emotion_detected"),
    "disputed": ("disputed_amount", "log_disputed_amount"),
    "value": ("lifetime_value", "log_lifetime_value", "annual_value"),
    "tenure": ("tenure_months",),
    "severity": ("severity",),
    "complaints_this_year": ("prior_complaints_12m", "mem_n_prior_365d", "mem_n_prior"),
    "repeat_issue": ("mem_repeat_issue", "mem_n_same_issue"),
    "last_rating": ("mem_last_satisfaction", "mem_mean_satisfaction", "mem_n_answered"),
    "last_resolution": ("mem_last_resolution", "mem_last_compensation"),
    "compensated_recently": ("mem_total_compensation_365d",),
    "recency": ("mem_days_since_last",),
    "channel": ("channel", "mem_last_channel", "mem_n_channels"),
    "issue": ("issue_type",),
    "segment": ("segment",),
    "skill": ("digital_skill",),
    "timing": ("hour_of_day", "day_of_week"),
    "last_severity": ("mem_last_severity",),
    "last_emotion": ("mem_last_emotion",),
}
_GROUP_OF = {name: group for group, names in GROUPS.items() for name in names}
#: Word groups whose reason quotes the customer when ``customer_said`` heard the intent:
#: group -> (intent, what the customer does)
_HEARD = {
    "money_words": ("compensation", "the customer asks for something in return"),
    "leave_words": ("leaving", "the customer says they may leave"),
    "recognition_words": ("recognition", "the customer wants to be recognised"),
    "urgency_words": ("urgency", "the customer needs this sorted quickly"),
}


def group_of(feature: str) -> str:
    """The reason group of a model input (``text_sat*`` inputs read the words' wishes)."""
    if feature in _GROUP_OF:
        return _GROUP_OF[feature]
    if feature.startswith("text_sat"):
        return "satisfaction_words"
    return feature


#: Reason groups only the agent may hear: the company's money and the model's workings.
INTERNAL_GROUPS = frozenset(
    {"compensation", "handling_cost", "value", "budget", "pacing", "exploration", "satisfaction"}
)

#: Emotions under which a lexicon's "positive" score is not a positive tone: "None of
#: this makes sense to me. Please help." scores positive on its polite words.
_UNSETTLED = frozenset({"anxious", "confused", "frustrated", "angry"})


@dataclass(frozen=True)
class Reason:
    """One plain reason: ``amount`` (money) > 0 favours the recommended resolution."""

    group: str
    text: str
    amount: float
    features: tuple[str, ...] = field(default_factory=tuple)

    @property
    def favours(self) -> str:
        return "recommended" if self.amount >= 0 else "runner_up"

    @property
    def internal(self) -> bool:
        """True when the reason is for the agent only (costs, value, the model's numbers)."""
        return self.group in INTERNAL_GROUPS


def _money(amount: float, currency: str) -> str:
    """The size of an amount in the explanations' wording (whole units from 100)."""
    return money_text(abs(amount), currency, whole_from=100, zero_cents=True)


def _ordinal(n: int) -> str:
    words = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth"}
    if n in words:
        return words[n]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _num(values: Mapping[str, Any], name: str) -> float:
    v = values.get(name)
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return f


def _phrase(
    group: str,
    v: Mapping[str, Any],
    *,
    rec: str,
    runner_up: str,
    currency: str,
    labels: Mapping[str, str],
    base_rates: Mapping[str, float],
    sat_r: float,
    sat_u: float,
    amount: float,
    said: Mapping[str, str],
) -> str:
    """The fact behind one reason group (neutral: the caller says which side).

    What the customer said or wants is claimed only from ``said`` (intent -> the
    customer's own words, from :mod:`makegood.features.intents`) and quotes it; what the
    text signals only suggest is worded as what customers like this usually do.
    """
    better, worse = (rec, runner_up) if amount >= 0 else (runner_up, rec)
    if group == "resolution":
        return f"customers in this situation tend to stay more often after {better} than {worse}"
    if group == "satisfaction":
        return (
            f"expected satisfaction {sat_r:.1f}/10 with {rec} "
            f"against {sat_u:.1f}/10 with {runner_up}"
        )
    if group in _HEARD:
        intent, heard = _HEARD[group]
        if intent in said:  # the customer's own words, quoted
            return f'{heard} ("{said[intent]}")'
        if group == "leave_words":
            return f"customers who write like this usually stay more often after {better}"
        return f"customers who write like this usually respond better to {better} than {worse}"
    if group == "satisfaction_words":
        return f"customers who write like this are usually more satisfied with {better}"
    if group == "tone":
        c = _num(v, "text_compound")
        if math.isnan(c):
            return "there is no message to read the tone from"
        emotion = v.get("emotion")
        if c >= 0.3 and emotion in _UNSETTLED:
            return f"the customer sounds {emotion}, though their words are polite"
        tone = "negative" if c <= -0.3 else "positive" if c >= 0.3 else "neutral"
        return f"the message is {tone} in tone"
    if group == "shouting":
        loud = _num(v, "text_n_exclaim") >= 2 or _num(v, "text_upper_share") >= 0.3
        return (
            "the customer is shouting (capitals, exclamation marks)"
            if loud
            else "the customer writes calmly"
        )
    if group == "questions":
        n = int(_num(v, "text_n_question") or 0)
        return (
            f"the customer asks {n} question{'s' if n != 1 else ''}"
            if n
            else "the customer asks no questions"
        )
    if group == "length":
        return (
            "a long, detailed message"
            if _num(v, "text_log_chars") >= math.log1p(300)
            else "a short message"
        )
    if group == "emotion":
        e = v.get("emotion")
        if not e:
            return "the customer's mood is unknown"
        return f"the customer is {e}" + (
            " (read from their words)" if v.get("emotion_detected") else ""
        )
    if group == "disputed":
        d = _num(v, "disputed_amount")
        return f"{_money(d, currency)} is in dispute" if d > 0 else "no money is in dispute"
    if group == "value":
        return f"the customer's lifetime value is {_money(_num(v, 'lifetime_value'), currency)}"
    if group == "tenure":
        m = int(_num(v, "tenure_months"))
        return f"a customer for {m // 12} years" if m >= 24 else f"a customer for {m} months"
    if group == "severity":
        return f"severity {int(_num(v, 'severity'))} of 5"
    if group == "complaints_this_year":
        counts = [_num(v, "prior_complaints_12m"), _num(v, "mem_n_prior_365d")]
        n = int(max([c for c in counts if not math.isnan(c)], default=0))
        return f"{_ordinal(n + 1)} complaint in a year"
    if group == "repeat_issue":
        n = int(_num(v, "mem_n_same_issue") or 0)
        issue = str(v.get("issue_type", "")).replace("_", " ")
        if n > 0:
            return f"the same {issue} problem came up {n} time{'s' if n > 1 else ''} before"
        return f"a first {issue} problem for this customer"
    if group == "last_rating":
        return _ratings_fact(v)
    if group == "last_resolution":
        last = v.get("mem_last_resolution")
        return (
            f"last time they were given {labels.get(last, last)}"
            if last
            else "no earlier resolution on record"
        )
    if group == "compensated_recently":
        c = _num(v, "mem_total_compensation_365d")
        return (
            f"already received {_money(c, currency)} in the past year"
            if c > 0
            else "no compensation in the past year"
        )
    if group == "recency":
        d = _num(v, "mem_days_since_last")
        return f"last complaint {d:.0f} days ago" if not math.isnan(d) else "no earlier complaint"
    if group == "channel":
        return f"contacted us by {v.get('channel')}"
    if group == "issue":
        return f"a {str(v.get('issue_type', '')).replace('_', ' ')} issue"
    if group == "segment":
        return f"a {str(v.get('segment', '')).replace('_', ' ')} customer"
    if group == "skill":
        skill = v.get("digital_skill")
        return f"{skill} digital skill" if skill else "digital skill unknown"
    if group == "timing":
        return "the time of contact"
    if group == "last_severity":
        s = _num(v, "mem_last_severity")
        return (
            f"the last complaint had severity {s:.0f}"
            if not math.isnan(s)
            else "no earlier complaint"
        )
    if group == "last_emotion":
        e = v.get("mem_last_emotion")
        return f"they were {e} last time" if e else "their mood last time is unknown"
    value = v.get(group)
    return f"{group.replace('_', ' ')} is {value}"


def _ratings_fact(v: Mapping[str, Any]) -> str:
    """What the customer's earlier survey answers were, as they are.

    "No rating" only when none of the earlier complaints was rated; an unrated last
    complaint does not hide the earlier ratings.

    >>> _ratings_fact({"mem_n_answered": 2, "mem_mean_satisfaction": 6.0,
    ...                "mem_last_satisfaction": float("nan")})
    'the last complaint was not rated; 2 earlier ones were rated 6.0/10 on average'
    >>> _ratings_fact({"mem_n_answered": 0})
    'no rating from earlier complaints'
    """
    n = _num(v, "mem_n_answered")
    last = _num(v, "mem_last_satisfaction")
    mean = _num(v, "mem_mean_satisfaction")
    if math.isnan(n):  # an older model without the count: judge by what is there
        n = 0.0 if math.isnan(last) and math.isnan(mean) else 1.0
    if n <= 0:
        return "no rating from earlier complaints"
    if math.isnan(last):
        ones = "one was" if n == 1 else "ones were"
        return f"the last complaint was not rated; {int(n)} earlier {ones} rated {mean:.1f}/10" + (
            " on average" if n > 1 else ""
        )
    if n > 1 and not math.isnan(mean):
        return f"last time they rated us {last:.0f}/10 ({int(n)} ratings, {mean:.1f}/10 on average)"
    return f"last time they rated us {last:.0f}/10"


def sayable_reasons(
    attribution: Attribution,
    values: Mapping[str, Any],
    *,
    rec: str,
    runner_up: str,
    currency: str = "USD",
    labels: Mapping[str, str] | None = None,
    base_rates: Mapping[str, float] | None = None,
    sat_r: float = math.nan,
    sat_u: float = math.nan,
    said: Sequence[Mapping[str, str]] = (),
    min_amount: float = 0.01,
) -> list[Reason]:
    """Plain reasons for ``rec`` over ``runner_up``, largest money effect first.

    Model inputs are grouped (:data:`GROUPS`), compensation and handling cost are
    reasons of their own; groups moving less than ``min_amount`` are dropped. ``said`` is
    the complaint's ``customer_said`` (``[{"intent", "quote"}, ...]``): the only ground
    for a reason that says what the customer asked for. Each resolution label appears at
    most once in a reason.
    """
    heard = {s["intent"]: s["quote"] for s in said}
    by_group: dict[str, list[str]] = {}
    amounts: dict[str, float] = {}
    for name, amount in attribution.terms.items():
        g = group_of(name)
        amounts[g] = amounts.get(g, 0.0) + amount
        by_group.setdefault(g, []).append(name)
    out = []
    for g, amount in amounts.items():
        if abs(amount) < min_amount:
            continue
        text = _phrase(
            g,
            values,
            rec=rec,
            runner_up=runner_up,
            currency=currency,
            labels=labels or {},
            base_rates=base_rates or {},
            sat_r=sat_r,
            sat_u=sat_u,
            amount=amount,
            said=heard,
        )
        out.append(Reason(g, text, amount, tuple(by_group[g])))
    comp = attribution.compensation
    if abs(comp) >= min_amount:
        text = (
            f"{rec} costs {_money(-comp, currency)} more in compensation"
            if comp < 0
            else f"{rec} saves {_money(comp, currency)} in compensation"
        )
        out.append(Reason("compensation", text, comp, ()))
    hc = attribution.handling_cost
    if abs(hc) >= min_amount:
        text = (
            f"{rec} costs {_money(-hc, currency)} more to carry out"
            if hc < 0
            else f"{rec} costs {_money(hc, currency)} less to carry out"
        )
        out.append(Reason("handling_cost", text, hc, ()))
    out.sort(key=lambda r: -abs(r.amount))
    return out


# --------------------------------------------------------------------------- two readers


def _sentence(text: str) -> str:
    text = text.strip()
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def customer_message(
    rec: str,
    *,
    compensation: float,
    said: Sequence[Mapping[str, str]],
    values: Mapping[str, Any],
    currency: str = "USD",
) -> str:
    """``say``: what the agent can tell the customer, in the customer's terms.

    The resolution ``rec`` (with the money the customer receives, ``compensation``) and
    why, from what the customer said (``said``: their ``customer_said``, quoted back).
    Never the company's costs, values or model numbers. Each label once per sentence.

    >>> said = [{"intent": "compensation", "quote": "I want my money back"}]
    >>> print(customer_message("Refund", compensation=40.0, values={}, said=said))
    ... # doctest: +NORMALIZE_WHITESPACE
    We would like to offer you Refund, with $40.00 for you. You asked for something in
    return ("I want my money back"), and this includes money for you.
    """
    heard = {s["intent"]: s["quote"] for s in said}
    offer = f"we would like to offer you {rec}" + (
        f", with {_money(compensation, currency)} for you" if compensation > 0 else ""
    )
    out = [_sentence(offer)]
    if "compensation" in heard:
        q = heard["compensation"]
        out.append(
            f'You asked for something in return ("{q}"), and this includes money for you.'
            if compensation > 0
            else f'You asked for something in return ("{q}"); this is what we can do for you.'
        )
    if "recognition" in heard:
        months = _num(values, "tenure_months")
        q = heard["recognition"]
        out.append(
            f'You have been with us for {int(months // 12)} years ("{q}"), and that matters to us.'
            if months >= 24
            else f'You told us how this made you feel ("{q}"), and we are sorry.'
        )
    if "leaving" in heard:
        out.append(
            f'You mentioned leaving ("{heard["leaving"]}"); we would like to keep you '
            "and put this right."
        )
    if "urgency" in heard:
        out.append(f'You need this sorted quickly ("{heard["urgency"]}"), so we are on it now.')
    if len(out) == 1:
        out.append("We are sorry for the trouble and want to put it right.")
    return " ".join(out)


def agent_brief(
    rec: str,
    runner_up: str | None,
    *,
    value_difference: float,
    churn: tuple[float, float],
    compensation: tuple[float, float],
    handling_cost: tuple[float, float],
    thin_evidence: bool,
    reasons: Sequence[Reason],
    currency: str = "USD",
    n_reasons: int = 3,
) -> str:
    """``why``: for the agent: net-value difference, costs, churn risk, thin evidence.

    ``churn``, ``compensation`` and ``handling_cost`` are ``(recommended, runner-up)``
    pairs (the runner-up's ignored when ``runner_up`` is None). Then the ``n_reasons``
    largest reasons favouring ``rec``, one sentence each, so that each resolution label
    appears at most once per sentence.
    """
    churn_r, churn_u = churn
    compensation_r, compensation_u = compensation
    handling_cost_r, handling_cost_u = handling_cost
    m = lambda x: _money(x, currency)  # noqa: E731
    out = []
    if runner_up is None:
        out.append(f"{rec} is the only resolution available for this complaint.")
        out.append(
            f"Churn risk {churn_r:.0%}; it costs {m(compensation_r)} in compensation and "
            f"{m(handling_cost_r)} to carry out."
        )
    else:
        lead = "more" if value_difference >= 0 else "less"
        out.append(
            f"{rec} is worth {m(value_difference)} {lead} in expected net value than {runner_up}."
        )
        out.append(f"Churn risk {churn_r:.0%} with {rec} against {churn_u:.0%} with {runner_up}.")
        out.append(
            f"Cost: {m(compensation_r)} compensation and {m(handling_cost_r)} handling for {rec}; "
            f"{m(compensation_u)} and {m(handling_cost_u)} for {runner_up}."
        )
    if thin_evidence:
        out.append(
            f"Thin evidence: few past customers like this were given {rec}, "
            "so its estimate is uncertain."
        )
    out.extend(_sentence(r.text) for r in [r for r in reasons if r.amount > 0][:n_reasons])
    return " ".join(out)
