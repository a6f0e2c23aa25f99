"""One complaint's candidates, predicted the way ``modeling.predict.score`` does, fast.

A :class:`Scorer` wraps a loaded bundle for serving: the boosters are pinned to
``num_threads`` (1 in the server: several workers share the cores), the model row is
built by :class:`~makegood.serving.features.RowFeatures`, and the per-candidate
arrays follow :func:`makegood.modeling.predict.score` exactly (tested) without a frame.
A scorer never changes after construction, so a request keeps the one it started
with while a reload swaps in another.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from makegood.errors import ModelNotFoundError
from makegood.explain import Attribution, contrast_attribution, pair_difference_models
from makegood.features import memory as _memory_mod
from makegood.modeling.predict import THIN_EVIDENCE, Z95
from makegood.policy.value import net_value, retention_lift
from makegood.serving.features import RowFeatures, store_complaints

__all__ = ["THIN_EVIDENCE", "Candidates", "Scorer"]

CUSTOMER_CACHE_SIZE = 20_000  # customers whose memory look-ups a worker keeps


class _Pinned:
    """A LightGBM booster whose predictions use a fixed number of threads."""

    __slots__ = ("booster", "num_threads")

    def __init__(self, booster: Any, num_threads: int) -> None:
        self.booster = booster
        self.num_threads = num_threads

    def predict(self, data: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("num_threads", self.num_threads)
        return self.booster.predict(data, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.booster, name)


@dataclass(frozen=True)
class Candidates:
    """Predictions for every resolution of the catalog (arrays (K,), catalog order)."""

    ids: list[str]
    eligible: np.ndarray
    compensation: np.ndarray
    handling_cost: np.ndarray
    satisfaction: np.ndarray
    churn_prob: np.ndarray
    churn_lo: np.ndarray
    churn_hi: np.ndarray
    retention_lift: np.ndarray
    net_value: np.ndarray
    net_value_lo: np.ndarray
    net_value_hi: np.ndarray
    propensity: np.ndarray
    lifetime_value: float
    baseline_index: int
    X: np.ndarray
    values: dict[str, Any]

    @property
    def value_at_risk(self) -> float:
        """``lifetime_value * churn(baseline)``: what is lost if the do-minimum fails."""
        return self.lifetime_value * float(self.churn_prob[self.baseline_index])


class Scorer:
    """A bundle ready for one-complaint requests.

    Parameters:
        bundle: a loaded :class:`~makegood.modeling.bundle.Bundle`.
        num_threads: LightGBM threads per prediction.
        explain_folds: fold models explained per contrast (each costs 2 TreeSHAP rows
            per model).
        self_check: compare the fast feature row with ``features_for`` at start-up.
    """

    def __init__(
        self,
        bundle: Any,
        *,
        num_threads: int = 1,
        explain_folds: int = 1,
        self_check: bool = True,
    ) -> None:
        eng = bundle.engine
        if not eng.sat_models:
            # the agents' answer explains through expected satisfaction; a model trained
            # on a history without surveys can serve batch `recommend`, not this service
            raise ModelNotFoundError(
                f"model {bundle.version} was trained without satisfaction surveys (too few "
                "answered); the service needs a model with a satisfaction model: retrain "
                "on a history with survey answers"
            )
        self.engine = dataclasses.replace(
            eng,
            sat_models=[_Pinned(m, num_threads) for m in eng.sat_models],
            churn_models=[_Pinned(m, num_threads) for m in eng.churn_models],
            prop_models=[_Pinned(m, num_threads) for m in eng.prop_models],
        )
        self.bundle = bundle
        self.catalog = bundle.catalog
        self.version = bundle.version
        self.meta = dict(bundle.meta)
        self.action_index = bundle.action_index
        self.labels = {r.id: r.label for r in self.catalog.resolutions}
        self.explain_folds = max(1, min(explain_folds, len(eng.churn_models)))
        p = len(eng.spec.names)
        codes = [int(a) for a in self.action_index]
        # per explained fold, per pair of action codes: the (satisfaction, churn) trees
        # that can tell the pair apart (the same contribution difference, fewer trees)
        self.pair_models: list[dict[tuple[int, int], tuple[_Pinned, _Pinned]]] = []
        for f in range(self.explain_folds):
            sat = pair_difference_models(eng.sat_models[f], p, codes)
            churn = pair_difference_models(eng.churn_models[f], p, codes, mediator=p + 1)
            self.pair_models.append(
                {
                    pair: (_Pinned(sat[pair], num_threads), _Pinned(churn[pair], num_threads))
                    for pair in sat
                }
            )
        self._eligible: dict[tuple[str, int], np.ndarray] = {}
        self.features = RowFeatures(_with_engine(bundle, self.engine))
        self.fast_features = (
            self.features.self_check(store_complaints(bundle)) if self_check else True
        )
        signals = bundle.text_signals
        self.base_rates: dict[str, float] = {}
        if signals is not None:
            self.base_rates = {
                name: float(rate)
                for name, rate in zip(signals.feature_names_, signals.base_rates_, strict=True)
            }
        # The bundle's customer memory never changes while this scorer serves, so its
        # (pandas) look-ups are memoized per worker: one per customer, not three per request.
        self.customer_memory = functools.lru_cache(maxsize=CUSTOMER_CACHE_SIZE)(self._memory)
        self._memory_columns: dict[str, Any] | None = None
        rows = getattr(bundle.memory, "_rows", None)
        needed = (
            set(getattr(_memory_mod, "_RECENT_KEYS", ()))
            | set(getattr(_memory_mod, "_PROFILE_COLUMNS", ()))
            | {"opened_at"}
        )
        if (
            rows is not None
            and hasattr(_memory_mod, "_plain")
            and len(needed) > 1
            and needed <= set(rows.columns)
        ):
            self._memory_columns = {name: rows[name].array for name in sorted(needed)}
        self.loaded_at = time.time()

    def _memory(
        self, customer_id: str, n: int
    ) -> tuple[dict[str, Any] | None, tuple[dict[str, Any], ...]]:
        """``(profile, recent n complaints)`` of a customer from the bundle's memory (None
        and ``()`` when unknown). Shared between requests: treat as read-only."""
        memory = self.bundle.memory
        if memory is None:
            return None, ()
        fast = self._memory_fast(customer_id, n)
        if fast is not None:
            return fast
        recent = tuple(memory.recent(customer_id, n)) if n > 0 else ()
        return memory.profile(customer_id), recent

    def _memory_fast(
        self, customer_id: str, n: int
    ) -> tuple[dict[str, Any] | None, tuple[dict[str, Any], ...]] | None:
        """``memory.profile``/``memory.recent`` from column slices of the customer's rows
        (found by the row builder's index) instead of frame indexing: the same values
        (tested), a fraction of the cost on a cache miss. None: use the store's methods."""
        spans = self.features._customers
        cols = self._memory_columns
        if cols is None or not spans:
            return None
        span = spans.get(customer_id)
        if span is None:
            return None, ()
        start, end = span
        vals = {name: arr[start:end].tolist() for name, arr in cols.items()}
        last = end - start - 1
        plain = _memory_mod._plain
        profile = {key: plain(vals[key][last]) for key in _memory_mod._PROFILE_COLUMNS}
        profile["as_of"] = plain(vals["opened_at"][last])
        recent = tuple(
            {key: plain(vals[key][i]) for key in _memory_mod._RECENT_KEYS}
            for i in range(last, max(last - n, -1), -1)
        )
        return profile, recent

    def score(self, complaint: Mapping[str, Any]) -> Candidates:
        """Every candidate of one normalized complaint (see ``predict.score``)."""
        X, values = self.features.row(complaint)
        cat = self.catalog
        idx = self.action_index
        pred = {k: v[:, idx] for k, v in self.engine.predict(X).items()}
        key = (complaint["issue_type"], int(complaint["severity"]))
        eligible = self._eligible.get(key)
        if eligible is None:
            eligible = cat.eligibility_matrix(np.array([key[0]], dtype=object), np.array([key[1]]))
            if len(self._eligible) < 10_000:
                self._eligible[key] = eligible
        comp = cat.compensation_matrix(np.array([float(complaint["disputed_amount"])]))
        ltv = np.array([float(complaint["lifetime_value"])])
        hc = cat.handling_costs
        churn = pred["churn_prob"]
        lo = np.clip(churn - Z95 * pred["churn_sd"], 0.0, 1.0)
        hi = np.clip(churn + Z95 * pred["churn_sd"], 0.0, 1.0)
        prop = np.where(eligible, self.engine.predict_propensity(X)[:, idx], 0.0)
        prop = prop / np.clip(prop.sum(axis=1, keepdims=True), 1e-12, None)
        return Candidates(
            ids=list(cat.ids),
            eligible=eligible[0],
            compensation=comp[0],
            handling_cost=hc,
            satisfaction=pred["satisfaction"][0],
            churn_prob=churn[0],
            churn_lo=lo[0],
            churn_hi=hi[0],
            retention_lift=retention_lift(churn, cat.baseline_index)[0],
            net_value=net_value(ltv, churn, comp, hc)[0],
            net_value_lo=net_value(ltv, hi, comp, hc)[0],
            net_value_hi=net_value(ltv, lo, comp, hc)[0],
            propensity=prop[0],
            lifetime_value=float(ltv[0]),
            baseline_index=cat.baseline_index,
            X=X,
            values=values,
        )

    def contrast(self, c: Candidates, r: int, u: int) -> Attribution:
        """Attribute ``NV_r - NV_u`` (catalog indices) to the complaint's inputs."""
        a_r, a_u = int(self.action_index[r]), int(self.action_index[u])
        pair = (min(a_r, a_u), max(a_r, a_u))
        return contrast_attribution(
            self.engine,
            c.X,
            a_r,
            a_u,
            lifetime_value=c.lifetime_value,
            churn_r=float(c.churn_prob[r]),
            churn_u=float(c.churn_prob[u]),
            compensation_r=float(c.compensation[r]),
            compensation_u=float(c.compensation[u]),
            handling_cost_r=float(c.handling_cost[r]),
            handling_cost_u=float(c.handling_cost[u]),
            n_folds=self.explain_folds,
            difference_models=[models[pair] for models in self.pair_models],
        )

    def words(self, text: str, target: str, n: int = 3) -> list[str]:
        """The customer's own terms that raise a text signal most (for a reason)."""
        signals = self.bundle.text_signals
        if signals is None or not text:
            return []
        try:
            pairs = self.features.term_contributions(text, target, n)
        except (KeyError, RuntimeError):
            return []
        return [term for term, w in pairs if w > 0 and not math.isnan(w)]


def _with_engine(bundle: Any, engine: Any) -> Any:
    return dataclasses.replace(bundle, engine=engine)
