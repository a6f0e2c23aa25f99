"""The resolution catalog (CONTRACT.md section 2): what can be offered, at what cost.

A catalog is a YAML file listing resolutions with their handling cost, optional
compensation rule and optional eligibility limits, plus the ``baseline`` resolution that
retention lift is measured against, and optional ``guardrails`` (section 2b): floors
(:class:`Floor`, "at least this much for these complaints") and caps per customer
(:class:`Cap`, "at most this much in so many days"); :mod:`makegood.policy.guardrails`
enforces them. :func:`load_catalog` checks every rule and raises one
:class:`~makegood.errors.CatalogError` listing all problems; unknown keys are errors, so
a typo never passes silently. Inside makegood the :class:`Catalog` is trusted and offers
vectorised compensation and eligibility matrices of shape ``(n_complaints, K)``.

Beside it: a :class:`Resolution` (:mod:`.resolution`), the guardrail types
(:mod:`.guardrails`) and the YAML rules (:mod:`.catalog_parsing`); every public name
is importable from here.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from makegood.contract.catalog_parsing import (
    guardrail_id_problems,
    parse_guardrails,
    parse_resolution,
    structure_problems,
    unknown_keys,
)
from makegood.contract.guardrails import Cap, Condition, Floor, Guardrail, floor_amounts
from makegood.contract.reading import PathLike
from makegood.contract.resolution import Resolution
from makegood.errors import CatalogError

__all__ = [
    "Cap",
    "Catalog",
    "Condition",
    "Floor",
    "Resolution",
    "dump_catalog",
    "load_catalog",
    "parse_catalog",
]

_TOP_KEYS = ("currency", "baseline", "resolutions", "guardrails")


@dataclass(frozen=True)
class Catalog:
    """The resolutions on offer, in catalog order, the baseline among them, and the
    guardrails (none by default: then nothing changes).

    Raises:
        CatalogError: on construction, when ids repeat, the baseline is not among the
            resolutions, the baseline is not eligible for every complaint, or guardrail
            ids repeat.
    """

    currency: str
    baseline: str
    resolutions: tuple[Resolution, ...]
    guardrails: tuple[Guardrail, ...] = ()

    def __post_init__(self) -> None:
        problems = structure_problems(self.baseline, self.resolutions)
        problems += guardrail_id_problems(self.guardrails)
        if problems:
            raise CatalogError("\n".join(f"<catalog>: {p}" for p in problems))

    # computed once per catalog (it is immutable): read on every scored complaint
    @functools.cached_property
    def ids(self) -> tuple[str, ...]:
        """Resolution ids in catalog order (the K columns of every matrix)."""
        return tuple(r.id for r in self.resolutions)

    @functools.cached_property
    def baseline_index(self) -> int:
        """Column of the baseline resolution."""
        return self.index(self.baseline)

    @functools.cached_property
    def handling_costs(self) -> np.ndarray:
        """float64 array, shape (K,) (read-only)."""
        costs = np.array([r.handling_cost for r in self.resolutions], dtype=float)
        costs.setflags(write=False)
        return costs

    def index(self, resolution_id: str) -> int:
        """Column of ``resolution_id``.

        Raises:
            CatalogError: the id is not in the catalog.
        """
        try:
            return self.ids.index(resolution_id)
        except ValueError:
            raise CatalogError(
                f"resolution must be one of {', '.join(self.ids)}. Got {resolution_id!r} instead."
            ) from None

    def compensation_matrix(self, disputed_amount: np.ndarray) -> np.ndarray:
        """float64 array (n, K): compensation of each resolution for each complaint."""
        disputed = np.asarray(disputed_amount, dtype=float)
        return np.column_stack([r.compensation(disputed) for r in self.resolutions])

    def eligibility_matrix(self, issue_type: np.ndarray, severity: np.ndarray) -> np.ndarray:
        """bool array (n, K): may resolution k be offered for complaint i?

        ``issue_type`` as in the normalized frame (lower-case); ``severity`` integers.
        The baseline column is all True.
        """
        if len(issue_type) != len(severity):
            raise ValueError(
                "issue_type and severity must have the same length. "
                f"Got {len(issue_type)} and {len(severity)} instead."
            )
        if not self.resolutions:  # pragma: no cover - forbidden by __post_init__
            return np.ones((len(issue_type), 0), dtype=bool)
        return np.column_stack([r.eligible(issue_type, severity) for r in self.resolutions])

    @property
    def floors(self) -> tuple[Floor, ...]:
        """The ``compensation_at_least`` guardrails, in catalog order."""
        return tuple(g for g in self.guardrails if isinstance(g, Floor))

    @property
    def caps(self) -> tuple[Cap, ...]:
        """The ``max_compensation_per_customer`` guardrails, in catalog order."""
        return tuple(g for g in self.guardrails if isinstance(g, Cap))

    def floor_amounts(self, complaints: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Each complaint's floor over :attr:`floors`: ``(floor, rule)`` as
        :func:`~makegood.contract.guardrails.floor_amounts` gives it.

        Raises:
            CatalogError: the frame lacks a column a floor reads.
        """
        return floor_amounts(self.floors, complaints)

    def to_dict(self) -> dict[str, Any]:
        """The YAML mapping of this catalog; ``parse_catalog(c.to_dict()) == c``.

        ``guardrails`` appears only when there are some, so a catalog without them
        writes exactly what it always did.
        """
        out: dict[str, Any] = {
            "currency": self.currency,
            "baseline": self.baseline,
            "resolutions": [r.to_dict() for r in self.resolutions],
        }
        if self.guardrails:
            out["guardrails"] = [g.to_dict() for g in self.guardrails]
        return out


