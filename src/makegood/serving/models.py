"""The model a worker serves, swapped atomically; every worker follows one pin.

A request takes :attr:`ModelHolder.current` once and keeps that scorer to the end, so
a reload (building a new scorer off to the side, then one reference assignment) never
fails a request in flight. ``POST /v1/model/reload`` loads the bundle in the worker
that receives it and records the version in the database (``serving_model``); the
other workers poll that pin and follow.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, select
from sqlalchemy.exc import SQLAlchemyError

from makegood.errors import FieldError, ModelNotFoundError
from makegood.modeling.bundle import load_bundle, resolve_bundle_dir
from makegood.modeling.registry import resolve_models_dir
from makegood.serving.scorer import Scorer
from makegood.serving.settings import Settings
from makegood.store.ledger import make_engine

log = logging.getLogger("makegood.serving")

_VERSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_version_name(version: str, field: str) -> None:
    """Raise FieldError unless ``version`` is a bundle's name (never a path)."""
    if not _VERSION_NAME.fullmatch(version) or ".." in version or len(version) > 128:
        raise FieldError(
            field,
            "must be a version name (letters, digits, '_', '.', '-'; no '..', no path). "
            f"Got {version!r} instead.",
        )


# Created by the migrations (makegood.store.migrations, revision 0001).
pin_metadata = MetaData()
serving_model = Table(
    "serving_model",
    pin_metadata,
    Column("pin_id", Integer, primary_key=True),
    Column("version", String(128), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)


class ModelHolder:
    """Holds the current :class:`Scorer`; loads, swaps and follows the database pin."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._current: Scorer | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        engine = make_engine(settings.database_url)
        if settings.database_schema:
            engine = engine.execution_options(schema_translate_map={None: settings.database_schema})
        self._engine = engine

    @property
    def current(self) -> Scorer | None:
        return self._current

    def pinned(self) -> str | None:
        try:
            with self._engine.connect() as conn:
                return conn.execute(
                    select(serving_model.c.version).where(serving_model.c.pin_id == 1)
                ).scalar()
        except SQLAlchemyError:
            return None

    def _pin(self, version: str) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self._engine.begin() as conn:
            updated = conn.execute(
                serving_model.update()
                .where(serving_model.c.pin_id == 1)
                .values(version=version, updated_at=now)
            ).rowcount
            if not updated:
                conn.execute(
                    serving_model.insert().values(pin_id=1, version=version, updated_at=now)
                )

    def load(self, version: str | None = None, *, pin: bool = False) -> Scorer:
        """Load ``version`` (default: the pin, the configured version, else LATEST),
        build its scorer and swap it in. A pinned or configured version whose folder is
        gone falls back to the latest, with a warning; a requested one does not.

        Raises:
            FieldError: ``version`` is not a version name (a path, or '..').
            ModelNotFoundError: the requested version (or any bundle) is missing.
        On any error the current scorer stays."""
        requested = version
        if requested is not None:
            check_version_name(requested, "version")
        with self._lock:
            if version is None:
                version = self.pinned() if not pin else None
            version = version or self.settings.model_version
            # a registry URI (models:/makegood@champion) is resolved at every load, so a
            # reload follows the alias when it moves
            root = resolve_models_dir(self.settings.models_dir)
            try:
                if version is not None:
                    check_version_name(version, "model_version")
                path = resolve_bundle_dir(root, version)
            except (ModelNotFoundError, FieldError) as exc:
                if requested is not None or version is None:
                    raise
                # a pinned or configured version whose folder is gone (or is no name):
                # serve the latest rather than refuse to start
                log.warning(
                    "model version %r cannot be served (%s); serving the latest", version, exc
                )
                path = resolve_bundle_dir(root, None)
            current = self._current
            if current is not None and current.bundle.path == path:
                scorer = current
            else:
                bundle = load_bundle(path)
                scorer = Scorer(
                    bundle,
                    num_threads=self.settings.num_threads,
                    explain_folds=self.settings.explain_folds,
                )
                self._current = scorer  # the swap: one reference assignment
                log.info(
                    "model %s loaded (satisfaction model: %s)",
                    scorer.version,
                    scorer.has_satisfaction,
                )
            if pin:
                self._pin(scorer.version)
            return scorer

    def start_following(self) -> None:
        """Poll the pin every ``reload_poll_seconds`` in a daemon thread."""
        if self.settings.reload_poll_seconds <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._follow, name="model-pin", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self._stop.wait(self.settings.reload_poll_seconds):
            version = self.pinned()
            current = self._current
            if version and (current is None or current.version != version):
                try:
                    self.load(version)
                except Exception:  # noqa: BLE001 - keep serving the current model
                    log.exception("could not follow the pinned model %s", version)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._engine.dispose()


def describe(scorer: Scorer) -> dict[str, Any]:
    """What ``GET /v1/model`` says about a scorer."""
    meta = scorer.meta
    return {
        "version": scorer.version,
        "trained_at": None if meta.get("trained_at") is None else str(meta["trained_at"]),
        "metrics": meta.get("metrics", {}),
        "resolutions": list(scorer.catalog.ids),
        "loaded_at": datetime.fromtimestamp(scorer.loaded_at, UTC),
        "has_satisfaction": scorer.has_satisfaction,
    }
