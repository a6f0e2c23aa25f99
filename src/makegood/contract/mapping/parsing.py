"""Reading a mapping file: :func:`load_mapping` checks every rule of the YAML and raises one
:class:`~makegood.errors.ConfigError` listing all problems, each as ``FILE: KEY: rule``;
:func:`parse_mapping` does the same for an already loaded mapping. ``docs/import.md``
describes every key."""

from __future__ import annotations

import os
import re
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from makegood.contract.features import FEATURE_KINDS
from makegood.contract.mapping.rules import (
    EXPORT_ROW,
    OUTCOME,
    ColumnMapping,
    DateRule,
    DaysBetween,
    FieldRule,
    Generator,
)
from makegood.contract.schema import HISTORY_COLUMNS, OUTCOME_COLUMNS
from makegood.errors import ConfigError

__all__ = ["load_mapping", "parse_mapping"]

PathLike = str | os.PathLike[str]

_TOP_KEYS = ("columns", "outcome", "extra", "features", "recorded_after_resolution")
_RULE_KEYS = ("from", "constant", "generate", "map", "default", "unmapped", "date")
_OUTCOME_KEYS = (*_RULE_KEYS, "name")
_DATE_KEYS = ("timezone", "time_of_day", "format")
_DERIVED_KEYS = ("days_between", "format")
_GENERATE_KEYS = ("hash", "prefix")
_UNMAPPED = ("error", "drop", "keep")
_TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


