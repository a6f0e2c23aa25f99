"""A company's own export mapped onto the contract (``makegood import``, issue 24).

A mapping is a YAML file that says, for each contract column, where its values come from:
an export column (renamed, optionally through a value map, or parsed as a date in a time
zone), a constant, or a generated id; which export column is the outcome to avoid (the
contract's ``churned_90d``); which export columns pass through as extra columns; and which
of those are declared as model inputs (``features:``, with a kind). ``docs/import.md``
describes every key; ``docs/examples/cfpb.yaml`` is a worked example.

:func:`load_mapping` checks every rule of the mapping and raises one
:class:`~makegood.errors.ConfigError` listing all problems, each naming the key.
:func:`apply_mapping` turns an export frame into a contract-shaped frame and counts how
many rows each rule touched; :func:`import_export` reads the export, applies the mapping and
validates the result with :mod:`makegood.contract.files` (the one place the contract's rules
live), so a bad row is named by the export file, its row there and the export column.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from makegood.contract.features import FEATURE_KINDS
from makegood.contract.files import (
    COMPLAINT_COLUMNS,
    HISTORY_COLUMNS,
    OPTIONAL_COLUMNS,
    OUTCOME_COLUMNS,
    read_frame,
    validate_complaints,
    validate_history,
)
from makegood.errors import ConfigError, ContractError, Violation

__all__ = [
    "EXPORT_ROW",
    "FEATURE_KINDS",
    "DateRule",
    "FieldRule",
    "Generator",
    "ImportResult",
    "MappedExport",
    "ColumnMapping",
    "RuleCount",
    "apply_mapping",
    "import_export",
    "load_mapping",
    "parse_mapping",
    "read_export",
    "validate_mapped",
]

PathLike = str | os.PathLike[str]
Kind = Literal["history", "complaints"]

#: The export's 1-based data row of each mapped row; kept in a quarantine file so a set-aside
#: row can be found in the export, and dropped from the imported frame.
EXPORT_ROW = "export_row"
OUTCOME = "churned_90d"

_TOP_KEYS = ("columns", "outcome", "extra", "features", "recorded_after_resolution")
_RULE_KEYS = ("from", "constant", "generate", "map", "default", "unmapped", "date")
_OUTCOME_KEYS = (*_RULE_KEYS, "name")
_DATE_KEYS = ("timezone", "time_of_day", "format")
_GENERATE_KEYS = ("hash", "prefix")
_UNMAPPED = ("error", "drop", "keep")
_TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
# A date string with a time part ("2015-03-01T10:00", "03/01/2015 10:00").
_HAS_TIME = re.compile(r"\d[T ]+\d{1,2}:\d{2}")
# A timestamp with its own offset ("...Z", "...+02:00"): converted, not localized.
_AWARE = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})$")
_SHOW_VALUES = 5


# --------------------------------------------------------------------------- the mapping


@dataclass(frozen=True)
class Generator:
    """A generated id: ``row_number`` (the export's data row, unique within one file) or a
    hash of chosen export columns (``columns`` None: every column of the export), stable
    across files that hold the same values in the same format."""

    method: Literal["row_number", "hash"]
    columns: tuple[str, ...] | None = None
    prefix: str = ""

    def describe(self) -> str:
        if self.method == "row_number":
            return "generated from the export row number"
        what = "all columns" if self.columns is None else ", ".join(map(repr, self.columns))
        return f"generated as a hash of {what}"


@dataclass(frozen=True)
class DateRule:
    """Parse a date or timestamp column: naive values are local times in ``timezone``; a
    value without a time of day (a date) gets ``time_of_day``. Stored as UTC."""

    timezone: str = "UTC"
    time_of_day: str | None = None
    format: str | None = None


@dataclass(frozen=True)
class FieldRule:
    """Where one contract column's values come from (exactly one of ``source``,
    ``constant``, ``generate``).

    With ``source``: the export column's values, through ``value_map`` when given. A value
    the map lacks (an empty value included) takes ``default`` if one is given, else follows
    ``unmapped``: ``error`` (name the values), ``drop`` (drop the row) or ``keep``. Without a
    map, an empty value takes ``default`` when given. ``default`` may be a
    :class:`Generator` (fill the gaps with generated ids).
    """

    target: str
    key: str  # where the rule sits in the mapping, for messages ("columns.resolution")
    source: str | None = None
    constant: Any = None
    generate: Generator | None = None
    value_map: dict[str, Any] | None = None
    default: Any = None
    has_default: bool = False
    unmapped: str = "error"
    date: DateRule | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        """The export columns this rule reads."""
        cols = [self.source] if self.source is not None else []
        for gen in (self.generate, self.default):
            if isinstance(gen, Generator) and gen.columns:
                cols += gen.columns
        return tuple(cols)


@dataclass(frozen=True)
class ColumnMapping:
    """A validated mapping file: rules per contract column, extra columns, features."""

    rules: dict[str, FieldRule]
    extra: dict[str, str]  # output name -> export column
    features: dict[str, str]  # output column -> kind (category, number, text)
    recorded_after_resolution: tuple[str, ...] = ()
    outcome_name: str | None = None
    source: str = "<mapping>"


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

    extra = _parse_extra(data.get("extra"), problems)
    after = data.get("recorded_after_resolution") or []
    if not isinstance(after, list) or not all(isinstance(c, str) for c in after):
        problems.append("recorded_after_resolution: must be a list of export column names")
        after = []
    features = _parse_features(data.get("features"), rules, extra, tuple(after), problems)
    if problems:
        raise ConfigError("\n".join(f"{source}: {p}" for p in problems))
    return ColumnMapping(rules, extra, features, tuple(after), outcome_name, source)


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
    fmt = spec.get("format")
    if fmt is not None and (not isinstance(fmt, str) or "%" not in fmt):
        problems.append(f"{key}.format: must be a strftime format such as '%m/%d/%Y'.")
    return DateRule(str(tz), tod, fmt)


def _parse_extra(spec: Any, problems: list[str]) -> dict[str, str]:
    if spec is None:
        return {}
    if isinstance(spec, list) and all(isinstance(c, str) for c in spec):
        extra = {c: c for c in spec}
    elif isinstance(spec, Mapping) and all(isinstance(v, str) for v in spec.values()):
        extra = {str(k): v for k, v in spec.items()}
    else:
        problems.append("extra: must be a list of export columns or a mapping name: column")
        return {}
    for name in extra:
        if name in HISTORY_COLUMNS or name == EXPORT_ROW:
            problems.append(f"extra.{name}: the name of a contract column; rename it")
    return extra


def _parse_features(
    spec: Any,
    rules: dict[str, FieldRule],
    extra: dict[str, str],
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
        elif extra[name] in after_sources:
            problems.append(
                f"{key}: export column {extra[name]!r} feeds the resolution or the outcome "
                "(it is known only after the resolution) and would leak it"
            )
        elif extra[name] in after:
            problems.append(
                f"{key}: export column {extra[name]!r} is recorded after the resolution "
                "(recorded_after_resolution) and would leak the outcome"
            )
        else:
            features[str(name)] = str(kind)
    return features


# --------------------------------------------------------------------------- applying it


@dataclass(frozen=True)
class RuleCount:
    """How many rows one rule touched (``field`` is the contract or extra column)."""

    field: str
    rule: str
    n_rows: int
    filled: bool = False  # the value came from a constant, a default or a generator


@dataclass
class MappedExport:
    """An export mapped onto the contract, before the contract's validation.

    ``frame`` holds the contract columns, the extra columns and :data:`EXPORT_ROW`;
    ``counts`` says how many rows each rule touched; ``n_read`` rows were read and
    ``n_dropped`` dropped by ``unmapped: drop`` rules.
    """

    frame: pd.DataFrame
    counts: list[RuleCount]
    n_read: int
    n_dropped: int
    origin: dict[str, str] = field(default_factory=dict)  # contract column -> export column

    def summary(self) -> str:
        """The rules' counts as a table, one line per rule."""
        width = max([len(c.field) for c in self.counts] + [5])
        lines = [f"{'field':{width}s}  {'rows':>8s}  rule"]
        for c in self.counts:
            mark = " *" if c.filled else ""
            lines.append(f"{c.field:{width}s}  {c.n_rows:8d}  {c.rule}{mark}")
        lines.append(
            f"{'rows':{width}s}  {self.n_read - self.n_dropped:8d}  "
            f"kept of {self.n_read} read ({self.n_dropped} dropped)"
        )
        lines.append("* values not in the export: constants, defaults or generated ids")
        return "\n".join(lines)


