"""The catalog's YAML rules: each resolution and guardrail mapping checked, every problem listed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from makegood.contract.guardrails import (
    LOWERCASE_COLUMNS,
    NUMERIC_COLUMNS,
    WHEN_COLUMNS,
    Cap,
    Condition,
    Floor,
    Guardrail,
)
from makegood.contract.resolution import SEVERITIES, Resolution

__all__ = [
    "guardrail_id_problems",
    "parse_guardrails",
    "parse_resolution",
    "structure_problems",
    "unknown_keys",
]

_RESOLUTION_KEYS = (
    "id",
    "label",
    "handling_cost",
    "compensation",
    "eligible_issue_types",
    "max_severity",
)
_COMPENSATION_KEYS = ("fixed", "fraction_of_disputed", "max")

_FLOOR_KEYS = ("id", "when", "compensation_at_least")
_CAP_KEYS = ("id", "max_compensation_per_customer")
_CAP_BLOCK_KEYS = ("amount", "days")
_RANGE_KEYS = ("gt", "lt")


def unknown_keys(data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> list[str]:
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


def parse_resolution(item: Any, position: int) -> tuple[Resolution | None, list[str]]:
    if not isinstance(item, Mapping):
        return None, [
            f"resolution #{position} must be a mapping with id, label, handling_cost. "
            f"Got {item!r} instead."
        ]
    res_id, where, problems = _item_id(item, "resolution", position)
    problems += unknown_keys(item, _RESOLUTION_KEYS, where)

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
            problems += unknown_keys(block, _COMPENSATION_KEYS, f"{where}: compensation")
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
        low, high = SEVERITIES
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


def structure_problems(baseline: str, resolutions: tuple[Resolution, ...]) -> list[str]:
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


def guardrail_id_problems(guardrails: tuple[Guardrail, ...]) -> list[str]:
    ids = [g.id for g in guardrails]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if not repeated:
        return []
    return [f"guardrail ids must be unique. Got {', '.join(repeated)} more than once."]


def parse_guardrails(items: Any) -> tuple[tuple[Guardrail, ...], list[str]]:
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
        problems += guardrail_id_problems(tuple(guardrails))
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
        problems += unknown_keys(item, _FLOOR_KEYS, where)
        at_least, found = _parse_at_least(item["compensation_at_least"], where)
        when, more = _parse_when(item.get("when"), where)
        problems += found + more
        if problems:
            return None, problems
        return Floor(id=rule_id, at_least=at_least, when=when), []  # type: ignore[arg-type]
    problems += unknown_keys(item, _CAP_KEYS, where)
    block = item["max_compensation_per_customer"]
    key = f"{where}: max_compensation_per_customer"
    if not isinstance(block, Mapping):
        return None, [
            *problems,
            f"{key} must be a mapping {{amount: number >= 0, days: integer >= 1}}. "
            f"Got {block!r} instead.",
        ]
    problems += unknown_keys(block, _CAP_BLOCK_KEYS, key)
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
    if isinstance(raw, str) and raw.strip() in NUMERIC_COLUMNS:
        return raw.strip(), []
    number = _number(raw)
    if number is not None and number >= 0:
        return number, []
    return None, [
        f"{where}: compensation_at_least must be a finite number >= 0 or the name of a "
        f"numeric complaint column ({', '.join(NUMERIC_COLUMNS)}). Got {raw!r} instead."
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
        if column not in WHEN_COLUMNS:
            problems.append(
                f"{key}: unknown column {column!r}; a guardrail can read {', '.join(WHEN_COLUMNS)}."
            )
            continue
        condition, found = _parse_condition(str(column), rule, key)
        problems += found
        if condition is not None:
            conditions.append(condition)
    return tuple(conditions), problems


def _parse_condition(column: str, rule: Any, key: str) -> tuple[Condition | None, list[str]]:
    numeric = column in NUMERIC_COLUMNS
    if isinstance(rule, Mapping):
        if not numeric:
            return None, [
                f"{key}: gt/lt need a numeric column ({', '.join(NUMERIC_COLUMNS)}); "
                f"give {column} a list of values. Got {dict(rule)!r} instead."
            ]
        problems = unknown_keys(rule, _RANGE_KEYS, key)
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
            lower = column in LOWERCASE_COLUMNS
            values = tuple(v.strip().lower() if lower else v.strip() for v in rule)
            return Condition(column, values=values), []
    what = "numbers" if numeric else "non-empty strings"
    ranges = " or {gt: x} / {lt: x}" if numeric else ""
    return None, [f"{key} must be a non-empty list of {what}{ranges}. Got {rule!r} instead."]