def load_mapping(path: PathLike) -> ColumnMapping:
    """Read and validate a mapping YAML file.

    Returns:
        The :class:`ColumnMapping`.

    Raises:
        ConfigError: the file is missing, not YAML, or breaks a rule (every problem is
            listed, each naming the file, the key and the rule).
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: mapping file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read the mapping file ({exc})") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({exc})") from None
    return parse_mapping(data, source=source)


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. Under YAML 1.1, the keys of a value map such as
    ``{Yes: 1, No: 0}`` would become booleans and no longer match the export's text."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_mapping(data: Any, *, source: str = "<mapping>") -> ColumnMapping:
    """Validate a mapping (as loaded from YAML) and build the :class:`ColumnMapping`.

    Raises:
        ConfigError: one message listing every problem, each as ``SOURCE: KEY: rule``.
    """
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: a mapping must be a YAML mapping with a columns: section")
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(f"{key}: unknown key (allowed: {', '.join(_TOP_KEYS)})")

    rules: dict[str, FieldRule] = {}
    columns = data.get("columns") or {}
    if not isinstance(columns, Mapping):
        problems.append("columns: must map contract columns to rules")
        columns = {}
    for target, spec in columns.items():
        key = f"columns.{target}"
        if target == OUTCOME:
            problems.append(f"{key}: the outcome to avoid is given under outcome:, not columns:")
        elif target not in HISTORY_COLUMNS:
            problems.append(f"{key}: not a contract column (one of {', '.join(HISTORY_COLUMNS)})")
        else:
            rule = _parse_rule(str(target), key, spec, _RULE_KEYS, problems)
            if rule is not None:
                rules[str(target)] = rule

    outcome_name = None
    if "outcome" not in data:
        problems.append("outcome: missing; say which export column is the outcome to avoid")
    else:
        spec = data["outcome"]
        rule = _parse_rule(OUTCOME, "outcome", spec, _OUTCOME_KEYS, problems)
        if rule is not None:
            rules[OUTCOME] = rule
        if isinstance(spec, Mapping) and "name" in spec:
            outcome_name = str(spec["name"])

    extra, derived = _parse_extra(data.get("extra"), problems)
    after = data.get("recorded_after_resolution") or []
    if not isinstance(after, list) or not all(isinstance(c, str) for c in after):
        problems.append("recorded_after_resolution: must be a list of export column names")
        after = []
    extra_sources: dict[str, tuple[str, ...]] = {name: (col,) for name, col in extra.items()}
    extra_sources |= {name: d.sources for name, d in derived.items()}
    features = _parse_features(data.get("features"), rules, extra_sources, tuple(after), problems)
    if problems:
        raise ConfigError("\n".join(f"{source}: {p}" for p in problems))
    return ColumnMapping(rules, extra, features, tuple(after), outcome_name, source, derived)


def _parse_rule(
    target: str, key: str, spec: Any, allowed: tuple[str, ...], problems: list[str]
) -> FieldRule | None:
    if not isinstance(spec, Mapping):
        problems.append(f"{key}: must be a mapping with one of from:, constant:, generate:")
        return None
    n_before = len(problems)
    for k in spec:
        if k not in allowed:
            problems.append(f"{key}.{k}: unknown key (allowed: {', '.join(allowed)})")
    kinds = [k for k in ("from", "constant", "generate") if k in spec]
    if len(kinds) != 1:
        got = ", ".join(kinds) or "none"
        problems.append(f"{key}: needs exactly one of from:, constant:, generate:. Got {got}.")
        return None
    source = spec.get("from")
    if "from" in spec and (not isinstance(source, str) or not source):
        problems.append(f"{key}.from: must be an export column name. Got {source!r}.")
    constant = spec.get("constant")
    if "constant" in spec and (constant is None or isinstance(constant, (list, dict))):
        problems.append(f"{key}.constant: must be a single value. Got {constant!r}.")
    generate = (
        _parse_generator(f"{key}.generate", spec["generate"], problems)
        if ("generate" in spec)
        else None
    )
    only_from = [k for k in ("map", "default", "unmapped", "date") if k in spec]
    if "from" not in spec and only_from:
        problems.append(f"{key}: {', '.join(only_from)} apply to from: only")

    value_map = None
    if "map" in spec:
        value_map = spec["map"]
        if not isinstance(value_map, Mapping) or not value_map:
            problems.append(f"{key}.map: must map export values to contract values")
            value_map = None
        else:
            value_map = {_key_text(k): v for k, v in value_map.items()}
            bad = [k for k, v in value_map.items() if v is None or isinstance(v, (list, dict))]
            if bad:
                problems.append(f"{key}.map: every value must be a single value (see {bad[0]!r})")
    default = spec.get("default")
    if isinstance(default, Mapping) and "generate" in default and len(default) == 1:
        default = _parse_generator(f"{key}.default.generate", default["generate"], problems)
    elif "default" in spec and (default is None or isinstance(default, (list, dict))):
        problems.append(
            f"{key}.default: must be a single value or {{generate: ...}}. Got {default!r}."
        )
    unmapped = spec.get("unmapped", "error")
    if unmapped not in _UNMAPPED:
        problems.append(f"{key}.unmapped: must be one of {', '.join(_UNMAPPED)}. Got {unmapped!r}.")
    elif "unmapped" in spec and value_map is None:
        problems.append(f"{key}.unmapped: applies to values missing from map:, and there is none")
    elif unmapped != "error" and "default" in spec:
        problems.append(f"{key}: give default: or unmapped: {unmapped}, not both")
    if unmapped == "drop" and target not in OUTCOME_COLUMNS:
        # A new complaint to score must never be dropped for a value its history row lacks.
        problems.append(
            f"{key}.unmapped: drop is allowed on the resolution and the outcome only "
            "(a complaint to score is never dropped)"
        )
    date = _parse_date(f"{key}.date", spec["date"], problems) if "date" in spec else None
    if date is not None and target != "opened_at":
        problems.append(f"{key}.date: dates apply to opened_at only")
    if date is not None and value_map is not None:
        problems.append(f"{key}: give map: or date:, not both")
    if generate is not None and target not in ("complaint_id", "customer_id"):
        problems.append(f"{key}.generate: ids are generated for complaint_id and customer_id only")
    if len(problems) > n_before:
        return None
    return FieldRule(
        target=target,
        key=key,
        source=source,
        constant=constant,
        generate=generate,
        value_map=value_map,
        default=default,
        has_default="default" in spec,
        unmapped=unmapped,
        date=date,
    )


def _key_text(key: Any) -> str:
    """A value map's key as the export text it matches (YAML may read 3 as an int)."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key).strip()


def _parse_generator(key: str, spec: Any, problems: list[str]) -> Generator | None:
    if spec == "row_number":
        return Generator("row_number")
    if spec == "hash":
        return Generator("hash")
    if isinstance(spec, Mapping):
        for k in spec:
            if k not in _GENERATE_KEYS:
                problems.append(f"{key}.{k}: unknown key (allowed: {', '.join(_GENERATE_KEYS)})")
        prefix = spec.get("prefix", "")
        if not isinstance(prefix, str):
            problems.append(f"{key}.prefix: must be text. Got {prefix!r}.")
            prefix = ""
        cols = spec.get("hash", "all")
        if cols == "all":
            return Generator("hash", None, prefix)
        if isinstance(cols, list) and cols and all(isinstance(c, str) for c in cols):
            return Generator("hash", tuple(cols), prefix)
        problems.append(f"{key}.hash: must be 'all' or a list of export columns. Got {cols!r}.")
        return None
    problems.append(
        f"{key}: must be row_number, hash, or {{hash: all | [columns], prefix: text}}. "
        f"Got {spec!r}."
    )
    return None