def apply_mapping(
    export: pd.DataFrame,
    mapping: ColumnMapping,
    *,
    kind: Kind = "history",
    source: str = "<export>",
) -> MappedExport:
    """Map an export frame onto the contract's columns (no contract validation yet).

    ``kind="complaints"`` maps new complaints to score: the rules of the outcome columns
    (``resolution``, ``compensation``, ``logging_propensity``, ``satisfaction``, the
    outcome) are skipped, so the export need not carry them and no row is dropped.

    Returns:
        The :class:`MappedExport`.

    Raises:
        ContractError: the export lacks a column the mapping reads, or a contract column
            has no rule and no export column of its name, or a value map meets values it
            lacks with ``unmapped: error`` (each value named with its first row).
    """
    raw = export.reset_index(drop=True)
    n = len(raw)
    columns = HISTORY_COLUMNS if kind == "history" else COMPLAINT_COLUMNS
    rules = {t: r for t, r in mapping.rules.items() if t in columns}
    _check_sources(raw, mapping, rules, columns, source)

    out: dict[str, Any] = {}
    counts: list[RuleCount] = []
    drop = np.zeros(n, dtype=bool)
    violations: list[Violation] = []
    origin: dict[str, str] = {}
    for target in columns:
        rule = rules.get(target)
        if rule is None:
            if target in raw.columns:
                out[target] = raw[target]
                counts.append(RuleCount(target, "taken as is (same name)", n))
                origin[target] = target
            continue
        label = f"{target} (outcome)" if target == OUTCOME else target
        values, found, dropped = _apply_rule(raw, rule, label, source, violations)
        out[target] = values
        counts += found
        drop |= dropped
        if rule.source is not None:
            origin[target] = rule.source
    if violations:
        raise ContractError(violations)
    for name, col in mapping.extra.items():
        out[name] = raw[col]
        counts.append(RuleCount(name, f"extra, from {col!r}", n))
    out[EXPORT_ROW] = np.arange(1, n + 1)
    frame = pd.DataFrame(out, index=pd.RangeIndex(n))
    if drop.any():
        frame = frame.loc[~drop].reset_index(drop=True)
    return MappedExport(frame, counts, n, int(drop.sum()), origin)


