"""Tests of makegood.contract: every rule of CONTRACT.md section 1, quarantine, formats."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from makegood.contract.catalog import Catalog, Resolution
from makegood.contract.files import (
    COMPLAINT_COLUMNS,
    EMOTIONS,
    HISTORY_COLUMNS,
    OUTCOME_COLUMNS,
    SKILLS,
    read_complaints,
    read_history,
    validate_complaints,
    validate_history,
    write_frame,
)
from makegood.errors import ConfigError, ContractError

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

REQUIRED = tuple(
    c
    for c in HISTORY_COLUMNS
    if c not in ("emotion", "complaint_text", "digital_skill", "logging_propensity", "satisfaction")
)

EXPECTED_DTYPES = {
    "complaint_id": "str",
    "customer_id": "str",
    "opened_at": "datetime64[ns]",
    "channel": "str",
    "issue_type": "str",
    "severity": "int64",
    "emotion": "str",
    "complaint_text": "str",
    "disputed_amount": "float64",
    "tenure_months": "int64",
    "annual_value": "float64",
    "lifetime_value": "float64",
    "segment": "str",
    "prior_complaints_12m": "int64",
    "digital_skill": "str",
    "resolution": "str",
    "compensation": "float64",
    "logging_propensity": "float64",
    "satisfaction": "float64",
    "churned_90d": "int64",
}


def raw_history(n_rows: int = 4) -> pd.DataFrame:
    """A valid history as read from CSV: every cell a string."""
    rows = []
    for i in range(n_rows):
        rows.append(
            {
                "complaint_id": f"C{i}",
                "customer_id": f"U{i % 2}",
                "opened_at": f"2024-03-{i + 1:02d}T14:30:00Z",
                "channel": "phone",
                "issue_type": "billing_error",
                "severity": str(i % 5 + 1),
                "emotion": "angry" if i % 2 else "",
                "complaint_text": "I was charged twice" if i % 2 else "",
                "disputed_amount": "40.5",
                "tenure_months": "12",
                "annual_value": "600",
                "lifetime_value": "1800.25",
                "segment": "consumer",
                "prior_complaints_12m": "0",
                "digital_skill": "high" if i % 2 else "",
                "resolution": "apology",
                "compensation": "0",
                "logging_propensity": "0.5" if i % 2 else "",
                "satisfaction": "7" if i % 2 else "",
                "churned_90d": "0",
            }
        )
    return pd.DataFrame(rows, dtype="str")


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False)
    return path


def assert_dtypes(frame: pd.DataFrame, columns: tuple[str, ...] = HISTORY_COLUMNS) -> None:
    assert list(frame.columns[: len(columns)]) == list(columns)
    for column in columns:
        assert str(frame[column].dtype) == EXPECTED_DTYPES[column], column
    assert isinstance(frame.index, pd.RangeIndex)
    assert frame.index.start == 0


# --------------------------------------------------------------------------- valid input


def test_valid_csv_is_normalized(tmp_path: Path) -> None:
    raw = raw_history(3)
    raw.loc[0, "channel"] = "  Phone "
    raw.loc[0, "issue_type"] = "Billing_Error"
    raw.loc[0, "segment"] = "PREMIUM"
    raw.loc[0, "emotion"] = "Frustrated"
    raw.loc[0, "digital_skill"] = " LOW"
    raw.loc[0, "complaint_id"] = " C0 "
    raw.loc[0, "opened_at"] = "2024-03-01T14:30:00+02:00"
    raw.loc[1, "opened_at"] = "2024-03-02 09:15"
    raw.loc[0, "severity"] = "3.0"
    raw.loc[0, "churned_90d"] = "TRUE"
    raw.loc[1, "churned_90d"] = "1.0"
    raw.loc[2, "churned_90d"] = "false"
    raw["region"] = ["north", "", "south"]

    frame = read_history(write_csv(raw, tmp_path / "history.csv"))

    assert_dtypes(frame)
    first = frame.iloc[0]
    assert first["complaint_id"] == "C0"
    assert (first["channel"], first["issue_type"], first["segment"]) == (
        "phone",
        "billing_error",
        "premium",
    )
    assert (first["emotion"], first["digital_skill"]) == ("frustrated", "low")
    assert first["opened_at"] == pd.Timestamp("2024-03-01 12:30:00")
    assert frame.loc[1, "opened_at"] == pd.Timestamp("2024-03-02 09:15:00")
    assert first["severity"] == 3
    assert frame["churned_90d"].tolist() == [1, 1, 0]
    assert frame["emotion"].isna().tolist() == [False, False, True]
    assert frame["complaint_text"].tolist() == ["", "I was charged twice", ""]
    assert frame["satisfaction"].isna().tolist() == [True, False, True]
    assert frame["region"].tolist() == ["north", "", "south"]
    assert frame.columns[-1] == "region"


def test_optional_columns_may_be_absent() -> None:
    raw = raw_history(2).drop(
        columns=["emotion", "complaint_text", "digital_skill", "logging_propensity", "satisfaction"]
    )
    frame = validate_history(raw)
    assert_dtypes(frame)
    assert frame["complaint_text"].tolist() == ["", ""]
    assert frame["emotion"].isna().all()
    assert frame["satisfaction"].isna().all()


def test_complaints_do_not_need_outcomes_and_ignore_them(tmp_path: Path) -> None:
    raw = raw_history(3).drop(columns=["resolution", "compensation", "satisfaction"])
    raw["churned_90d"] = "not validated for scoring"
    frame = read_complaints(write_csv(raw, tmp_path / "new.csv"))
    assert_dtypes(frame, COMPLAINT_COLUMNS)
    assert frame["churned_90d"].tolist() == ["not validated for scoring"] * 3
    assert set(COMPLAINT_COLUMNS) | set(OUTCOME_COLUMNS) == set(HISTORY_COLUMNS)


def test_validating_a_normalized_frame_changes_nothing() -> None:
    frame = validate_history(raw_history(5))
    again = validate_history(frame)
    pd.testing.assert_frame_equal(again, frame)


def test_columns_in_any_order_and_nonrange_index() -> None:
    raw = raw_history(3)
    shuffled = raw[list(reversed(raw.columns))].set_axis([10, 20, 30])
    pd.testing.assert_frame_equal(validate_history(shuffled), validate_history(raw))


# --------------------------------------------------------------------------- each rule once

BROKEN = [
    ("complaint_id", "", "complaint_id must be a non-empty string"),
    ("customer_id", "  ", "customer_id must be a non-empty string"),
    ("opened_at", "yesterday", "opened_at must be an ISO-8601 timestamp"),
    ("opened_at", "2024-13-01", "opened_at must be an ISO-8601 timestamp"),
    ("opened_at", "0001-01-01", "opened_at must be an ISO-8601 timestamp"),
    ("channel", "", "channel must be a non-empty string"),
    ("issue_type", "", "issue_type must be a non-empty string"),
    ("segment", "", "segment must be a non-empty string"),
    ("severity", "7", "severity must be an integer from 1 to 5. Got '7' instead."),
    ("severity", "3.5", "severity must be an integer from 1 to 5. Got '3.5' instead."),
    ("severity", "", "severity must be an integer from 1 to 5. Got an empty value instead."),
    ("emotion", "happy", "emotion must be empty or one of calm"),
    ("disputed_amount", "-1", "disputed_amount must be a finite number >= 0. Got '-1'"),
    ("disputed_amount", "inf", "disputed_amount must be a finite number >= 0"),
    ("disputed_amount", "nan", "disputed_amount must be a finite number >= 0"),
    ("tenure_months", "2.5", "tenure_months must be an integer >= 0"),
    ("tenure_months", "-3", "tenure_months must be an integer >= 0"),
    ("annual_value", "lots", "annual_value must be a finite number >= 0. Got 'lots'"),
    ("lifetime_value", "-0.01", "lifetime_value must be a finite number >= 0"),
    ("prior_complaints_12m", "x", "prior_complaints_12m must be an integer >= 0"),
    ("digital_skill", "expert", "digital_skill must be empty or one of low, medium, high"),
    ("resolution", "", "resolution must be a non-empty string"),
    ("compensation", "-25", "compensation must be a finite number >= 0"),
    ("compensation", "", "compensation must be a finite number >= 0"),
    ("logging_propensity", "0", "logging_propensity must be empty or a number in (0, 1]"),
    ("logging_propensity", "1.5", "logging_propensity must be empty or a number in (0, 1]"),
    ("satisfaction", "11", "satisfaction must be empty or a number from 0 to 10"),
    ("satisfaction", "-1", "satisfaction must be empty or a number from 0 to 10"),
    ("churned_90d", "yes", "churned_90d must be one of 0, 1, true, false. Got 'yes'"),
    ("churned_90d", "2", "churned_90d must be one of 0, 1, true, false"),
    ("churned_90d", "", "churned_90d must be one of 0, 1, true, false"),
]


@pytest.mark.parametrize(("column", "value", "rule"), BROKEN)
def test_each_broken_rule_is_named(tmp_path: Path, column: str, value: str, rule: str) -> None:
    raw = raw_history(4)
    raw.loc[2, column] = value
    path = write_csv(raw, tmp_path / "history.csv")

    with pytest.raises(ContractError) as caught:
        read_history(path)

    error = caught.value
    assert error.n_total == 1
    (violation,) = error.violations
    assert (violation.file, violation.row, violation.column) == (str(path), 3, column)
    assert violation.complaint_id == (None if column == "complaint_id" else "C2")
    assert rule in violation.rule
    assert str(path) in str(error) and column in str(error)


def test_duplicate_complaint_id_flags_later_occurrences() -> None:
    raw = raw_history(5)
    raw.loc[3, "complaint_id"] = "C1"
    raw.loc[4, "complaint_id"] = " C1"
    with pytest.raises(ContractError) as caught:
        validate_history(raw, source="h.csv")
    rows = [(v.row, v.column) for v in caught.value.violations]
    assert rows == [(4, "complaint_id"), (5, "complaint_id")]
    assert "must be unique. Got 'C1' again (first at row 2)" in caught.value.violations[0].rule


def test_resolution_must_be_a_catalog_id() -> None:
    catalog = Catalog("USD", "apology", (Resolution("apology", "Apology", 2.0),))
    raw = raw_history(3)
    raw.loc[1, "resolution"] = "free_phone"
    validate_history(raw_history(3), catalog=catalog)
    with pytest.raises(ContractError) as caught:
        validate_history(raw, catalog=catalog)
    (violation,) = caught.value.violations
    assert violation.column == "resolution" and violation.row == 2
    assert "catalog (apology). Got 'free_phone' instead." in violation.rule


@pytest.mark.parametrize("column", REQUIRED)
def test_missing_required_column_names_it(column: str) -> None:
    with pytest.raises(ContractError) as caught:
        validate_history(raw_history(2).drop(columns=[column]), source="h.csv")
    (violation,) = caught.value.violations
    assert (violation.row, violation.column) == (None, column)
    assert "required column is missing" in violation.rule


def test_missing_column_hint_for_near_miss_header() -> None:
    raw = raw_history(2).rename(columns={"severity": "Severity "})
    with pytest.raises(ContractError, match="found 'Severity '"):
        validate_history(raw)


def test_duplicated_column_is_a_file_violation() -> None:
    raw = raw_history(2)
    doubled = pd.concat([raw, raw[["severity"]]], axis=1)
    with pytest.raises(ContractError, match="appears more than once"):
        validate_history(doubled)


# --------------------------------------------------------------------------- all violations


def test_all_violations_are_listed_in_row_order() -> None:
    raw = raw_history(6)
    raw.loc[4, "severity"] = "9"
    raw.loc[1, "satisfaction"] = "12"
    raw.loc[1, "tenure_months"] = "-1"
    raw.loc[3, "churned_90d"] = "maybe"
    with pytest.raises(ContractError) as caught:
        validate_history(raw, source="h.csv")
    error = caught.value
    assert error.n_total == 4
    assert [(v.row, v.column) for v in error.violations] == [
        (2, "tenure_months"),
        (2, "satisfaction"),
        (4, "churned_90d"),
        (5, "severity"),
    ]
    assert "and 3 more violation(s)" in str(error)


def test_max_errors_caps_the_list_but_counts_all() -> None:
    raw = raw_history(30)
    raw["severity"] = "0"
    raw["customer_id"] = ""
    with pytest.raises(ContractError) as caught:
        validate_history(raw, max_errors=5)
    error = caught.value
    assert error.n_total == 60
    assert len(error.violations) == 5
    assert [v.row for v in error.violations] == [1, 1, 2, 2, 3]
    assert "55 more not shown" in error.report()


def test_missing_column_and_bad_rows_reported_together() -> None:
    raw = raw_history(3).drop(columns=["segment"])
    raw.loc[0, "severity"] = "6"
    with pytest.raises(ContractError) as caught:
        validate_history(raw)
    assert [(v.row, v.column) for v in caught.value.violations] == [
        (None, "segment"),
        (1, "severity"),
    ]
    assert caught.value.n_total == 2


def test_max_errors_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="max_errors"):
        validate_history(raw_history(1), max_errors=0)


# --------------------------------------------------------------------------- file level


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "history.xlsx"
    path.write_text("x")
    with pytest.raises(ContractError, match=r"history\.xlsx.*\.csv or \.parquet"):
        read_history(path)


def test_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="file not found"):
        read_history(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (",".join(HISTORY_COLUMNS).encode() + b"\n", "no data rows"),
        (b"complaint_id,customer_id\n\xff\xfe,1\n", "UTF-8"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "history.csv"
    path.write_bytes(content)
    with pytest.raises(ContractError, match=message) as caught:
        read_history(path, quarantine=tmp_path / "aside.csv")
    assert caught.value.violations[0].file == str(path)
    assert not (tmp_path / "aside.csv").exists()


def test_unreadable_parquet(tmp_path: Path) -> None:
    path = tmp_path / "history.parquet"
    path.write_text("not parquet")
    with pytest.raises(ContractError, match="cannot read the file as PARQUET"):
        read_history(path)


def test_short_csv_row_is_a_row_violation(tmp_path: Path) -> None:
    path = write_csv(raw_history(3), tmp_path / "history.csv")
    lines = path.read_text().splitlines()
    lines[2] = ",".join(lines[2].split(",")[:5])  # row 2 stops after issue_type
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ContractError) as caught:
        read_history(path)
    assert {v.row for v in caught.value.violations} == {2}
    assert "severity" in {v.column for v in caught.value.violations}


def test_utf8_bom_header_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    raw_history(2).to_csv(path, index=False, encoding="utf-8-sig")
    assert len(read_history(path)) == 2


# --------------------------------------------------------------------------- quarantine


def test_quarantine_sets_bad_rows_aside(tmp_path: Path) -> None:
    raw = raw_history(6)
    raw["note"] = [f"n{i}" for i in range(6)]
    raw.loc[1, "severity"] = "9"
    raw.loc[1, "emotion"] = "sad"
    raw.loc[4, "complaint_id"] = "C0"
    source = write_csv(raw, tmp_path / "history.csv")
    aside = tmp_path / "bad" / "quarantine.csv"

    good = read_history(source, quarantine=aside)

    assert good["complaint_id"].tolist() == ["C0", "C2", "C3", "C5"]
    assert isinstance(good.index, pd.RangeIndex)
    assert_dtypes(good)
    bad = pd.read_csv(aside, dtype=str, keep_default_na=False)
    assert list(bad.columns) == [*raw.columns, "errors"]
    assert bad["complaint_id"].tolist() == ["C1", "C0"]
    assert bad["severity"].tolist() == ["9", "5"]  # as read
    assert bad["note"].tolist() == ["n1", "n4"]
    assert bad.loc[0, "errors"] == (
        "severity must be an integer from 1 to 5. Got '9' instead.; "
        "emotion must be empty or one of calm, confused, anxious, frustrated, angry. "
        "Got 'sad' instead."
    )
    assert "complaint_id must be unique" in bad.loc[1, "errors"]
    assert sorted(p.name for p in aside.parent.iterdir()) == ["quarantine.csv"]


def test_quarantine_parquet_and_all_rows_bad(tmp_path: Path) -> None:
    raw = raw_history(3)
    raw["severity"] = "0"
    aside = tmp_path / "quarantine.parquet"
    good = validate_history(raw, quarantine=aside)
    assert len(good) == 0
    assert_dtypes(good)
    bad = pd.read_parquet(aside)
    assert len(bad) == 3 and bad["errors"].str.startswith("severity").all()


def test_no_quarantine_file_when_nothing_is_bad(tmp_path: Path) -> None:
    aside = tmp_path / "quarantine.csv"
    good = validate_history(raw_history(4), quarantine=aside)
    assert len(good) == 4
    assert not aside.exists()


def test_missing_column_is_never_quarantined(tmp_path: Path) -> None:
    raw = raw_history(3).drop(columns=["severity"])
    raw.loc[0, "tenure_months"] = "-1"
    aside = tmp_path / "quarantine.csv"
    with pytest.raises(ContractError, match="required column is missing"):
        validate_history(raw, quarantine=aside)
    assert not aside.exists()


def test_quarantine_cannot_overwrite_the_input(tmp_path: Path) -> None:
    path = write_csv(raw_history(2), tmp_path / "history.csv")
    with pytest.raises(ConfigError, match="quarantine"):
        read_history(path, quarantine=path)


def test_complaints_quarantine(tmp_path: Path) -> None:
    raw = raw_history(3).drop(columns=list(OUTCOME_COLUMNS))
    raw.loc[2, "opened_at"] = "soon"
    good = validate_complaints(raw, quarantine=tmp_path / "q.csv")
    assert good["complaint_id"].tolist() == ["C0", "C1"]
    assert pd.read_csv(tmp_path / "q.csv")["complaint_id"].tolist() == ["C2"]


# --------------------------------------------------------------------------- formats


def test_csv_and_parquet_read_the_same(tmp_path: Path) -> None:
    raw = raw_history(5)
    raw["extra"] = "e"
    from_csv = read_history(write_csv(raw, tmp_path / "h.csv"))
    raw.to_parquet(tmp_path / "h.parquet", index=False)
    from_text_parquet = read_history(tmp_path / "h.parquet")
    pd.testing.assert_frame_equal(from_text_parquet, from_csv)

    # A typed Parquet file (as written by makegood itself) reads the same too.
    typed = tmp_path / "typed.parquet"
    write_frame(from_csv, typed)
    pd.testing.assert_frame_equal(read_history(typed), from_csv)


def test_typed_parquet_with_aware_timestamps_and_bools(tmp_path: Path) -> None:
    frame = validate_history(raw_history(3))
    typed = frame.copy()
    typed["opened_at"] = typed["opened_at"].dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo")
    typed["churned_90d"] = typed["churned_90d"].astype(bool)
    typed["severity"] = typed["severity"].astype("float64")
    typed.to_parquet(tmp_path / "t.parquet", index=False)
    pd.testing.assert_frame_equal(read_history(tmp_path / "t.parquet"), frame)


def test_typed_frame_violations_quote_the_value() -> None:
    frame = validate_history(raw_history(3))
    frame["severity"] = [1, 9, 2]
    with pytest.raises(ContractError, match=r"Got '9' instead"):
        validate_history(frame)


def test_write_frame_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out" / "scores.csv"
    write_frame(pd.DataFrame({"a": [1]}), target)
    assert target.read_text() == "a\n1\n"

    def broken_to_csv(self: pd.DataFrame, path: Path, **kwargs: object) -> None:
        Path(path).write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken_to_csv)
    with pytest.raises(OSError, match="disk full"):
        write_frame(pd.DataFrame({"a": [2]}), target)
    assert target.read_text() == "a\n1\n"  # the old file is intact
    assert [p.name for p in target.parent.iterdir()] == ["scores.csv"]


def test_write_frame_parquet_and_bad_extension(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.5, np.nan], "b": ["x", None]})
    pd.testing.assert_frame_equal(
        pd.read_parquet(write_frame(frame, tmp_path / "f.parquet")), frame
    )
    with pytest.raises(ContractError, match=r"\.csv or \.parquet"):
        write_frame(frame, tmp_path / "f.json")


# --------------------------------------------------------------------------- properties

TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"])
    | st.sampled_from(",\"'\n"),
    max_size=30,
)
NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-0123456789", min_size=1, max_size=10)
MONEY = st.floats(min_value=0, max_value=1e7, allow_nan=False)


def cased(word: str) -> st.SearchStrategy[str]:
    """``word`` as written by someone: any case, maybe padded."""
    return st.sampled_from([word, word.upper(), word.title(), f" {word} "])


def integer_text(low: int, high: int) -> st.SearchStrategy[tuple[int, str]]:
    return st.integers(low, high).flatmap(
        lambda i: st.sampled_from([str(i), f"{i}.0", f" {i}"]).map(lambda text: (i, text))
    )


def number_text(values: st.SearchStrategy[float]) -> st.SearchStrategy[tuple[float, str]]:
    return values.map(lambda x: (x, repr(x)))


def optional(
    pairs: st.SearchStrategy[tuple[object, str]], missing: object
) -> st.SearchStrategy[tuple[object, str]]:
    return st.one_of(st.just((missing, "")), pairs)


def choice_text(words: tuple[str, ...]) -> st.SearchStrategy[tuple[object, str]]:
    return optional(
        st.sampled_from(words).flatmap(lambda w: cased(w).map(lambda text: (w, text))), None
    )


def timestamp_text() -> st.SearchStrategy[tuple[pd.Timestamp, str]]:
    stamps = st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2100, 1, 1))
    offsets = st.sampled_from([None, 0, 120, -330])

    def render(stamp: dt.datetime, minutes: int | None) -> tuple[pd.Timestamp, str]:
        if minutes is None:
            separator = "T" if stamp.second % 2 else " "  # ISO-8601 allows either
            return pd.Timestamp(stamp), stamp.isoformat(sep=separator)
        aware = stamp.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes)))
        text = aware.isoformat().replace("+00:00", "Z")
        utc = aware.astimezone(dt.UTC).replace(tzinfo=None)
        return pd.Timestamp(utc), text

    return st.builds(render, stamps, offsets)


CHURN = st.sampled_from(
    [(0, "0"), (1, "1"), (1, "true"), (0, "FALSE"), (1, "1.0"), (0, "0.0"), (1, " True ")]
)

FIELDS: dict[str, st.SearchStrategy[tuple[object, str]]] = {
    "customer_id": NAME.map(lambda s: (s, s)),
    "opened_at": timestamp_text(),
    "channel": st.sampled_from(["phone", "chat", "email"]).flatmap(
        lambda w: cased(w).map(lambda t: (w, t))
    ),
    "issue_type": NAME.map(lambda s: (s, s.upper())),
    "severity": integer_text(1, 5),
    "emotion": choice_text(EMOTIONS),
    "complaint_text": TEXT.map(lambda s: (s, s)),
    "disputed_amount": number_text(MONEY),
    "tenure_months": integer_text(0, 600),
    "annual_value": number_text(MONEY),
    "lifetime_value": number_text(MONEY),
    "segment": NAME.map(lambda s: (s, f" {s} ")),
    "prior_complaints_12m": integer_text(0, 50),
    "digital_skill": choice_text(SKILLS),
    "resolution": NAME.map(lambda s: (s, s)),
    "compensation": number_text(MONEY),
    "logging_propensity": optional(
        number_text(st.floats(min_value=0, max_value=1, exclude_min=True)), np.nan
    ),
    "satisfaction": optional(number_text(st.floats(min_value=0, max_value=10)), np.nan),
    "churned_90d": CHURN,
}


@st.composite
def histories(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, list[object]]]:
    """A valid raw history (strings) and the normalized values it must read as."""
    ids = draw(st.lists(NAME, min_size=1, max_size=6, unique=True))
    expected: dict[str, list[object]] = {"complaint_id": ids}
    raw: dict[str, list[str]] = {"complaint_id": ids}
    for column, field in FIELDS.items():
        pairs = [draw(field) for _ in ids]
        expected[column] = [value for value, _ in pairs]
        raw[column] = [text for _, text in pairs]
    order = draw(st.permutations(list(raw)))
    return pd.DataFrame({c: raw[c] for c in order}, dtype="str"), expected


@PROPERTY
@given(histories(), st.sampled_from(["csv", "parquet"]))
def test_valid_histories_round_trip_through_a_file(
    tmp_path_factory: pytest.TempPathFactory,
    case: tuple[pd.DataFrame, dict[str, list[object]]],
    suffix: str,
) -> None:
    raw, expected = case
    path = tmp_path_factory.mktemp("rt") / f"history.{suffix}"
    write_frame(raw, path)

    frame = read_history(path)

    assert_dtypes(frame)
    assert frame["complaint_id"].tolist() == expected["complaint_id"]
    for column in ("channel", "issue_type", "segment"):
        assert frame[column].tolist() == [str(v).lower() for v in expected[column]]
    for column in ("emotion", "digital_skill"):
        got = frame[column].tolist()
        want = expected[column]
        assert [None if pd.isna(g) else g for g in got] == want
    for column in ("severity", "tenure_months", "prior_complaints_12m", "churned_90d"):
        assert frame[column].tolist() == expected[column]
    for column in (
        "disputed_amount",
        "annual_value",
        "lifetime_value",
        "compensation",
        "logging_propensity",
        "satisfaction",
    ):
        np.testing.assert_array_equal(frame[column].to_numpy(), np.array(expected[column]))
    assert frame["opened_at"].tolist() == expected["opened_at"]
    assert frame["complaint_text"].tolist() == expected["complaint_text"]
    assert frame["customer_id"].tolist() == expected["customer_id"]
    assert frame["resolution"].tolist() == expected["resolution"]


INVALID: dict[str, list[str]] = {
    "complaint_id": ["", "  "],
    "customer_id": ["", " "],
    "opened_at": ["", "not a date", "2024-02-30", "12/03/2024"],
    "channel": [""],
    "issue_type": [" "],
    "segment": [""],
    "severity": ["", "0", "6", "2.5", "high", "-1"],
    "emotion": ["happy", "calm-ish"],
    "disputed_amount": ["", "-1", "inf", "nan", "1,5", "ten"],
    "tenure_months": ["", "-1", "1.5", "x"],
    "annual_value": ["", "-0.5", "-inf"],
    "lifetime_value": ["", "-1e-9", "NaN"],
    "prior_complaints_12m": ["", "-2", "0.1"],
    "digital_skill": ["expert", "none"],
    "resolution": ["", "   "],
    "compensation": ["", "-5", "inf"],
    "logging_propensity": ["0", "-0.1", "1.01", "half"],
    "satisfaction": ["10.5", "-0.1", "good"],
    "churned_90d": ["", "2", "yes", "-1", "0.5"],
}


@PROPERTY
@given(
    histories(),
    st.sampled_from(sorted(INVALID)),
    st.data(),
)
def test_any_single_broken_cell_is_rejected_naming_its_column(
    case: tuple[pd.DataFrame, dict[str, list[object]]], column: str, data: st.DataObject
) -> None:
    raw, _ = case
    row = data.draw(st.integers(0, len(raw) - 1), label="row")
    broken = raw.copy()
    if column == "complaint_id" and row > 0 and data.draw(st.booleans(), label="duplicate"):
        broken.loc[row, column] = raw.loc[0, column]
    else:
        broken.loc[row, column] = data.draw(st.sampled_from(INVALID[column]), label="value")

    with pytest.raises(ContractError) as caught:
        validate_history(broken, source="h.csv")

    assert [(v.row, v.column) for v in caught.value.violations] == [(row + 1, column)]


@PROPERTY
@given(histories(), st.sampled_from(REQUIRED))
def test_any_dropped_required_column_is_rejected_naming_it(
    case: tuple[pd.DataFrame, dict[str, list[object]]], column: str
) -> None:
    raw, _ = case
    with pytest.raises(ContractError) as caught:
        validate_history(raw.drop(columns=[column]))
    assert [(v.row, v.column) for v in caught.value.violations] == [(None, column)]
