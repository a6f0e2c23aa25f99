"""The resolution catalog (CONTRACT.md section 2): what can be offered, at what cost.

A catalog is a YAML file listing resolutions with their handling cost, optional
compensation rule and optional eligibility limits, plus the ``baseline`` resolution that
retention lift is measured against. :func:`load_catalog` checks every rule and raises one
:class:`~makegood.errors.CatalogError` listing all problems; unknown keys are errors, so
a typo never passes silently. Inside makegood the :class:`Catalog` is trusted and offers
vectorised compensation and eligibility matrices of shape ``(n_complaints, K)``.
"""

from __future__ import annotations

import functools
import math
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from makegood.errors import CatalogError

__all__ = ["Catalog", "Resolution", "dump_catalog", "load_catalog", "parse_catalog"]

PathLike = str | os.PathLike[str]

_TOP_KEYS = ("currency", "baseline", "resolutions")
_RESOLUTION_KEYS = (
    "id",
    "label",
    "handling_cost",
    "compensation",
    "eligible_issue_types",
    "max_severity",
)
_COMPENSATION_KEYS = ("fixed", "fraction_of_disputed", "max")
_SEVERITIES = (1, 5)


@dataclass(frozen=True)
class Resolution:
    """One resolution the company can offer.

    ``eligible_issue_types`` None means every issue type; ``max_severity`` None means
    every severity. Issue types are lower-case, as in the normalized complaint frame.
    """

    id: str
    label: str
    handling_cost: float
    comp_fixed: float = 0.0
    comp_fraction: float = 0.0
    comp_max: float | None = None
    eligible_issue_types: frozenset[str] | None = None
    max_severity: int | None = None

    @property
    def is_unrestricted(self) -> bool:
        """True when the resolution is eligible for every complaint."""
        return self.eligible_issue_types is None and (
            self.max_severity is None or self.max_severity >= _SEVERITIES[1]
        )

    def compensation(self, disputed_amount: np.ndarray) -> np.ndarray:
        """Money paid out for each complaint's disputed amount.

        compensation = min(comp_max, comp_fixed + comp_fraction * disputed_amount)

        >>> r = Resolution("refund", "Refund", 3.0, comp_fraction=1.0, comp_max=500.0)
        >>> r.compensation(np.array([0.0, 120.0, 900.0])).tolist()
        [0.0, 120.0, 500.0]

        Returns:
            float64 array shaped like ``disputed_amount``.
        """
        amount = self.comp_fixed + self.comp_fraction * np.asarray(disputed_amount, dtype=float)
        if self.comp_max is not None:
            amount = np.minimum(amount, self.comp_max)
        return amount

    def eligible(self, issue_type: np.ndarray, severity: np.ndarray) -> np.ndarray:
        """Boolean array: may this resolution be offered for each complaint?"""
        n_rows = len(issue_type)
        ok = np.ones(n_rows, dtype=bool)
        if self.eligible_issue_types is not None:
            allowed = sorted(self.eligible_issue_types)
            ok &= pd.Series(np.asarray(issue_type, dtype=object)).isin(allowed).to_numpy()
        if self.max_severity is not None:
            ok &= np.asarray(severity) <= self.max_severity
        return ok

    def to_dict(self) -> dict[str, Any]:
        """The YAML mapping for this resolution (optional keys only when set)."""
        out: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "handling_cost": float(self.handling_cost),
        }
        if self.comp_fixed or self.comp_fraction or self.comp_max is not None:
            block: dict[str, float] = {
                "fixed": float(self.comp_fixed),
                "fraction_of_disputed": float(self.comp_fraction),
            }
            if self.comp_max is not None:
                block["max"] = float(self.comp_max)
            out["compensation"] = block
        if self.eligible_issue_types is not None:
            out["eligible_issue_types"] = sorted(self.eligible_issue_types)
        if self.max_severity is not None:
            out["max_severity"] = int(self.max_severity)
        return out


@dataclass(frozen=True)
class Catalog:
    """The resolutions on offer, in catalog order, and the baseline among them.

    Raises:
        CatalogError: on construction, when ids repeat, the baseline is not among the
            resolutions, or the baseline is not eligible for every complaint.
    """

    currency: str
    baseline: str
    resolutions: tuple[Resolution, ...]

    def __post_init__(self) -> None:
        problems = _structure_problems(self.baseline, self.resolutions)
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

    def to_dict(self) -> dict[str, Any]:
        """The YAML mapping of this catalog; ``parse_catalog(c.to_dict()) == c``."""
        return {
            "currency": self.currency,
            "baseline": self.baseline,
            "resolutions": [r.to_dict() for r in self.resolutions],
        }


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
    problems += _unknown_keys(data, _TOP_KEYS, "catalog")

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
            resolution, found = _parse_resolution(item, position)
            problems += found
            if resolution is not None:
                resolutions.append(resolution)
        if not problems:
            problems += _structure_problems(baseline, tuple(resolutions))

    if problems:
        raise CatalogError("\n".join(f"{source}: {p}" for p in problems))
    return Catalog(currency=currency.strip(), baseline=baseline, resolutions=tuple(resolutions))


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


