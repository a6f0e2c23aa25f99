"""The package API for notebooks and scripts: load, train, recommend, evaluate.

>>> import makegood                                          # doctest: +SKIP
>>> history = makegood.load_history("data/raw/history.csv")  # doctest: +SKIP
>>> catalog = makegood.load_catalog("data/raw/catalog.yaml") # doctest: +SKIP
>>> model = makegood.train(history, catalog, n_estimators=200)  # doctest: +SKIP
>>> model.metrics["churn_auc"]                              # doctest: +SKIP
>>> complaints = makegood.load_complaints("data/raw/new_complaints.csv")  # doctest: +SKIP
>>> recs = model.recommend(complaints, budget=20_000)          # doctest: +SKIP
>>> recs.frame.head()                                        # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from makegood.contract.catalog import Catalog
from makegood.contract.catalog import load_catalog as _load_catalog
from makegood.contract.files import read_complaints, read_history

if TYPE_CHECKING:
    from makegood.modeling.bundle import Bundle


def load_history(path: str | Path, **kwargs) -> pd.DataFrame:
    """Read and validate a complaint history file (CSV or Parquet) into a normalized frame.

    Keyword arguments go to :func:`makegood.contract.read_history` (``quarantine``,
    ``max_errors``, ``catalog``). Raises ContractError listing every violation.
    """

    return read_history(path, **kwargs)


def load_complaints(path: str | Path, **kwargs) -> pd.DataFrame:
    """Read and validate new complaints (no outcome columns). Raises ContractError."""

    return read_complaints(path, **kwargs)


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a resolution catalog YAML. Raises CatalogError."""
    return _load_catalog(path)


@dataclass
class TrainedModel:
    """A trained makegood model: its bundle, metrics and where it was saved/logged."""

    bundle: Bundle
    metrics: dict
    run_id: str | None = None
    path: Path | None = None

    @property
    def version(self) -> str:
        return self.bundle.version

    @property
    def catalog(self) -> Catalog:
        return self.bundle.catalog

    def score(self, complaints: pd.DataFrame):
        """Per-candidate predictions (satisfaction, churn, net value with intervals)."""
        from makegood.modeling.predict import score

        return score(self.bundle, complaints)

    def recommend(self, complaints: pd.DataFrame, budget: float, *, conservative: bool = False):
        """Choose one eligible resolution per complaint under ``budget``.

        Returns a :class:`makegood.modeling.predict.Recommendations` (``.frame`` is the
        contract's output table, ``.rankings()`` every complaint's full ranking).
        """
        from makegood.modeling.predict import recommend

        return recommend(self.bundle, complaints, budget, conservative=conservative)

    def off_policy(self, history: pd.DataFrame, budget: float | None = None) -> dict:
        """IPS / SNIPS / DR value per complaint of this model's policy on logged complaints."""
        from makegood.modeling.evaluation_runner import off_policy_table

        return off_policy_table(self.bundle, history, self.catalog, budget).ope


def train(
    history: pd.DataFrame,
    catalog: Catalog,
    *,
    models_dir: str | Path | None = None,
    tracking_uri: str | None = None,
    experiment: str = "makegood",
    run_name: str | None = None,
    holdout_fraction: float = 0.2,
    progress=None,
    features: Mapping[str, str] | None = None,
    **params,
) -> TrainedModel:
    """Train on a normalized history; ``params`` are :class:`EngineParams` fields.

    ``features`` declares the history's own extra columns as model inputs, name -> kind
    (``category``, ``number`` or ``text``; see :mod:`makegood.features.extra`).

    Nothing is written unless ``models_dir`` is given, nothing logged unless
    ``tracking_uri`` is (e.g. ``"sqlite:///mlruns/mlflow.db"``).

    Raises:
        InvalidParameterError: for an unknown parameter or a value that breaks its rule
            (``n_folds must be >= 2 (or 0: auto). Got 1 instead.``), before any work is done.
    """
    from makegood.modeling.train import engine_params
    from makegood.modeling.train import train as _train

    res = _train(
        history,
        catalog,
        params=engine_params(**params),
        holdout_fraction=holdout_fraction,
        models_dir=models_dir,
        tracking_uri=tracking_uri,
        experiment=experiment,
        run_name=run_name,
        progress=progress,
        features=features,
    )
    return TrainedModel(res.bundle, res.metrics, res.run_id, res.bundle_path)


def load_model(models_dir: str | Path = "models", version: str | None = None) -> TrainedModel:
    """Load a saved bundle (the latest in ``models_dir`` unless ``version``)."""
    from makegood.modeling.bundle import load_bundle

    b = load_bundle(models_dir, version)
    return TrainedModel(b, b.meta.get("metrics", {}), b.meta.get("mlflow_run_id"), b.path)
