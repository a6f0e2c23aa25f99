"""Applying a mapping: :func:`apply_mapping` turns an export frame into a contract-shaped
frame (no contract validation yet) and counts how many rows each rule touched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from makegood.contract.mapping.dates import days_between, export_text, parse_stamps
from makegood.contract.mapping.rules import (
    EXPORT_ROW,
    OUTCOME,
    ColumnMapping,
    FieldRule,
    Generator,
    Kind,
)
from makegood.contract.schema import COMPLAINT_COLUMNS, HISTORY_COLUMNS, OPTIONAL_COLUMNS
from makegood.errors import ContractError, Violation

__all__ = ["MappedExport", "RuleCount", "apply_mapping"]

_SHOW_VALUES = 5


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
    for name, derived in mapping.derived.items():
        days = days_between(raw[derived.start], raw[derived.end], derived.format)
        out[name] = days
        known = int(days.notna().sum())
        counts.append(RuleCount(name, f"extra, {derived.describe()}", known))
        if known < n:
            how = f"empty: a date missing or unparsable in {derived.start!r} or {derived.end!r}"
            counts.append(RuleCount(name, how, n - known))
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
    needed += [(f"extra.{name}", c) for name, d in mapping.derived.items() for c in d.sources]
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
    text = export_text(col)
    empty = text.eq("").to_numpy()
    counts: list[RuleCount] = []
    if rule.date is not None:
        values, counts = _dates(col, empty, rule, label)
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
        text = pd.DataFrame({str(c): export_text(raw[c]) for c in cols})
        hashed = pd.util.hash_pandas_object(text, index=False).to_numpy(dtype=np.uint64)
        ids = pd.Series([f"{h:016x}" for h in hashed], dtype=object)
        if target == "complaint_id":
            # Identical export rows would share a hash; the k-th repeat gets "-k".
            k = ids.where(where).groupby(ids.where(where)).cumcount()
            repeat = k.reindex(ids.index, fill_value=0).to_numpy()
            ids = ids.where(repeat == 0, ids + "-" + (repeat + 1).astype(str))
    return (gen.prefix + ids).where(where, None)


def _dates(
    col: pd.Series, empty: np.ndarray, rule: FieldRule, label: str
) -> tuple[pd.Series, list[RuleCount]]:
    """ISO-8601 UTC text of each parsable value; unparsable ones stay as read, so the
    contract's timestamp rule names them with their row."""
    date = rule.date
    assert date is not None
    parsed = parse_stamps(col, date.format)
    naive = parsed.naive
    counts = [RuleCount(label, f"date from {rule.source!r}", parsed.n_parsed)]
    if date.time_of_day is not None:
        add = parsed.is_date & naive.notna().to_numpy()
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
    stamps = stamps.dt.tz_convert("UTC").where(~parsed.aware, parsed.utc)
    iso = stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype(object)
    values = iso.where(stamps.notna().to_numpy(), col.astype(object).to_numpy())
    return values.where(~pd.Series(empty), None), counts
