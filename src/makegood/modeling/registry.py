"""The MLflow model registry: register a trained bundle, promote it, resolve it to a folder.

A training run logs its bundle folder as run artifacts under ``bundle`` (see
``modeling/train.py``). MLflow 3 registers only *logged models*, not plain artifact
folders, so :func:`register_bundle` logs a small pyfunc model into the same run that
carries the bundle as its artifact (its ``predict`` recommends a resolution per complaint)
and registers that. Consumers never load the pyfunc: :func:`resolve_model_uri` downloads
the bundle folder of a version (cached under ``models/registry/<name>/<version>/``), and
``load_bundle`` reads it like any other bundle.

>>> from makegood.modeling.registry import register_bundle, promote, resolve_models_dir
>>> version = register_bundle(run_id, tracking_uri)                # doctest: +SKIP
>>> promote("makegood", version, tracking_uri=tracking_uri)        # doctest: +SKIP
>>> resolve_models_dir("models:/makegood@champion", tracking_uri)  # doctest: +SKIP
PosixPath('models/registry/makegood/1')

Only ``modeling/`` talks to MLflow; callers pass plain strings and paths.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from makegood.contract.files import validate_complaints
from makegood.errors import MakegoodError, ModelNotFoundError

DEFAULT_NAME = "makegood"
DEFAULT_ALIAS = "champion"
DEFAULT_CACHE_DIR = Path("models/registry")
DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"  # same default as modeling/train.py
PYFUNC_NAME = "makegood_policy"  # the logged model's name inside the run
_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))$")


@dataclass(frozen=True)
class ModelVersionInfo:
    """One registered version: where it came from and how it scored at training."""

    name: str
    version: str
    run_id: str | None
    aliases: tuple[str, ...]
    bundle_version: str | None
    created_at: pd.Timestamp | None
    metrics: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "aliases": list(self.aliases),
            "run_id": self.run_id,
            "bundle_version": self.bundle_version,
            "created_at": None if self.created_at is None else str(self.created_at),
            "metrics": self.metrics,
        }


def default_tracking_uri(tracking_uri: str | None = None) -> str:
    """``tracking_uri``, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlruns/mlflow.db``."""
    return tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def mlflow_at(tracking_uri: str | None):
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    uri = default_tracking_uri(tracking_uri)
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    return mlflow, mlflow.MlflowClient(tracking_uri=uri)


def bundle_policy():
    """The pyfunc face of a bundle: ``predict(complaints)`` -> one resolution each.

    ``complaints`` is a frame in the contract's complaint form; ``params={"budget": x}``
    caps the total compensation (default: no cap). Returns the recommendation table.
    Built in a function so importing this module does not import MLflow; the logged model
    holds only a three-line script calling this (MLflow's "models from code"), not a pickle.
    """
    import mlflow.pyfunc

    # input is checked by the contract, not by type hints: MLflow's hint warning is noise
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="(?s).*type hints")

        class BundlePolicy(mlflow.pyfunc.PythonModel):
            def load_context(self, context):
                from makegood.modeling.bundle import load_bundle

                self.bundle = load_bundle(context.artifacts["bundle"])

            def predict(self, context, model_input, params=None):
                from makegood.modeling.predict import recommend

                df = validate_complaints(pd.DataFrame(model_input), source="<pyfunc input>")
                budget = (params or {}).get("budget")
                if budget is None:
                    comp = self.bundle.catalog.compensation_matrix(
                        df["disputed_amount"].to_numpy(float)
                    )
                    budget = float(comp.max(axis=1).sum()) + 1.0
                return recommend(self.bundle, df, float(budget)).frame

    return BundlePolicy()


_POLICY_SCRIPT = """\
import mlflow.models

from makegood.modeling.registry import bundle_policy

mlflow.models.set_model(bundle_policy())
"""


def _pip_requirements() -> list[str]:
    # explicit, so MLflow does not spend seconds inferring them in a subprocess
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for pkg in ("mlflow", "lightgbm", "numpy", "pandas", "scikit-learn", "makegood"):
        with contextlib.suppress(PackageNotFoundError):
            out.append(f"{pkg}=={version(pkg)}")
    return out


def _signature():
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ParamSchema, ParamSpec

    return ModelSignature(params=ParamSchema([ParamSpec("budget", "double", None)]))


def register_bundle(run_id: str, tracking_uri: str | None = None, name: str = DEFAULT_NAME) -> str:
    """Register the bundle logged by training run ``run_id`` as a new version of ``name``.

    Logs a pyfunc model (``makegood_policy``) carrying the run's ``bundle`` artifacts into
    the run, registers it, and tags the version with the run's ``bundle_version``,
    ``data_hash`` and ``git_commit``. Returns the new version number (a string).
    Raises ModelNotFoundError if the run does not exist or logged no bundle.
    """
    mlflow, client = mlflow_at(tracking_uri)
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(run_id)
    except MlflowException as e:
        raise ModelNotFoundError(f"MLflow run {run_id!r} not found: {e.message}") from e
    with tempfile.TemporaryDirectory(prefix="makegood-register-") as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path="bundle", dst_path=tmp
            )
        except (MlflowException, OSError) as e:
            raise ModelNotFoundError(
                f"run {run_id!r} has no 'bundle' artifacts: train with a models_dir "
                "and a tracking_uri so the bundle is logged"
            ) from e
        if not (Path(local) / "bundle.json").exists():
            raise ModelNotFoundError(f"run {run_id!r} logged no bundle.json under 'bundle'")
        script = Path(tmp) / "makegood_policy.py"
        script.write_text(_POLICY_SCRIPT)
        with mlflow.start_run(run_id=run_id), warnings.catch_warnings():
            # the policy validates its input itself (the contract), not by type hints
            warnings.filterwarnings("ignore", message="(?s).*(type hints|input example)")
            info = mlflow.pyfunc.log_model(
                name=PYFUNC_NAME,
                python_model=str(script),
                artifacts={"bundle": local},
                signature=_signature(),
                pip_requirements=_pip_requirements(),
            )
    mv = mlflow.register_model(info.model_uri, name)
    tags = run.data.tags
    for key in ("bundle_version", "data_hash", "git_commit"):
        if key in tags:
            client.set_model_version_tag(name, mv.version, key, tags[key])
    client.set_model_version_tag(name, mv.version, "run_id", run_id)
    return str(mv.version)


def promote(
    name: str = DEFAULT_NAME,
    version: str | int | None = None,
    alias: str = DEFAULT_ALIAS,
    tracking_uri: str | None = None,
) -> ModelVersionInfo:
    """Point ``alias`` (default ``champion``) of model ``name`` at ``version``.

    Returns the promoted version's info. Raises ModelNotFoundError if the version
    does not exist.
    """
    if version is None:
        raise MakegoodError("version must be given. Got None instead.")
    _, client = mlflow_at(tracking_uri)
    from mlflow.exceptions import MlflowException

    try:
        client.get_model_version(name, str(version))
    except MlflowException as e:
        raise ModelNotFoundError(f"model {name!r} has no version {str(version)!r}") from e
    client.set_registered_model_alias(name, alias, str(version))
    return _info(client, client.get_model_version(name, str(version)))


def _info(client, mv, aliases: tuple[str, ...] | None = None) -> ModelVersionInfo:
    metrics: dict[str, float] = {}
    if mv.run_id:
        try:
            metrics = dict(client.get_run(mv.run_id).data.metrics)
        except Exception:  # the run may have been deleted; the version still stands
            metrics = {}
    created = pd.Timestamp(mv.creation_timestamp, unit="ms") if mv.creation_timestamp else None
    return ModelVersionInfo(
        name=mv.name,
        version=str(mv.version),
        run_id=mv.run_id,
        aliases=aliases if aliases is not None else tuple(getattr(mv, "aliases", ()) or ()),
        bundle_version=(mv.tags or {}).get("bundle_version"),
        created_at=created,
        metrics=metrics,
    )


def list_versions(
    name: str = DEFAULT_NAME, tracking_uri: str | None = None
) -> list[ModelVersionInfo]:
    """Every registered version of ``name``, newest first (empty if none)."""
    _, client = mlflow_at(tracking_uri)
    versions = client.search_model_versions(f"name = '{name}'")
    if not versions:
        return []
    # search results carry no aliases in every store; the registered model has them all
    by_version: dict[str, list[str]] = {}
    for alias, v in client.get_registered_model(name).aliases.items():
        by_version.setdefault(str(v), []).append(alias)
    infos = [
        _info(client, mv, tuple(sorted(by_version.get(str(mv.version), [])))) for mv in versions
    ]
    return sorted(infos, key=lambda i: int(i.version), reverse=True)


def champion_info(
    name: str = DEFAULT_NAME, alias: str = DEFAULT_ALIAS, tracking_uri: str | None = None
) -> ModelVersionInfo:
    """The version that ``name@alias`` points at. Raises ModelNotFoundError if none."""
    _, client = mlflow_at(tracking_uri)
    return _info(client, version_by_alias(client, name, alias))


def version_by_alias(client, name: str, alias: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as e:
        raise ModelNotFoundError(
            f"no version of model {name!r} has the alias {alias!r}: register one and "
            f"promote it (`makegood models register` then `makegood models promote`)"
        ) from e


def parse_model_uri(spec: str) -> tuple[str, str | None, str | None]:
    """``models:/name@alias`` or ``models:/name/<version>`` -> (name, alias, version).

    >>> parse_model_uri("models:/makegood@champion")
    ('makegood', 'champion', None)
    >>> parse_model_uri("models:/makegood/3")
    ('makegood', None, '3')

    Raises ModelNotFoundError for anything else.
    """
    m = _URI.match(spec.strip())
    if m is None:
        raise ModelNotFoundError(
            f"model URI must look like 'models:/<name>@<alias>' or 'models:/<name>/<version>'. "
            f"Got {spec!r} instead."
        )
    return m["name"], m["alias"], m["version"]


def resolve_model_uri(
    spec: str, tracking_uri: str | None = None, *, cache_dir: str | Path = DEFAULT_CACHE_DIR
) -> Path:
    """The local bundle folder of a registered version (``models:/makegood@champion``).

    Downloads the version's bundle once into ``cache_dir/<name>/<version>/`` (versions are
    immutable; a cached copy from another store, i.e. another run id, is replaced) and
    returns that folder, which :func:`makegood.modeling.bundle.load_bundle` reads.
    Raises ModelNotFoundError if the name, alias or version does not exist.
    """
    name, alias, version = parse_model_uri(spec)
    mlflow, client = mlflow_at(tracking_uri)
    from mlflow.exceptions import MlflowException

    if alias is not None:
        mv = version_by_alias(client, name, alias)
    else:
        try:
            mv = client.get_model_version(name, version)
        except MlflowException as e:
            raise ModelNotFoundError(f"model {name!r} has no version {str(version)!r}") from e
    target = Path(cache_dir) / name / str(mv.version)
    if _cached_run_id(target) == mv.run_id and mv.run_id is not None:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{mv.version}.", dir=target.parent))
    try:
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{mv.version}", dst_path=str(tmp / "model")
            )
        )
        found = [p.parent for p in local.rglob("bundle.json")]
        if len(found) != 1:
            raise ModelNotFoundError(
                f"model {name!r} version {mv.version} holds {len(found)} bundles, expected 1"
            )
        staged = tmp / "bundle"
        os.replace(found[0], staged)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staged, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _cached_run_id(folder: Path) -> str | None:
    try:
        return json.loads((folder / "bundle.json").read_text()).get("mlflow_run_id")
    except (OSError, ValueError):
        return None


def is_model_uri(arg: str | Path) -> bool:
    """True for ``models:/...`` (a ``Path`` keeps the single slash, so both work)."""
    return str(arg).startswith("models:/")


def resolve_models_dir(
    arg: str | Path, tracking_uri: str | None = None, *, cache_dir: str | Path = DEFAULT_CACHE_DIR
) -> Path:
    """A local folder for ``--models-dir``: a plain path as is, a ``models:/`` URI resolved.

    ``makegood recommend --models-dir models:/makegood@champion`` and the server load the
    champion this way. The store is ``tracking_uri``, else ``$MLFLOW_TRACKING_URI``, else
    ``sqlite:///mlruns/mlflow.db``. Raises ModelNotFoundError (see :func:`resolve_model_uri`).
    """
    if is_model_uri(arg):
        return resolve_model_uri(str(arg), tracking_uri, cache_dir=cache_dir)
    return Path(arg)
