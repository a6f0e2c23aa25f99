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
from numpy.typing import ArrayLike

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

PathLike = str | os.PathLike[str]

_TOP_KEYS = ("currency", "baseline", "resolutions", "guardrails")
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

_FLOOR_KEYS = ("id", "when", "compensation_at_least")
_CAP_KEYS = ("id", "max_compensation_per_customer")
_CAP_BLOCK_KEYS = ("amount", "days")
_RANGE_KEYS = ("gt", "lt")
# The complaint columns (CONTRACT.md section 1, makegood.contract.files.COMPLAINT_COLUMNS)
# a guardrail may read, by how the normalized frame holds them. opened_at and
# complaint_text are left out: a list of exact times or texts is never a rule.
_NUMERIC_COLUMNS = (
    "severity",
    "disputed_amount",
    "tenure_months",
    "annual_value",
    "lifetime_value",
    "prior_complaints_12m",
)
_LOWERCASE_COLUMNS = ("channel", "issue_type", "segment", "emotion", "digital_skill")
_TEXT_COLUMNS = ("complaint_id", "customer_id")
_WHEN_COLUMNS = _NUMERIC_COLUMNS + _LOWERCASE_COLUMNS + _TEXT_COLUMNS


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
class Condition:
    """One key of a floor's ``when:``: ``column`` holds one of ``values``, or lies strictly
    above ``gt`` and below ``lt`` (either may be None).

    Text values of the lower-cased columns (issue_type, channel, ...) are lower-case, as
    in the normalized complaint frame; unknown values (NaN) match no list and no range.
    """

    column: str
    values: tuple[str | float, ...] | None = None
    gt: float | None = None
    lt: float | None = None

    def matches(self, column_values: ArrayLike) -> np.ndarray:
        """Boolean array: does each complaint's value meet this condition?

        >>> Condition("severity", gt=3).matches(np.array([2, 4, 5])).tolist()
        [False, True, True]
        """
        if self.values is not None:
            if all(isinstance(v, float) for v in self.values):  # a numeric column
                return np.isin(np.asarray(column_values, dtype=float), self.values)
            got = pd.Series(np.asarray(column_values, dtype=object))
            return got.isin(list(self.values)).to_numpy(dtype=bool)
        number = np.asarray(column_values, dtype=float)
        ok = np.ones(number.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            if self.gt is not None:
                ok &= number > self.gt
            if self.lt is not None:
                ok &= number < self.lt
        return ok

    def to_yaml(self) -> list[str | float] | dict[str, float]:
        """The value of this key in ``when:``: the list, or ``{gt: x, lt: y}``."""
        if self.values is not None:
            return list(self.values)
        bounds = {"gt": self.gt, "lt": self.lt}
        return {k: float(v) for k, v in bounds.items() if v is not None}


@dataclass(frozen=True)
class Floor:
    """Guardrail ``compensation_at_least``: the complaints ``when`` matches (every
    complaint when it is empty; all keys must hold) are given at least ``at_least``, a
    fixed amount or the name of a numeric complaint column (``disputed_amount``)."""

    id: str
    at_least: float | str
    when: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        # the keys of when: all must hold, so their order means nothing (YAML may sort them)
        object.__setattr__(self, "when", tuple(sorted(self.when, key=lambda c: c.column)))

    @property
    def columns(self) -> tuple[str, ...]:
        """The complaint columns this floor reads."""
        named = (self.at_least,) if isinstance(self.at_least, str) else ()
        return tuple(dict.fromkeys([c.column for c in self.when] + list(named)))

    def applies(self, complaints: pd.DataFrame) -> np.ndarray:
        """Boolean array (n,): the complaints this floor covers."""
        ok = np.ones(len(complaints), dtype=bool)
        for condition in self.when:
            ok &= condition.matches(complaints[condition.column].to_numpy())
        return ok

    def amount(self, complaints: pd.DataFrame) -> np.ndarray:
        """float64 array (n,): the floor for each complaint, NaN where it does not apply."""
        if isinstance(self.at_least, str):
            owed = complaints[self.at_least].to_numpy(dtype=float, na_value=np.nan)
        else:
            owed = np.full(len(complaints), float(self.at_least))
        return np.where(self.applies(complaints), owed, np.nan)

    def to_dict(self) -> dict[str, Any]:
        """The YAML mapping of this guardrail."""
        out: dict[str, Any] = {"id": self.id}
        if self.when:
            out["when"] = {c.column: c.to_yaml() for c in self.when}
        at_least = self.at_least
        out["compensation_at_least"] = at_least if isinstance(at_least, str) else float(at_least)
        return out


@dataclass(frozen=True)
class Cap:
    """Guardrail ``max_compensation_per_customer``: what one customer is given over the
    ``days`` up to and including each complaint stays within ``amount`` (floors apart)."""

    id: str
    amount: float
    days: int

    def to_dict(self) -> dict[str, Any]:
        """The YAML mapping of this guardrail."""
        block = {"amount": float(self.amount), "days": int(self.days)}
        return {"id": self.id, "max_compensation_per_customer": block}


Guardrail = Floor | Cap


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
        problems = _structure_problems(self.baseline, self.resolutions)
        problems += _guardrail_id_problems(self.guardrails)
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
        """Each complaint's floor: the largest over the floors that cover it.

        ``complaints`` is a normalized complaint frame (``read_complaints``); it needs
        the columns the floors read (:attr:`Floor.columns`).

        Returns:
            ``(floor, rule)``: float64 (n,), NaN where no floor applies; and object (n,),
            the id of the floor that set it (the first in catalog order on a tie), ``""``
            where none.

        Raises:
            CatalogError: the frame lacks a column a floor reads.
        """
        n = len(complaints)
        floor = np.full(n, np.nan)
        rule = np.full(n, "", dtype=object)
        for guard in self.floors:
            missing = [c for c in guard.columns if c not in complaints.columns]
            if missing:
                raise CatalogError(
                    f"guardrail {guard.id!r} reads column(s) {', '.join(missing)}, "
                    "which the complaints lack."
                )
            owed = guard.amount(complaints)
            higher = owed > np.where(np.isnan(floor), -np.inf, floor)
            floor = np.where(higher, owed, floor)
            rule[higher] = guard.id
        return floor, rule

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

    guardrails, found = _parse_guardrails(data.get("guardrails"))
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


def _item_id(item: Mapping[str, Any], kind: str, position: int) -> tuple[str, str, list[str]]:
    """A list item's id, how messages name it (by id, else by position) and the problem
    of a missing id."""
    raw_id = item.get("id")
    if isinstance(raw_id, str) and raw_id.strip():
        return raw_id.strip(), f"{kind} {raw_id.strip()!r}", []
    where = f"{kind} #{position}"
    return "", where, [f"{where}: id must be a non-empty string. Got {raw_id!r} instead."]


def _parse_resolution(item: Any, position: int) -> tuple[Resolution | None, list[str]]:
    if not isinstance(item, Mapping):
        return None, [
            f"resolution #{position} must be a mapping with id, label, handling_cost. "
            f"Got {item!r} instead."
        ]
    res_id, where, problems = _item_id(item, "resolution", position)
    problems += _unknown_keys(item, _RESOLUTION_KEYS, where)

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


# --------------------------------------------------------------------------- guardrails


def _guardrail_id_problems(guardrails: tuple[Guardrail, ...]) -> list[str]:
    ids = [g.id for g in guardrails]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if not repeated:
        return []
    return [f"guardrail ids must be unique. Got {', '.join(repeated)} more than once."]


def _parse_guardrails(items: Any) -> tuple[tuple[Guardrail, ...], list[str]]:
    """The optional ``guardrails:`` list (absent or null: none)."""
    if items is None:
        return (), []
    if not isinstance(items, list):
        return (), [f"guardrails must be a list of rules. Got {items!r} instead."]
    guardrails: list[Guardrail] = []
    problems: list[str] = []
    for position, item in enumerate(items, start=1):
        guard, found = _parse_guardrail(item, position)
        problems += found
        if guard is not None:
            guardrails.append(guard)
    if not problems:
        problems += _guardrail_id_problems(tuple(guardrails))
    return tuple(guardrails), problems


def _parse_guardrail(item: Any, position: int) -> tuple[Guardrail | None, list[str]]:
    kinds = ("compensation_at_least", "max_compensation_per_customer")
    if not isinstance(item, Mapping):
        return None, [
            f"guardrail #{position} must be a mapping with an id and one of "
            f"{' or '.join(kinds)}. Got {item!r} instead."
        ]
    rule_id, where, problems = _item_id(item, "guardrail", position)
    present = [k for k in kinds if k in item]
    if len(present) != 1:
        got = "both" if present else "neither"
        return None, [
            *problems,
            f"{where}: must have exactly one of {', '.join(kinds)}. Got {got}.",
        ]
    if present[0] == "compensation_at_least":
        problems += _unknown_keys(item, _FLOOR_KEYS, where)
        at_least, found = _parse_at_least(item["compensation_at_least"], where)
        when, more = _parse_when(item.get("when"), where)
        problems += found + more
        if problems:
            return None, problems
        return Floor(id=rule_id, at_least=at_least, when=when), []  # type: ignore[arg-type]
    problems += _unknown_keys(item, _CAP_KEYS, where)
    block = item["max_compensation_per_customer"]
    key = f"{where}: max_compensation_per_customer"
    if not isinstance(block, Mapping):
        return None, [
            *problems,
            f"{key} must be a mapping {{amount: number >= 0, days: integer >= 1}}. "
            f"Got {block!r} instead.",
        ]
    problems += _unknown_keys(block, _CAP_BLOCK_KEYS, key)
    amount = _number(block.get("amount"))
    if amount is None or amount < 0:
        problems.append(
            f"{key}.amount must be a finite number >= 0. Got {block.get('amount')!r} instead."
        )
    days = _number(block.get("days"))
    if days is None or days != int(days) or days < 1:
        problems.append(f"{key}.days must be an integer >= 1. Got {block.get('days')!r} instead.")
    if problems:
        return None, problems
    return Cap(id=rule_id, amount=float(amount), days=int(days)), []  # type: ignore[arg-type]


def _parse_at_least(raw: Any, where: str) -> tuple[float | str | None, list[str]]:
    if isinstance(raw, str) and raw.strip() in _NUMERIC_COLUMNS:
        return raw.strip(), []
    number = _number(raw)
    if number is not None and number >= 0:
        return number, []
    return None, [
        f"{where}: compensation_at_least must be a finite number >= 0 or the name of a "
        f"numeric complaint column ({', '.join(_NUMERIC_COLUMNS)}). Got {raw!r} instead."
    ]


def _parse_when(raw: Any, where: str) -> tuple[tuple[Condition, ...], list[str]]:
    """``when:`` (absent or null: every complaint)."""
    if raw is None:
        return (), []
    if not isinstance(raw, Mapping) or not raw:
        return (), [
            f"{where}: when must be a non-empty mapping of complaint columns to a list of "
            f"values or {{gt: x}} / {{lt: x}}. Got {raw!r} instead."
        ]
    conditions: list[Condition] = []
    problems: list[str] = []
    for column, rule in raw.items():
        key = f"{where}: when.{column}"
        if column not in _WHEN_COLUMNS:
            problems.append(
                f"{key}: unknown column {column!r}; a guardrail can read "
                f"{', '.join(_WHEN_COLUMNS)}."
            )
            continue
        condition, found = _parse_condition(str(column), rule, key)
        problems += found
        if condition is not None:
            conditions.append(condition)
    return tuple(conditions), problems


def _parse_condition(column: str, rule: Any, key: str) -> tuple[Condition | None, list[str]]:
    numeric = column in _NUMERIC_COLUMNS
    if isinstance(rule, Mapping):
        if not numeric:
            return None, [
                f"{key}: gt/lt need a numeric column ({', '.join(_NUMERIC_COLUMNS)}); "
                f"give {column} a list of values. Got {dict(rule)!r} instead."
            ]
        problems = _unknown_keys(rule, _RANGE_KEYS, key)
        bounds: dict[str, float | None] = {}
        for bound in _RANGE_KEYS:
            raw = rule.get(bound)
            bounds[bound] = None if raw is None else _number(raw)
            if raw is not None and bounds[bound] is None:
                problems.append(f"{key}.{bound} must be a finite number. Got {raw!r} instead.")
        low, high = bounds["gt"], bounds["lt"]
        if not problems and low is None and high is None:
            problems.append(f"{key} must give gt or lt (or both). Got {dict(rule)!r} instead.")
        if not problems and low is not None and high is not None and low >= high:
            problems.append(
                f"{key}: gt must be below lt, else nothing matches. Got {low} >= {high}."
            )
        return (None, problems) if problems else (Condition(column, gt=low, lt=high), [])
    if isinstance(rule, list) and rule:
        if numeric and all(_number(v) is not None for v in rule):
            return Condition(column, values=tuple(float(v) for v in rule)), []
        if not numeric and all(isinstance(v, str) and v.strip() for v in rule):
            lower = column in _LOWERCASE_COLUMNS
            values = tuple(v.strip().lower() if lower else v.strip() for v in rule)
            return Condition(column, values=values), []
    what = "numbers" if numeric else "non-empty strings"
    ranges = " or {gt: x} / {lt: x}" if numeric else ""
    return None, [f"{key} must be a non-empty list of {what}{ranges}. Got {rule!r} instead."]
