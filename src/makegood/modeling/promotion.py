"""Promotion gated by off-policy value: a candidate replaces the champion only if not worse.

:func:`promote_if_not_worse` compares a registered candidate version with the version the
alias (default ``champion``) points at, on the SAME held-out logged complaints (opened
after both models' training data): the doubly robust value of each model's policy at the
budget the agents spent, and a paired 95% interval of the difference
(:func:`makegood.modeling.evaluation_runner.compare_bundles`).

The rule: promote when the point estimate of the gain per complaint is at least
``min_gain`` (default 0: "not estimated worse"). The point estimate, not the lower bound,
so that a retrained model as good as the champion is promoted rather than refused half
the time; raise ``min_gain`` to demand a margin. ``force`` promotes regardless, with a
reason that is recorded. Every decision is recorded in MLflow: metrics ``promotion_*`` on
the candidate's run, tags ``promotion.*`` on the run and on the registered version.

Only ``modeling/`` talks to MLflow; the CLI (``makegood models promote``) and notebook 02
call this.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from makegood.contract.catalog import Catalog
from makegood.errors import ConfigError, ContractError, MakegoodError, ModelNotFoundError
from makegood.modeling.bundle import load_bundle
from makegood.modeling.evaluate import PolicyComparison
from makegood.modeling.evaluation_runner import compare_bundles
from makegood.modeling.registry import (
    DEFAULT_ALIAS,
    DEFAULT_CACHE_DIR,
    DEFAULT_NAME,
    mlflow_at,
    resolve_model_uri,
    version_by_alias,
)


class PromotionRefusedError(MakegoodError):
    """The candidate's off-policy value is below the champion's by more than allowed."""

    def __init__(self, decision: PromotionDecision) -> None:
        self.decision = decision
        super().__init__(decision.summary())


@dataclass(frozen=True)
class PromotionDecision:
    """What :func:`promote_if_not_worse` decided, and the comparison behind it."""

    name: str
    alias: str
    candidate_version: str
    champion_version: str | None  # None: there was no champion
    comparison: PolicyComparison | None
    min_gain: float
    promoted: bool
    forced: bool = False
    reason: str | None = None

    @property
    def outcome(self) -> str:
        if not self.promoted:
            return "refused"
        if self.forced:
            return "forced"
        return "promoted" if self.champion_version is not None else "first_champion"

    def summary(self) -> str:
        """One paragraph a person can act on."""
        head = f"{self.name} version {self.candidate_version}"
        if self.champion_version is None:
            return f"{head} is the first {self.alias}: nothing to compare with"
        if self.champion_version == self.candidate_version:
            return f"{head} already is {self.name}@{self.alias}"
        lines = []
        c = self.comparison
        if c is not None:
            lines.append(
                f"DR value per complaint on {c.n} held-out logged complaints: candidate "
                f"{c.candidate.value:.2f} [{c.candidate.lo:.2f}, {c.candidate.hi:.2f}], "
                f"champion (version {self.champion_version}) {c.champion.value:.2f} "
                f"[{c.champion.lo:.2f}, {c.champion.hi:.2f}]; gain {c.gain.value:+.2f} "
                f"(paired 95% CI [{c.gain.lo:+.2f}, {c.gain.hi:+.2f}]; same choice on "
                f"{c.agreement:.0%} of complaints)"
            )
        if self.outcome == "refused":
            lines.append(
                f"refused: the gain {c.gain.value:+.2f} is below --min-gain {self.min_gain:g} "
                f"(pass --force --reason '...' to promote anyway)"
                if c is not None
                else "refused"
            )
        elif self.forced:
            lines.append(f"promoted by force ({self.reason})")
        else:
            lines.append(f"promoted: the gain is >= --min-gain {self.min_gain:g}")
        return f"{head} vs {self.alias}: " + "; ".join(lines)


def promote_if_not_worse(
    version: str | int,
    *,
    history: pd.DataFrame | None,
    catalog: Catalog | None = None,
    name: str = DEFAULT_NAME,
    alias: str = DEFAULT_ALIAS,
    tracking_uri: str | None = None,
    min_gain: float = 0.0,
    budget: float | None = None,
    force: bool = False,
    reason: str | None = None,
    cache_dir: str | Path = DEFAULT_CACHE_DIR,
    source: str = "<history>",
) -> PromotionDecision:
    """Point ``name@alias`` at ``version`` unless its off-policy value is worse (see module).

    ``history`` is a normalized frame of logged complaints with outcomes; only those
    opened after both models' training data count. ``catalog`` defaults to the
    candidate's. Returns the decision (also recorded in MLflow). Raises
    PromotionRefusedError when refused, ConfigError when ``force`` has no ``reason`` or
    a comparison is needed and ``history`` is None, ContractError when ``history`` holds
    too few held-out complaints, ModelNotFoundError for an unknown version.
    """
    from mlflow.exceptions import MlflowException  # MLflow is imported when used

    if force and not (reason or "").strip():
        raise ConfigError("--force needs --reason: say why the comparison is overridden")
    mlflow, client = mlflow_at(tracking_uri)
    version = str(version)
    try:
        candidate_mv = client.get_model_version(name, version)
    except MlflowException as e:
        raise ModelNotFoundError(f"model {name!r} has no version {version!r}") from e
    try:
        champion_version: str | None = str(version_by_alias(client, name, alias).version)
    except ModelNotFoundError:
        champion_version = None

    comparison = None
    if champion_version is not None and champion_version != version:
        if history is None and not force:
            raise ConfigError(
                f"{name}@{alias} is version {champion_version}: comparing version {version} "
                "with it needs logged complaints neither model was trained on (--history), "
                "or --force --reason '...'"
            )
        if history is not None:
            cand = load_bundle(
                resolve_model_uri(f"models:/{name}/{version}", tracking_uri, cache_dir=cache_dir)
            )
            champ = load_bundle(
                resolve_model_uri(
                    f"models:/{name}/{champion_version}", tracking_uri, cache_dir=cache_dir
                )
            )
            cat = catalog if catalog is not None else cand.catalog
            try:
                comparison = compare_bundles(
                    cand, champ, history, cat, budget=budget, source=source
                )
            except ContractError:
                if not force:
                    raise
    promoted = (
        force
        or champion_version is None
        or champion_version == version
        or (comparison is not None and comparison.gain.value >= min_gain)
    )
    decision = PromotionDecision(
        name=name,
        alias=alias,
        candidate_version=version,
        champion_version=champion_version,
        comparison=comparison,
        min_gain=float(min_gain),
        promoted=promoted,
        forced=bool(force) and champion_version not in (None, version),
        reason=reason.strip() if reason else None,
    )
    _record(client, candidate_mv, decision)
    if not promoted:
        raise PromotionRefusedError(decision)
    client.set_registered_model_alias(name, alias, version)
    return decision


def _record(client, mv, decision: PromotionDecision) -> None:
    """Metrics on the candidate's run, tags on the run and on the registered version."""
    tags = {
        "promotion.outcome": decision.outcome,
        "promotion.alias": decision.alias,
        "promotion.champion_version": decision.champion_version or "none",
        "promotion.min_gain": f"{decision.min_gain:g}",
    }
    if decision.reason:
        tags["promotion.forced_reason"] = decision.reason
    c = decision.comparison
    if c is not None:
        tags["promotion.gain"] = f"{c.gain.value:.4f} [{c.gain.lo:.4f}, {c.gain.hi:.4f}]"
    for key, value in tags.items():
        client.set_model_version_tag(decision.name, mv.version, key, value)
    if not mv.run_id:
        return
    for key, value in tags.items():
        client.set_tag(mv.run_id, key, value)
    if c is not None:
        metrics: dict[str, float] = {
            "promotion_gain": c.gain.value,
            "promotion_gain_lo": c.gain.lo,
            "promotion_gain_hi": c.gain.hi,
            "promotion_candidate_dr": c.candidate.value,
            "promotion_champion_dr": c.champion.value,
            "promotion_rows": float(c.n),
            "promotion_agreement": c.agreement,
        }
        for mkey, mvalue in metrics.items():
            client.log_metric(mv.run_id, mkey, float(mvalue))


def compare_with_champion(
    candidate,
    history: pd.DataFrame,
    catalog: Catalog,
    *,
    name: str = DEFAULT_NAME,
    alias: str = DEFAULT_ALIAS,
    tracking_uri: str | None = None,
) -> tuple[str | None, PolicyComparison | None, str]:
    """Compare a (not yet registered) bundle with ``name@alias`` on ``history``.

    Training calls this with its holdout model and holdout rows. Returns (champion
    version or None, comparison or None, a note saying what was done or why not). Never
    raises for a missing champion or too few held-out rows: training must not fail
    because a comparison is impossible.
    """
    _, client = mlflow_at(tracking_uri)
    try:
        version = str(version_by_alias(client, name, alias).version)
    except ModelNotFoundError:
        return None, None, f"no {name}@{alias} to compare with"
    with tempfile.TemporaryDirectory(prefix="makegood-champion-") as tmp:
        try:
            folder = resolve_model_uri(f"models:/{name}@{alias}", tracking_uri, cache_dir=tmp)
            champion = load_bundle(folder)
            comparison = compare_bundles(candidate, champion, history, catalog)
        except MakegoodError as e:
            return version, None, f"not compared with version {version}: {e}"
    return version, comparison, f"compared with {name}@{alias} (version {version})"