def _check_sources(
    raw: pd.DataFrame,
    mapping: ColumnMapping,
    rules: dict[str, FieldRule],
    columns: tuple[str, ...],
    source: str,
) -> None:
    present = set(map(str, raw.columns))
    violations = []
    needed = [(r.key, s) for r in rules.values() for s in r.sources]
    needed += [(f"extra.{name}", col) for name, col in mapping.extra.items()]
    for key, col in needed:
        if col not in present:
            near = [c for c in present if c.strip().lower() == col.strip().lower()]
            hint = f" (found {near[0]!r}; names are exact)" if near else ""
            rule = f"export column named by {mapping.source} {key} is missing{hint}."
            violations.append(Violation(source, None, None, col, rule))
    for target in columns:
        if target not in rules and target not in present and target not in OPTIONAL_COLUMNS:
            rule = (
                f"required contract column has no rule in {mapping.source} (columns.{target}) "
                "and the export has no column of that name: give from:, constant: or generate:."
            )
            violations.append(Violation(source, None, None, target, rule))
    if violations:
        raise ContractError(violations)


def _text(s: pd.Series) -> pd.Series:
    """An export column as stripped text, missing values as ""."""
    return s.astype("string").fillna("").str.strip().astype(object)


def _apply_rule(
    raw: pd.DataFrame, rule: FieldRule, label: str, source: str, violations: list[Violation]
) -> tuple[pd.Series, list[RuleCount], np.ndarray]:
    n = len(raw)
    nothing = np.zeros(n, dtype=bool)
    if rule.constant is not None:
        values = pd.Series([rule.constant] * n, dtype=object)
        return values, [RuleCount(label, f"constant {rule.constant!r}", n, True)], nothing
    if rule.generate is not None:
        ids = _generate(raw, rule.generate, np.ones(n, dtype=bool), rule.target)
        return ids, [RuleCount(label, rule.generate.describe(), n, True)], nothing

    assert rule.source is not None
    col = raw[rule.source]
    text = _text(col)
    empty = text.eq("").to_numpy()
    counts: list[RuleCount] = []
    if rule.date is not None:
        values, counts = _dates(col, text, empty, rule, label)
    elif rule.value_map is not None:
        mapped = text.map(rule.value_map)
        hit = text.isin(list(rule.value_map)).to_numpy()
        values = mapped.where(hit, col.astype(object))
        counts.append(RuleCount(label, f"mapped from {rule.source!r}", int(hit.sum())))
        miss = ~hit
        if miss.any() and not rule.has_default:
            shown = _value_counts(text[miss])
            if rule.unmapped == "drop":
                how = f"dropped: not in {rule.key}.map ({shown})"
                counts.append(RuleCount(label, how, int(miss.sum())))
                return values, counts, miss
            if rule.unmapped == "keep":
                how = f"kept as is: not in {rule.key}.map ({shown})"
                counts.append(RuleCount(label, how, int(miss.sum())))
                return values, counts, nothing
            _unmapped_violations(text, miss, rule, source, violations)
            return values, counts, nothing
        empty = miss
    else:
        values = col.astype(object).where(~empty, None)
        counts.append(RuleCount(label, f"from {rule.source!r}", int((~empty).sum())))
    if rule.has_default and empty.any():
        if isinstance(rule.default, Generator):
            values = values.where(~empty, _generate(raw, rule.default, empty, rule.target))
            how = f"default where empty: {rule.default.describe()}"
        else:
            values = values.where(~empty, rule.default)
            what = "empty or not in the map" if rule.value_map is not None else "empty"
            how = f"default {rule.default!r} where {what}"
        counts.append(RuleCount(label, how, int(empty.sum()), True))
    return values, counts, nothing


