"""Settings chosen per history by cross-validated off-policy value, never by truth.

How much a small history can support (how many cross-fitting folds, how fine the trees)
is not known in advance, and the capture a setting reaches on a simulator's truth is not
something a company has. What it has is its logged complaints. :func:`select_params`
fits each candidate setting with cross-fitting (:func:`~makegood.modeling.fitting.fit_engine`):
its out-of-fold predictions are predictions for complaints the fold's models never saw.
The candidate's policy (each complaint's best eligible resolution by out-of-fold net
value, at shadow prices :data:`PRICES`) is valued by doubly robust off-policy evaluation on
the logged complaints, with **one** outcome model and one propensity for every candidate
(the mean of the candidates' out-of-fold predictions, favouring none; the logged
propensities where the history records them, else the first candidate's out-of-fold
ones), so the comparison is paired: complaints where two policies choose alike
add nothing to their difference. A candidate replaces the first only when its paired
gain is at least ``min_z`` standard errors.

Then the churn model's rounds (``cut_rounds``, when left at its default): if the log does
not bear out the contrasts between resolutions of the one outcome model above (the mean of
the candidates; their heterogeneity test,
:func:`~makegood.modeling.evaluate.contrast_signal`, below ``min_z``) though it could have
seen contrasts :data:`DETECTABLE_SLOPE` as real as predicted, the chosen setting is
fitted once more with ``cut_rounds`` (the churn model cut to its rounds of lowest held-out
log loss when the overfit is evident, :func:`~makegood.modeling.fitting.fit_churn`) and that
fit is kept unless its paired DR value is ``min_z`` standard errors worse. A decision the
contrasts cannot inform is then left to what the log can judge, the predicted outcome of
the resolution given; where the contrasts carry signal, every round is kept, since the
held-out loss of the resolution given does not see what the contrasts need (on a
simulated 10k world its cut lowered the capture of the oracle's uplift from 0.874 to 0.830).

Selection runs only when the folds are left to the engine (``n_folds`` 0, auto), on
histories below :data:`SELECT_BELOW` rows (above it the defaults are within 0.01 of the
benchmark's observable ceiling, and a fit costs more); of the other settings only those
left at their defaults are varied. Without selection the churn model keeps every round
unless ``cut_rounds`` is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from makegood.contract.catalog import Catalog
from makegood.modeling.engine import EngineParams
from makegood.modeling.evaluate import contrast_signal, dr_terms, realized_reward
from makegood.modeling.fitting import MIN_ROUNDS, FitResult, fit_engine
from makegood.modeling.support import scored_candidates
from makegood.policy.value import net_value

__all__ = [
    "CANDIDATES",
    "DETECTABLE_SLOPE",
    "MIN_Z",
    "PRICES",
    "SELECT_BELOW",
    "Selection",
    "choose",
    "paired_gains",
    "select_params",
]

#: histories with fewer rows than this get their settings chosen (see the module doc)
SELECT_BELOW = 30_000
#: shadow prices (per unit of compensation) the candidate policies are valued at: no
#: budget, and a tight one
PRICES = (0.0, 1.0)
#: settings tried, each over the defaults: the first, the engine's own defaults (folds by
#: the history's size), is the reference; the others ask for coarser and finer trees
CANDIDATES: tuple[Mapping[str, Any], ...] = (
    {},
    {"num_leaves": 15, "min_child_samples": 80},
    {"num_leaves": 63, "min_child_samples": 20},
)
#: the contrasts' slope (:func:`~makegood.modeling.evaluate.contrast_signal`; 1: as real as
#: predicted) the heterogeneity test must be able to tell from none (``min_z`` standard
#: errors) before its silence counts against the rounds: a log too small to see contrasts
#: half as real as predicted says nothing about them. Set after measuring (issue 24): the
#: test's se was 0.23 and 0.20 on the CFPB splits (cut: AUC +0.017 and +0.032), 0.29 on two
#: simulated 5k worlds (z 0.1 and 1.8, whose cut lost 0.087 and 0.102 of capture)
DETECTABLE_SLOPE = 0.5
#: standard errors a candidate must gain by to replace the reference. Measured on
#: bench_quality's worlds (per complaint, values about 1,300): at 10,000 rows coarser trees
#: -8.5 (se 16.6), finer trees -43.6 (se 16.2); at 20,000 rows -7.8 (se 12.8) and -1.2
#: (se 17.3). With 2, a setting that is no better replaces the reference about 2% of the time
MIN_Z = 2.0


@dataclass(frozen=True)
class Selection:
    """The chosen settings, their fit on the whole history, and every candidate's
    cross-validated value (``table``: overrides, DR value, paired gain over the first
    candidate and its standard error, per complaint; the churn rounds' cut, when tried,
    is the last row). ``rounds``: the numbers behind the rounds' decision (the contrasts'
    heterogeneity ``signal_slope``/``_se``/``_z``; when the cut was tried, the rounds
    ``kept`` and the cut's paired DR ``gain``/``se`` over the size chosen)."""

    params: EngineParams
    fit: FitResult | None
    table: list[dict[str, Any]]
    reason: str
    rounds: dict[str, float] = field(default_factory=dict)

    def metrics(self) -> dict[str, float]:
        """Flat numbers for MLflow: ``select_<i>_value``/``_gain``/``_se``, ``select_chosen``,
        ``select_rounds_<name>``."""
        out: dict[str, float] = {}
        for i, row in enumerate(self.table):
            for k in ("value", "gain", "se"):
                out[f"select_{i}_{k}"] = float(row[k])
            if row["chosen"]:
                out["select_chosen"] = float(i)
        out.update({f"select_rounds_{k}": float(v) for k, v in self.rounds.items()})
        return out