def _parse_date(key: str, spec: Any, problems: list[str]) -> DateRule | None:
    if spec is True:
        return DateRule()
    if not isinstance(spec, Mapping):
        problems.append(f"{key}: must be a mapping (timezone, time_of_day, format)")
        return None
    for k in spec:
        if k not in _DATE_KEYS:
            problems.append(f"{key}.{k}: unknown key (allowed: {', '.join(_DATE_KEYS)})")
    tz = spec.get("timezone", "UTC")
    try:
        zoneinfo.ZoneInfo(str(tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(f"{key}.timezone: not a known IANA time zone. Got {tz!r}.")
    tod = spec.get("time_of_day")
    if tod is not None and (not isinstance(tod, str) or not _TIME_OF_DAY.match(tod)):
        # An unquoted 12:00 is read by YAML 1.1 as the sexagesimal 720.
        problems.append(f"{key}.time_of_day: must be quoted text HH:MM[:SS]. Got {tod!r}.")
    return DateRule(str(tz), tod, _parse_format(f"{key}.format", spec.get("format"), problems))


def _parse_format(key: str, fmt: Any, problems: list[str]) -> str | None:
    if fmt is not None and (not isinstance(fmt, str) or "%" not in fmt):
        problems.append(f"{key}: must be a strftime format such as '%m/%d/%Y'. Got {fmt!r}.")
        return None
    return fmt


def _parse_extra(spec: Any, problems: list[str]) -> tuple[dict[str, str], dict[str, DaysBetween]]:
    """Pass-through columns (name -> export column) and derived ones (name -> rule)."""
    if spec is None:
        return {}, {}
    extra: dict[str, str] = {}
    derived: dict[str, DaysBetween] = {}
    if isinstance(spec, list) and all(isinstance(c, str) for c in spec):
        extra = {c: c for c in spec}
    elif isinstance(spec, Mapping):
        for name, col in spec.items():
            if isinstance(col, str):
                extra[str(name)] = col
            elif isinstance(col, Mapping):
                rule = _parse_derived(f"extra.{name}", col, problems)
                if rule is not None:
                    derived[str(name)] = rule
            else:
                problems.append(
                    f"extra.{name}: must be an export column or {{days_between: [start, end]}}. "
                    f"Got {col!r}."
                )
    else:
        problems.append("extra: must be a list of export columns or a mapping name: column")
        return {}, {}
    for name in (*extra, *derived):
        if name in HISTORY_COLUMNS or name == EXPORT_ROW:
            problems.append(f"extra.{name}: the name of a contract column; rename it")
    return extra, derived


def _parse_derived(key: str, spec: Mapping[Any, Any], problems: list[str]) -> DaysBetween | None:
    n_before = len(problems)
    for k in spec:
        if k not in _DERIVED_KEYS:
            problems.append(f"{key}.{k}: unknown key (allowed: {', '.join(_DERIVED_KEYS)})")
    cols = spec.get("days_between")
    if "days_between" not in spec:
        problems.append(f"{key}: a derived column needs days_between: [start column, end column]")
    elif not (
        isinstance(cols, list) and len(cols) == 2 and all(isinstance(c, str) and c for c in cols)
    ):
        problems.append(
            f"{key}.days_between: must be a list of two export columns [start, end]. Got {cols!r}."
        )
    fmt = _parse_format(f"{key}.format", spec.get("format"), problems)
    if len(problems) > n_before or not isinstance(cols, list):
        return None
    return DaysBetween(cols[0], cols[1], fmt)


def _parse_features(
    spec: Any,
    rules: dict[str, FieldRule],
    extra: dict[str, tuple[str, ...]],
    after: tuple[str, ...],
    problems: list[str],
) -> dict[str, str]:
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        problems.append("features: must map extra columns to a kind (category, number, text)")
        return {}
    # Columns that carry the resolution or the outcome: as inputs they would leak it.
    after_sources = {s for t in OUTCOME_COLUMNS if t in rules for s in rules[t].sources}
    features: dict[str, str] = {}
    for name, kind in spec.items():
        key = f"features.{name}"
        if kind not in FEATURE_KINDS:
            problems.append(f"{key}: kind must be one of {', '.join(FEATURE_KINDS)}. Got {kind!r}.")
        if name in OUTCOME_COLUMNS:
            problems.append(f"{key}: an outcome column cannot be a model input")
        elif name in HISTORY_COLUMNS:
            problems.append(f"{key}: a contract column, already a model input")
        elif name not in extra:
            problems.append(f"{key}: not an extra column; list it under extra: first")
        elif leaks := [c for c in extra[name] if c in after_sources]:
            problems.append(
                f"{key}: export column {leaks[0]!r} feeds the resolution or the outcome "
                "(it is known only after the resolution) and would leak it"
            )
        elif late := [c for c in extra[name] if c in after]:
            problems.append(
                f"{key}: export column {late[0]!r} is recorded after the resolution "
                "(recorded_after_resolution) and would leak the outcome"
            )
        else:
            features[str(name)] = str(kind)
    return features