def _value_counts(text: pd.Series) -> str:
    vc = text.replace("", "<empty>").value_counts()
    shown = ", ".join(f"{v!r}: {c}" for v, c in vc.head(_SHOW_VALUES).items())
    return shown + (f", ... {len(vc) - _SHOW_VALUES} more values" if len(vc) > _SHOW_VALUES else "")


def _unmapped_violations(
    text: pd.Series, miss: np.ndarray, rule: FieldRule, source: str, violations: list[Violation]
) -> None:
    """One violation per value the map lacks, at its first row."""
    missing = text[miss]
    firsts = missing.drop_duplicates(keep="first")
    counts = missing.value_counts()
    for pos, value in firsts.items():
        shown = f"{value!r}" if value else "an empty value"
        rule_text = (
            f"{shown} ({counts[value]} rows) is not in {rule.key}.map and there is no "
            f"default: add it to the map, or give default: or unmapped: drop|keep."
        )
        violations.append(Violation(source, int(pos) + 1, None, rule.source, rule_text))


def _generate(raw: pd.DataFrame, gen: Generator, where: np.ndarray, target: str) -> pd.Series:
    """Ids for the rows ``where`` (others empty); complaint ids are made unique."""
    n = len(raw)
    if gen.method == "row_number":
        ids = pd.Series(np.arange(1, n + 1), dtype=object).astype(str)
    else:
        cols = list(gen.columns) if gen.columns is not None else list(raw.columns)
        text = pd.DataFrame({str(c): _text(raw[c]) for c in cols})
        hashed = pd.util.hash_pandas_object(text, index=False).to_numpy(dtype=np.uint64)
        ids = pd.Series([f"{h:016x}" for h in hashed], dtype=object)
        if target == "complaint_id":
            # Identical export rows would share a hash; the k-th repeat gets "-k".
            k = ids.where(where).groupby(ids.where(where)).cumcount()
            repeat = k.reindex(ids.index, fill_value=0).to_numpy()
            ids = ids.where(repeat == 0, ids + "-" + (repeat + 1).astype(str))
    return (gen.prefix + ids).where(where, None)


def _dates(
    col: pd.Series, text: pd.Series, empty: np.ndarray, rule: FieldRule, label: str
) -> tuple[pd.Series, list[RuleCount]]:
    """ISO-8601 UTC text of each parsable value; unparsable ones stay as read, so the
    contract's timestamp rule names them with their row."""
    date = rule.date
    assert date is not None
    n = len(col)
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        stamps = pd.Series(col.to_numpy(), dtype=col.dtype)
        aware = np.full(n, getattr(col.dtype, "tz", None) is not None)
        local = stamps.dt.tz_localize(None) if aware.any() else stamps
        # A column of datetimes holds dates when every value is at midnight.
        is_date = np.full(n, bool((local.dropna() == local.dropna().dt.normalize()).all()))
        naive = stamps if not aware.any() else pd.Series(pd.NaT, index=stamps.index)
        utc = stamps.dt.tz_convert("UTC") if aware.any() else None
    else:
        fmt = date.format or "ISO8601"
        aware = text.str.contains(_AWARE).to_numpy(dtype=bool) & ~empty
        naive = pd.to_datetime(text.where(~empty & ~aware), format=fmt, errors="coerce")
        utc = pd.to_datetime(text.where(aware), format=fmt, errors="coerce", utc=True)
        if date.format is not None:
            is_date = np.full(n, not re.search(r"%[HIMSXcT]", date.format))
        else:
            is_date = ~text.str.contains(_HAS_TIME).to_numpy(dtype=bool)
    n_parsed = int(naive.notna().sum()) + (int(utc.notna().sum()) if utc is not None else 0)
    counts = [RuleCount(label, f"date from {rule.source!r}", n_parsed)]
    if date.time_of_day is not None:
        add = is_date & naive.notna().to_numpy()
        h, m, *sec = (int(x) for x in date.time_of_day.split(":"))
        naive = naive.where(~add, naive + pd.Timedelta(hours=h, minutes=m, seconds=sum(sec)))
        how = f"time of day {date.time_of_day} added to dates"
        counts.append(RuleCount(label, how, int(add.sum()), True))
    if naive.notna().any():
        how = f"local time in {date.timezone}, stored as UTC"
        counts.append(RuleCount(label, how, int(naive.notna().sum())))
    # A repeated hour at the end of summer time is read as the first one; a skipped one
    # (the spring change) moves forward to the first valid time.
    stamps = naive.dt.tz_localize(date.timezone, ambiguous=True, nonexistent="shift_forward")
    stamps = stamps.dt.tz_convert("UTC")
    if utc is not None:
        stamps = stamps.where(~aware, utc)
    iso = stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype(object)
    values = iso.where(stamps.notna().to_numpy(), col.astype(object).to_numpy())
    return values.where(~pd.Series(empty), None), counts