def _free(params: EngineParams) -> set[str]:
    """Names of the settings left at their defaults (``n_folds`` 0 is auto)."""
    default = EngineParams()
    return {
        f.name for f in fields(EngineParams) if getattr(params, f.name) == getattr(default, f.name)
    }


def select_params(
    prep: pd.DataFrame,
    catalog: Catalog,
    params: EngineParams,
    *,
    mem: pd.DataFrame | None = None,
    candidates: Sequence[Mapping[str, Any]] = CANDIDATES,
    min_z: float = MIN_Z,
    select_below: int = SELECT_BELOW,
    progress: Callable[[str], None] = lambda _m: None,
) -> Selection:
    """Choose among ``candidates`` (overrides of ``params``) by paired cross-validated DR
    value on the logged complaints of ``prep`` (a prepared history; see the module doc).

    Returns ``params`` resolved (with ``fit`` None) when selection is off
    (``params.select`` False), the folds were given (``n_folds`` not 0), the history has
    ``select_below`` rows or more, or no candidate differs from ``params`` in a setting
    left at its default.
    """
    n = len(prep)
    resolved = params.resolved(n)
    why = None
    if not params.select:
        why = "off"
    elif params.n_folds != 0:
        why = f"n_folds {params.n_folds} given"
    elif n >= select_below:
        why = f"{n} rows >= {select_below}"
    if why is not None:
        return Selection(resolved, None, [], f"not selected ({why})")
    free = _free(params)
    configs: list[tuple[dict[str, Any], EngineParams]] = []
    for c in candidates:
        over = {k: v for k, v in c.items() if k in free}
        cfg = replace(params, **over).resolved(n)
        if all(cfg != other for _, other in configs):
            configs.append((over, cfg))
    if len(configs) < 2:
        return Selection(resolved, None, [], "not selected (every setting was given)")

    fits: list[FitResult] = []
    for i, (over, cfg) in enumerate(configs):
        progress(f"selection: candidate {i + 1}/{len(configs)} {over or 'defaults'}")
        fits.append(fit_engine(prep, catalog, cfg, mem=mem, progress=progress))

    ref = fits[0].oof
    A = ref["action"]
    rows = np.arange(n)
    comp = catalog.compensation_matrix(prep["disputed_amount"].to_numpy(float))
    ltv = prep["lifetime_value"].to_numpy(float)
    hc = catalog.handling_costs
    reward = realized_reward(ltv, prep["churned_90d"].to_numpy(float), comp[rows, A], hc[A])
    logged = (
        prep["logging_propensity"].to_numpy(float)
        if "logging_propensity" in prep.columns
        else np.full(n, np.nan)
    )
    estimated = ref["propensity"][rows, A]
    propensity = np.where(np.isfinite(logged) & (logged > 0), logged, estimated)
    # the candidates scoring offers (fit_engine's action codes are catalog indices)
    eligible = scored_candidates(
        fits[0].engine.supported_actions(), ref["eligible"], catalog.baseline_index
    )
    churn_ref = np.mean([f.oof["churn_prob"] for f in fits], axis=0)
    q_ref = net_value(ltv, churn_ref, comp, hc)

    def terms(fit: FitResult) -> np.ndarray:
        q = net_value(ltv, fit.oof["churn_prob"], comp, hc)
        out = np.zeros(n)
        for lam in PRICES:
            choice = np.argmax(np.where(eligible, q - lam * comp, -np.inf), axis=1)
            out += dr_terms(
                reward - lam * comp[rows, A],
                A,
                choice,
                propensity,
                q_ref - lam * comp,
                min_propensity=fits[0].engine.params.propensity_clip,
            )
        return out / len(PRICES)

    all_terms = [terms(fit) for fit in fits]
    gains = paired_gains(all_terms)
    best = choose(gains, min_z)
    table = [
        {
            "overrides": dict(over),
            "n_folds": cfg.n_folds,
            "value": value,
            "gain": gain,
            "se": se,
            "chosen": i == best,
        }
        for i, ((over, cfg), (value, gain, se)) in enumerate(zip(configs, gains, strict=True))
    ]
    best_gain = gains[best][1]
    reason = (
        f"candidate {best + 1} {configs[best][0]}: paired DR gain {best_gain:.2f} per complaint "
        f"(se {table[best]['se']:.2f})"
        if best
        else f"candidate 1 {configs[0][0]}: no other gained {min_z:g} standard errors"
    )
    progress(f"selection: {reason}")
    chosen, fit = configs[best][1], fits[best]
    if "cut_rounds" not in free or chosen.n_estimators <= MIN_ROUNDS:  # nothing to decide
        return Selection(chosen, fit, table, reason)

    # the churn model's rounds (see the module doc)
    signal = contrast_signal(
        prep["churned_90d"].to_numpy(float),
        A,
        propensity,
        churn_ref,
        churn_ref,
        eligible,
        catalog.baseline_index,
        min_propensity=chosen.propensity_clip,
    )
    rounds: dict[str, float] = {
        "signal_slope": signal.slope,
        "signal_se": signal.se,
        "signal_z": signal.z,
    }
    signal_note = f"contrasts' heterogeneity z {signal.z:.1f}"
    if signal.z >= min_z:
        note = f"all {chosen.n_estimators} churn rounds kept (the log bears out the {signal_note})"
    elif min_z * signal.se > DETECTABLE_SLOPE:
        note = (
            f"all {chosen.n_estimators} churn rounds kept ({signal_note}, but the log is too "
            f"small to tell: se {signal.se:.2f} of the slope)"
        )
    else:
        progress(f"selection: {signal_note} < {min_z:g}: the churn rounds' cut")
        cut_cfg = replace(chosen, cut_rounds=True)
        cut_fit = fit_engine(prep, catalog, cut_cfg, mem=mem, progress=progress)
        kept = min(m.num_trees() for m in cut_fit.engine.churn_models)
        rounds["kept"] = float(kept)
        if kept >= chosen.n_estimators:
            note = (
                f"all {chosen.n_estimators} churn rounds kept ({signal_note}, but the held-out "
                "loss shows no overfit)"
            )
        else:
            cut_terms = terms(cut_fit)
            value, gain_ref, se_ref = paired_gains([all_terms[0], cut_terms])[1]
            gain, se = paired_gains([all_terms[best], cut_terms])[1][1:]
            rounds |= {"gain": gain, "se": se}
            taken = gain >= -min_z * se
            for row in table:
                row["chosen"] = row["chosen"] and not taken
            over = {**configs[best][0], "cut_rounds": True}
            table.append(
                {
                    "overrides": over,
                    "n_folds": cut_cfg.n_folds,
                    "value": value,
                    "gain": gain_ref,
                    "se": se_ref,
                    "chosen": taken,
                }
            )
            verdict = (
                f"churn cut to {kept} of {chosen.n_estimators} rounds"
                if taken
                else f"all {chosen.n_estimators} churn rounds kept (the cut to {kept} lost)"
            )
            note = f"{verdict}: {signal_note}, the cut's paired DR gain {gain:.2f} (se {se:.2f})"
            if taken:
                chosen, fit = cut_cfg, cut_fit
    progress(f"selection: {note}")
    return Selection(chosen, fit, table, f"{reason}; {note}", rounds)


def paired_gains(terms: Sequence[np.ndarray]) -> list[tuple[float, float, float]]:
    """Per candidate, ``(value, gain, se)`` from its per-complaint DR terms: the mean
    term, the mean paired difference from the first candidate's terms and its standard
    error (0 for the first itself)."""
    base = terms[0]
    n = len(base)
    out = []
    for i, t in enumerate(terms):
        d = t - base
        se = float(d.std(ddof=1) / np.sqrt(n)) if i and n > 1 else 0.0
        out.append((float(t.mean()), float(d.mean()), se))
    return out


def choose(gains: Sequence[tuple[float, float, float]], min_z: float = 1.0) -> int:
    """The candidate with the largest paired gain among those that gained at least
    ``min_z`` standard errors (and more than nothing); 0, the reference, when none did.

    >>> choose([(10.0, 0.0, 0.0), (12.0, 2.0, 1.5), (13.0, 3.0, 4.0)])
    1
    >>> choose([(10.0, 0.0, 0.0), (9.0, -1.0, 0.5)])
    0
    """
    best, best_gain = 0, 0.0
    for i, (_value, gain, se) in enumerate(gains):
        if i and gain > best_gain and gain >= min_z * se:
            best, best_gain = i, gain
    return best
