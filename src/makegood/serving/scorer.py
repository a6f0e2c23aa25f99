"""One complaint's candidates for the service: the batch pipeline and scoring, for n = 1.

A :class:`Scorer` wraps a loaded bundle for serving: the boosters are pinned to
``num_threads`` (1 in the server: several workers share the cores), the model row comes
from the bundle's :class:`~makegood.features.pipeline.FeaturePipeline`
(``transform_one``) and the candidates from
:func:`~makegood.modeling.predict.score_rows`, the scoring function of ``recommend`` and
the finance report. A scorer never changes after construction, so a request keeps the
one it started with while a reload swaps in another.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from makegood.features.memory import EarlierRows
from makegood.modeling.attribution import ContrastExplainer
from makegood.modeling.bundle import PinnedBooster
from makegood.modeling.predict import THIN_EVIDENCE, Scores, score_rows

__all__ = ["CANDIDATE_FIELDS", "THIN_EVIDENCE", "ScoredComplaint", "Scorer"]

NO_SATISFACTION_NOTE = (
    "This model was trained on a history with too few answered surveys to predict "
    "satisfaction: expected_satisfaction is null and resolutions are ranked and "
    "explained by churn and net value only."
)


_Pinned = PinnedBooster  # one definition, in modeling.bundle


@dataclass(frozen=True)
class ScoredComplaint:
    """One complaint's :class:`~makegood.modeling.predict.Scores` (n = 1) as (K,) rows,
    plus the named model inputs (for explanations)."""

    scores: Scores
    values: dict[str, Any]

    @property
    def ids(self) -> list[str]:
        return self.scores.action_ids

    @property
    def X(self) -> np.ndarray:
        assert self.scores.X is not None
        return self.scores.X

    @property
    def lifetime_value(self) -> float:
        return float(self.scores.lifetime_value[0])

    @property
    def baseline_index(self) -> int:
        return self.scores.baseline_index

    @property
    def handling_cost(self) -> np.ndarray:
        return self.scores.handling_cost

    @property
    def has_satisfaction(self) -> bool:
        return bool(np.isfinite(self.satisfaction).any())

    @property
    def value_at_risk(self) -> float:
        """``lifetime_value * churn(baseline)``: what is lost if the do-minimum fails."""
        return self.lifetime_value * float(self.churn_prob[self.baseline_index])

    def __getattr__(self, name: str) -> np.ndarray:
        # eligible, compensation, satisfaction, churn_prob, churn_lo, churn_hi,
        # retention_lift, net_value, net_value_lo, net_value_hi, propensity: row 0
        if name in CANDIDATE_FIELDS:
            return getattr(self.scores, name)[0]
        raise AttributeError(name)


#: The per-candidate arrays of :class:`ScoredComplaint` (row 0 of its Scores).
CANDIDATE_FIELDS = frozenset(
    {
        "eligible",
        "compensation",
        "satisfaction",
        "churn_prob",
        "churn_lo",
        "churn_hi",
        "retention_lift",
        "net_value",
        "net_value_lo",
        "net_value_hi",
        "propensity",
    }
)


class Scorer:
    """A bundle ready for one-complaint requests.

    Parameters:
        bundle: a loaded :class:`~makegood.modeling.bundle.Bundle` (with or without a
            satisfaction model).
        num_threads: LightGBM threads per prediction.
        explain_folds: fold models explained per contrast (each costs 2 TreeSHAP rows
            per model; see :class:`~makegood.modeling.attribution.ContrastExplainer`).
    """

    def __init__(self, bundle: Any, *, num_threads: int = 1, explain_folds: int = 1) -> None:
        eng = bundle.engine
        self.engine = dataclasses.replace(
            eng,
            sat_models=[_Pinned(m, num_threads) for m in eng.sat_models],
            churn_models=[_Pinned(m, num_threads) for m in eng.churn_models],
            prop_models=[_Pinned(m, num_threads) for m in eng.prop_models],
        )
        self.bundle = dataclasses.replace(bundle, engine=self.engine)
        self.pipeline = self.bundle.pipeline
        self.catalog = bundle.catalog
        self.version = bundle.version
        self.meta = dict(bundle.meta)
        self.action_index = bundle.action_index
        self.labels = {r.id: r.label for r in self.catalog.resolutions}
        self.has_satisfaction = eng.has_satisfaction
        self.note = None if self.has_satisfaction else NO_SATISFACTION_NOTE
        # the narrowed tree models of the explanations: built here, once per bundle
        self.explainer = ContrastExplainer(
            self.engine, self.action_index, num_threads=num_threads, n_folds=explain_folds
        )
        self._eligible: dict[tuple[str, int], np.ndarray] = {}
        self.loaded_at = time.time()

    def customer_memory(
        self, customer_id: str, n: int
    ) -> tuple[dict[str, Any] | None, tuple[dict[str, Any], ...]]:
        """``(profile, recent n complaints)`` of a customer from the bundle's memory (None
        and ``()`` when unknown)."""
        memory = self.bundle.memory
        if memory is None:
            return None, ()
        recent = tuple(memory.recent(customer_id, n)) if n > 0 else ()
        return memory.profile(customer_id), recent

    def score(
        self,
        complaint: Mapping[str, Any],
        *,
        earlier: Sequence[Mapping[str, Any]] = (),
    ) -> ScoredComplaint:
        """Every candidate of one normalized complaint: ``score`` of a batch of one.

        ``earlier``: the customer's contacts recorded since training (history-form
        rows: complaint fields, resolution, compensation, satisfaction); the customer
        memory features count them as the stored history's rows.
        """
        rows = EarlierRows.from_records(earlier) if earlier else None
        X, values = self.pipeline.transform_one(complaint, earlier=rows)
        key = (str(complaint["issue_type"]), int(complaint["severity"]))
        eligible = self._eligible.get(key)
        if eligible is None:
            eligible = self.catalog.eligibility_matrix(
                np.array([key[0]], dtype=object), np.array([key[1]])
            )
            if len(self._eligible) < 10_000:
                self._eligible[key] = eligible
        s = score_rows(
            self.bundle,
            X,
            complaint_ids=np.array([complaint["complaint_id"]], dtype=object),
            issue_type=np.array([key[0]], dtype=object),
            severity=np.array([key[1]]),
            disputed_amount=np.array([float(complaint["disputed_amount"])]),
            lifetime_value=np.array([float(complaint["lifetime_value"])]),
            eligible=eligible,
            folds=True,  # the explanation reads its candidates' fold predictions
        )
        return ScoredComplaint(s, values)
