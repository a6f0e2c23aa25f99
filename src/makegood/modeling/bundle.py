"""The self-contained, versioned model bundle that ``recommend`` and the server load.

Layout of ``models/<version>/``::

    bundle.json            metadata: version, trained_at, data hash, git commit, metrics,
                           MLflow run, feature spec, catalog, DR corrections
    sat_<f>.txt            LightGBM satisfaction model of fold f (text format)
    sat_linear.json        the satisfaction models' pooled linear layers, one per fold
                           (absent in bundles trained without them: trees only)
    churn_<f>.txt          LightGBM churn model of fold f
    prop_<f>.txt           LightGBM propensity model of fold f
    text_signals.joblib    fitted text-signal models (TF-IDF + linear)
    memory.parquet         customer memory (earlier complaints) for new complaints

``models/LATEST`` names the newest version. A bundle is written to a temporary folder
and renamed into place, so a reader never sees half a bundle.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd

from makegood.contract.catalog import Catalog, parse_catalog
from makegood.contract.features import check_feature_values
from makegood.errors import CatalogError, IncompatibleModelError, ModelNotFoundError
from makegood.features.memory import CustomerMemoryStore
from makegood.features.pipeline import FeaturePipeline
from makegood.features.structured import FeatureSpec
from makegood.features.text.signals import TextSignals
from makegood.modeling.engine import Engine, EngineParams
from makegood.modeling.pooled import PooledLinear

#: 2: the feature spec may carry the company's declared columns (``extras``: kinds and
#: pooled levels) and the engine parameters their declaration (``features``).
FORMAT_VERSION = 2
#: Formats this makegood reads: a format-1 bundle has no declared columns and scores as
#: it always did.
READABLE_FORMATS = (1, 2)


@dataclass
class Bundle:
    """Everything needed to score new complaints."""

    engine: Engine
    catalog: Catalog
    text_signals: TextSignals | None
    memory: CustomerMemoryStore | None
    meta: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unsaved"))

    @functools.cached_property
    def pipeline(self) -> FeaturePipeline:
        """The fitted feature pipeline: complaints in, base model matrix out."""
        memory = self.memory if self.engine.params.use_memory else None
        return FeaturePipeline(self.engine.spec, self.text_signals, memory)

    @property
    def action_index(self) -> np.ndarray:
        """For each resolution of ``catalog`` (in its order), its index in the models."""
        ids = self.engine.action_ids
        return np.array([ids.index(r) for r in self.catalog.ids], dtype=int)

    def with_catalog(self, catalog: Catalog) -> Bundle:
        """This bundle scoring under another catalog (new costs, eligibility, subset).

        Every resolution of ``catalog`` must have been in the training catalog: the
        models know nothing of a resolution they never saw. Raises CatalogError.
        """
        unknown = [r for r in catalog.ids if r not in self.engine.action_ids]
        if unknown:
            raise CatalogError(
                f"catalog resolution(s) {unknown} were not in the catalog the model "
                f"{self.version} was trained with ({self.engine.action_ids}): retrain with "
                "a history and catalog that include them"
            )
        return Bundle(self.engine, catalog, self.text_signals, self.memory, self.meta, self.path)

    def check_inputs(self, frame: pd.DataFrame, *, source: str, row_offset: int = 0) -> None:
        """Refuse complaints whose declared columns this model reads are malformed (a
        ``number`` that is not one; ``contract.features.check_feature_values``). A declared
        column the complaints lack is missing for all of them. Raises ContractError."""
        extras = self.engine.spec.extras
        if extras is not None:
            check_feature_values(
                frame, extras.kinds, source=source, required=False, row_offset=row_offset
            )

    def save(self, models_dir: str | Path, version: str) -> Path:
        """Write the bundle as ``models_dir/version`` atomically; update ``LATEST``."""
        models_dir = Path(models_dir)
        models_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=models_dir))
        try:
            eng = self.engine
            for f, m in enumerate(eng.sat_models):
                m.save_model(str(tmp / f"sat_{f}.txt"))
            for f, m in enumerate(eng.churn_models):
                m.save_model(str(tmp / f"churn_{f}.txt"))
            for f, m in enumerate(eng.prop_models):
                m.save_model(str(tmp / f"prop_{f}.txt"))
            if eng.sat_linear:
                layers = [layer.to_dict() for layer in eng.sat_linear]
                (tmp / "sat_linear.json").write_text(json.dumps(layers) + "\n")
            if self.text_signals is not None:
                joblib.dump(self.text_signals, tmp / "text_signals.joblib")
            if self.memory is not None:
                self.memory.save(tmp / "memory.parquet")
            meta = dict(self.meta)
            meta.update(
                {
                    "format_version": FORMAT_VERSION,
                    "version": version,
                    "catalog": self.catalog.to_dict(),
                    "feature_spec": eng.spec.to_dict(),
                    "action_ids": eng.action_ids,
                    "engine_params": vars(eng.params),
                    "churn_correction": eng.churn_correction.tolist(),
                    "sat_correction": eng.sat_correction.tolist(),
                    "n_folds": len(eng.churn_models),
                    "n_sat_models": len(eng.sat_models),
                    "action_counts": eng.action_counts,
                    "diagnostics": eng.diagnostics,
                }
            )
            (tmp / "bundle.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
            final = models_dir / version
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        latest_tmp = models_dir / ".LATEST.tmp"
        latest_tmp.write_text(version + "\n")
        os.replace(latest_tmp, models_dir / "LATEST")
        self.meta = meta
        self.path = final
        return final


def resolve_bundle_dir(models_dir: str | Path, version: str | None = None) -> Path:
    """The folder of the requested (default: latest) bundle; raises ModelNotFoundError."""
    models_dir = Path(models_dir)
    if (models_dir / "bundle.json").exists():
        return models_dir
    if version is None:
        latest = models_dir / "LATEST"
        if not latest.exists():
            raise ModelNotFoundError(
                f"no trained model in {str(models_dir)!r}: run `makegood train` first "
                "(or pass --models-dir)"
            )
        version = latest.read_text().strip()
    path = models_dir / version
    if not (path / "bundle.json").exists():
        raise ModelNotFoundError(f"model bundle {str(path)!r} not found or incomplete")
    return path


def load_bundle(models_dir: str | Path = "models", version: str | None = None) -> Bundle:
    """Load a bundle written by :meth:`Bundle.save`.

    Raises:
        ModelNotFoundError: if there is no (complete) bundle there.
        IncompatibleModelError: if the bundle has another format version.
    """
    path = resolve_bundle_dir(models_dir, version)
    meta = json.loads((path / "bundle.json").read_text())
    if meta.get("format_version") not in READABLE_FORMATS:
        raise IncompatibleModelError(
            f"model bundle {str(path)!r} has format {meta.get('format_version')!r}; "
            f"this makegood reads formats {', '.join(map(str, READABLE_FORMATS))}: retrain"
        )
    n_folds = int(meta["n_folds"])

    def boosters(prefix: str, n: int = n_folds) -> list[lgb.Booster]:
        return [lgb.Booster(model_file=str(path / f"{prefix}_{f}.txt")) for f in range(n)]

    # a bundle written before the money input has models that do not read it
    ep = EngineParams(**{"money_input": False, **meta["engine_params"]})
    # JSON keeps tuples as lists: the declared columns back as (name, kind) pairs
    ep = replace(ep, features=tuple((str(n), str(k)) for n, k in ep.features))
    engine = Engine(
        params=ep,
        spec=FeatureSpec.from_dict(meta["feature_spec"]),
        action_ids=list(meta["action_ids"]),
        sat_models=boosters("sat", int(meta.get("n_sat_models", n_folds))),
        churn_models=boosters("churn"),
        prop_models=boosters("prop"),
        churn_correction=np.asarray(meta["churn_correction"], dtype=float),
        sat_correction=np.asarray(meta["sat_correction"], dtype=float),
        diagnostics=meta.get("diagnostics", {}),
        action_counts=meta.get("action_counts"),
        sat_linear=[PooledLinear.from_dict(d) for d in _read_json_list(path / "sat_linear.json")],
    )
    signals = None
    if (path / "text_signals.joblib").exists():
        signals = joblib.load(path / "text_signals.joblib")
    memory = None
    if (path / "memory.parquet").exists():
        memory = CustomerMemoryStore.load(path / "memory.parquet")
    catalog = parse_catalog(meta["catalog"], source=str(path / "bundle.json"))
    return Bundle(engine, catalog, signals, memory, meta, path)


def _read_json_list(path: Path) -> list[Any]:
    """The JSON list in ``path`` ([] when the bundle has no such file)."""
    return json.loads(path.read_text()) if path.exists() else []


class PinnedBooster:
    """A LightGBM booster whose predictions use a fixed number of threads.

    LightGBM predicts with every core unless told otherwise; where several processes
    share the cores (server workers, Dask workers) each pins its own share.
    """

    __slots__ = ("booster", "num_threads")

    def __init__(self, booster: Any, num_threads: int) -> None:
        self.booster = booster
        self.num_threads = num_threads

    def predict(self, data: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("num_threads", self.num_threads)
        return self.booster.predict(data, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.booster, name)


def pin_threads(bundle: Bundle, num_threads: int) -> Bundle:
    """The same bundle with every model predicting on ``num_threads`` threads."""

    def pin(models: list[Any]) -> list[Any]:
        return [PinnedBooster(m, num_threads) for m in models]

    eng = bundle.engine
    engine = replace(
        eng,
        sat_models=pin(eng.sat_models),
        churn_models=pin(eng.churn_models),
        prop_models=pin(eng.prop_models),
    )
    return replace(bundle, engine=engine)