def load_catalog(path: PathLike) -> Catalog:
    """Read and validate a catalog YAML file.

    Returns:
        The :class:`Catalog`.

    Raises:
        CatalogError: the file is missing, not YAML, or breaks a rule (every problem is
            listed, each naming the file, the resolution id and the field).
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError(f"{source}: catalog file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{source}: cannot read the catalog file ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: not valid YAML ({exc})") from None
    return parse_catalog(data, source=source)


def parse_catalog(data: Mapping[str, Any], *, source: str = "<catalog>") -> Catalog:
    """Validate a catalog mapping (as loaded from YAML) and build the :class:`Catalog`.

    Returns:
        The :class:`Catalog`.

    Raises:
        CatalogError: listing every broken rule, each prefixed by ``source``.
    """
    if not isinstance(data, Mapping):
        got = "an empty file" if data is None else type(data).__name__
        raise CatalogError(f"{source}: catalog must be a YAML mapping. Got {got} instead.")
    problems: list[str] = []
    problems += unknown_keys(data, _TOP_KEYS, "catalog")

    currency = data.get("currency", "USD")
    if not isinstance(currency, str) or not currency.strip():
        problems.append(f"currency must be a non-empty string. Got {currency!r} instead.")
        currency = "USD"

    baseline = data.get("baseline")
    if not isinstance(baseline, str) or not baseline.strip():
        problems.append(f"baseline must be a resolution id. Got {baseline!r} instead.")
        baseline = ""
    baseline = baseline.strip()

    items = data.get("resolutions")
    resolutions: list[Resolution] = []
    if not isinstance(items, list) or not items:
        problems.append(f"resolutions must be a non-empty list. Got {items!r} instead.")
    else:
        for position, item in enumerate(items, start=1):
            resolution, found = parse_resolution(item, position)
            problems += found
            if resolution is not None:
                resolutions.append(resolution)
        if not problems:
            problems += structure_problems(baseline, tuple(resolutions))

    guardrails, found = parse_guardrails(data.get("guardrails"))
    problems += found

    if problems:
        raise CatalogError("\n".join(f"{source}: {p}" for p in problems))
    return Catalog(
        currency=currency.strip(),
        baseline=baseline,
        resolutions=tuple(resolutions),
        guardrails=guardrails,
    )


def dump_catalog(catalog: Catalog, path: PathLike) -> Path:
    """Write ``catalog`` as YAML to ``path`` atomically (temp file + rename).

    Returns:
        The path written. ``load_catalog(path) == catalog``.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        text = yaml.safe_dump(catalog.to_dict(), sort_keys=False, allow_unicode=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