# --------------------------------------------------------------------------- rules


def _unknown_keys(data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> list[str]:
    unknown = [str(k) for k in data if k not in allowed]
    if not unknown:
        return []
    return [
        f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
        f"allowed keys are {', '.join(allowed)}."
    ]


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _parse_resolution(item: Any, position: int) -> tuple[Resolution | None, list[str]]:
    if not isinstance(item, Mapping):
        return None, [
            f"resolution #{position} must be a mapping with id, label, handling_cost. "
            f"Got {item!r} instead."
        ]
    raw_id = item.get("id")
    if isinstance(raw_id, str) and raw_id.strip():
        res_id = raw_id.strip()
        where = f"resolution {res_id!r}"
    else:
        res_id = ""
        where = f"resolution #{position}"
    problems = _unknown_keys(item, _RESOLUTION_KEYS, where)
    if not res_id:
        problems.append(f"{where}: id must be a non-empty string. Got {raw_id!r} instead.")

    label = item.get("label")
    if label is None:
        label = res_id
    elif isinstance(label, str) and label.strip():
        label = label.strip()
    else:
        problems.append(f"{where}: label must be a non-empty string. Got {label!r} instead.")

    raw_cost = item.get("handling_cost")
    handling_cost = _number(raw_cost)
    if handling_cost is None or handling_cost < 0:
        problems.append(
            f"{where}: handling_cost must be a finite number >= 0. Got {raw_cost!r} instead."
        )

    comp = {"fixed": 0.0, "fraction_of_disputed": 0.0, "max": None}
    block = item.get("compensation")
    if block is not None:
        if not isinstance(block, Mapping):
            problems.append(
                f"{where}: compensation must be a mapping of fixed, fraction_of_disputed, "
                f"max. Got {block!r} instead."
            )
        else:
            problems += _unknown_keys(block, _COMPENSATION_KEYS, f"{where}: compensation")
            for key in _COMPENSATION_KEYS:
                if block.get(key) is None:
                    continue
                number = _number(block[key])
                if number is None or number < 0:
                    problems.append(
                        f"{where}: compensation.{key} must be a finite number >= 0. "
                        f"Got {block[key]!r} instead."
                    )
                else:
                    comp[key] = number

    issue_types = None
    raw_types = item.get("eligible_issue_types")
    if raw_types is not None:
        valid = (
            isinstance(raw_types, list)
            and raw_types
            and all(isinstance(t, str) and t.strip() for t in raw_types)
        )
        if valid:
            issue_types = frozenset(t.strip().lower() for t in raw_types)
        else:
            problems.append(
                f"{where}: eligible_issue_types must be a non-empty list of non-empty "
                f"strings. Got {raw_types!r} instead."
            )

    max_severity = item.get("max_severity")
    if max_severity is not None:
        number = _number(max_severity)
        low, high = _SEVERITIES
        if number is None or number != int(number) or not low <= number <= high:
            problems.append(
                f"{where}: max_severity must be an integer from {low} to {high}. "
                f"Got {max_severity!r} instead."
            )
            max_severity = None
        else:
            max_severity = int(number)

    if problems:
        return None, problems
    return Resolution(
        id=res_id,
        label=label,
        handling_cost=float(handling_cost),  # type: ignore[arg-type]
        comp_fixed=comp["fixed"],  # type: ignore[arg-type]
        comp_fraction=comp["fraction_of_disputed"],  # type: ignore[arg-type]
        comp_max=comp["max"],
        eligible_issue_types=issue_types,
        max_severity=max_severity,
    ), []


def _structure_problems(baseline: str, resolutions: tuple[Resolution, ...]) -> list[str]:
    """Rules about the catalog as a whole: non-empty, unique ids, a usable baseline."""
    if not resolutions:
        return ["resolutions must be a non-empty list. Got an empty list instead."]
    problems = []
    ids = [r.id for r in resolutions]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        problems.append(f"resolution ids must be unique. Got {', '.join(repeated)} more than once.")
    if baseline not in ids:
        problems.append(
            f"baseline must be the id of a listed resolution ({', '.join(ids)}). "
            f"Got {baseline!r} instead."
        )
    else:
        base = resolutions[ids.index(baseline)]
        if not base.is_unrestricted:
            problems.append(
                f"resolution {baseline!r}: the baseline must be eligible for every complaint, "
                "so it cannot have eligible_issue_types or a max_severity below 5."
            )
    return problems