# --------------------------------------------------------------------------- importing


@dataclass
class ImportResult:
    """A validated import: the normalized contract frame and how it was mapped."""

    frame: pd.DataFrame
    mapped: MappedExport
    n_quarantined: int = 0


def read_export(path: PathLike, quarantine: PathLike | None = None) -> pd.DataFrame:
    """An export file (CSV read as text, or Parquet) as read, before any mapping.

    Raises:
        ContractError: missing, empty or unreadable file, or not .csv/.parquet.
        ConfigError: ``quarantine`` is the export itself.
    """
    return read_frame(path, quarantine)


def import_export(
    path: PathLike,
    mapping: ColumnMapping,
    *,
    kind: Kind = "history",
    quarantine: PathLike | None = None,
    catalog: Any = None,
    max_errors: int = 50,
) -> ImportResult:
    """Read an export (CSV or Parquet), map it and validate it as the contract says.

    Args:
        path: the export file.
        mapping: from :func:`load_mapping`.
        kind: ``history`` (closed complaints) or ``complaints`` (new ones to score).
        quarantine: set rows that break the contract aside in this file (the mapped
            values, their :data:`EXPORT_ROW` and an ``errors`` column) and keep the rest.
        catalog: a :class:`~makegood.contract.catalog.Catalog`; resolutions must be its ids.

    Returns:
        The :class:`ImportResult`; its frame is what ``read_history`` (or
        ``read_complaints``) returns for a contract file, extra columns included.

    Raises:
        ContractError: the export or a mapped row breaks a rule; violations name the
            export, its data row and ``export column -> contract column``.
        ConfigError: as :func:`~makegood.contract.files.read_history`.
    """
    source = str(path)
    mapped = apply_mapping(read_export(path, quarantine), mapping, kind=kind, source=source)
    return validate_mapped(
        mapped,
        kind=kind,
        source=source,
        quarantine=quarantine,
        catalog=catalog,
        max_errors=max_errors,
    )


def validate_mapped(
    mapped: MappedExport,
    *,
    kind: Kind = "history",
    source: str = "<export>",
    quarantine: PathLike | None = None,
    catalog: Any = None,
    max_errors: int = 50,
) -> ImportResult:
    """Validate a mapped export with :mod:`makegood.contract.files`; returns and raises as
    :func:`import_export`."""
    validate = validate_history if kind == "history" else validate_complaints
    options: dict[str, Any] = {"catalog": catalog} if kind == "history" else {}
    try:
        frame = validate(
            mapped.frame, source=source, quarantine=quarantine, max_errors=max_errors, **options
        )
    except ContractError as exc:
        raise _in_export_terms(exc, mapped) from None
    n_quarantined = len(mapped.frame) - len(frame)
    return ImportResult(frame.drop(columns=[EXPORT_ROW]), mapped, n_quarantined)


def _in_export_terms(exc: ContractError, mapped: MappedExport) -> ContractError:
    """The violations with the export's row numbers and column names."""
    rows = mapped.frame[EXPORT_ROW].to_numpy()
    out = []
    for v in exc.violations:
        row = int(rows[v.row - 1]) if v.row is not None else None
        column = v.column
        if column in mapped.origin and mapped.origin[column] != column:
            column = f"{mapped.origin[column]} -> {column}"
        out.append(replace(v, row=row, column=column))
    return ContractError(out, n_total=exc.n_total)
