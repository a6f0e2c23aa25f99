"""The import mapping (contract/mapping/): every rule, every error, and properties."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from makegood.contract.catalog import parse_catalog
from makegood.contract.files import read_history
from makegood.contract.mapping.applying import apply_mapping
from makegood.contract.mapping.importing import import_export
from makegood.contract.mapping.parsing import load_mapping, parse_mapping
from makegood.contract.mapping.rules import EXPORT_ROW
from makegood.errors import ConfigError, ContractError

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"

BASE = {
    "columns": {
        "complaint_id": {"from": "Ref"},
        "customer_id": {"generate": "row_number"},
        "opened_at": {"from": "Date", "date": {"timezone": "UTC"}},
        "channel": {"constant": "web"},
        "issue_type": {"from": "Topic"},
        "severity": {"constant": 3},
        "disputed_amount": {"constant": 0},
        "tenure_months": {"constant": 0},
        "annual_value": {"constant": 0},
        "lifetime_value": {"constant": 500},
        "segment": {"constant": "consumer"},
        "prior_complaints_12m": {"constant": 0},
        "resolution": {
            "from": "Answer",
            "map": {"Explained": "apology", "Refunded": "refund"},
            "unmapped": "drop",
        },
        "compensation": {"from": "Answer", "map": {"Refunded": 20}, "default": 0},
    },
    "outcome": {"from": "Disputed", "map": {"Yes": 1, "No": 0}},
    "extra": {"topic": "Topic"},
}

CATALOG = parse_catalog(
    {
        "baseline": "apology",
        "resolutions": [
            {"id": "apology", "label": "A", "handling_cost": 1.0},
            {"id": "refund", "label": "R", "handling_cost": 1.0, "compensation": {"fixed": 20}},
        ],
    }
)


def export(n: int = 4, **over) -> pd.DataFrame:
    def cycle(values: list[str]) -> list[str]:
        return [values[i % len(values)] for i in range(n)]

    frame = pd.DataFrame(
        {
            "Ref": [f"r{i}" for i in range(n)],
            "Date": [f"2015-03-0{1 + i % 9}" for i in range(n)],
            "Topic": cycle(["Mortgage", "Card", "Card", "Loan"]),
            "Answer": cycle(["Explained", "Refunded", "In progress", "Explained"]),
            "Disputed": cycle(["Yes", "No"]),
        }
    )
    for k, v in over.items():
        frame[k] = v
    return frame


def mapping(**changes) -> dict:
    """BASE with top-level sections or ``columns`` entries replaced (None removes one)."""
    m = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            if value is None:
                m[section].pop(name, None)
            else:
                m[section][name] = value
        elif value is None:
            m.pop(section, None)
        else:
            m[section] = value
    return m


def problems(data) -> str:
    with pytest.raises(ConfigError) as err:
        parse_mapping(data, source="m.yaml")
    return str(err.value)


# --------------------------------------------------------------------------- parsing


def test_base_mapping_parses():
    m = parse_mapping(BASE)
    assert m.rules["resolution"].value_map == {"Explained": "apology", "Refunded": "refund"}
    assert m.rules["churned_90d"].source == "Disputed"
    assert m.extra == {"topic": "Topic"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({**BASE, "colums": {}}, "m.yaml: colums: unknown key"),
        (
            mapping(columns__severity={"constant": 3, "from": "Sev"}),
            "columns.severity: needs exactly one",
        ),
        (mapping(columns__severity={}), "columns.severity: needs exactly one of"),
        (
            mapping(columns__severity={"constant": 3, "typo": 1}),
            "columns.severity.typo: unknown key",
        ),
        (mapping(columns__sevrity={"constant": 3}), "columns.sevrity: not a contract column"),
        (
            mapping(columns__churned_90d={"constant": 0}),
            "columns.churned_90d: the outcome to avoid",
        ),
        (mapping(outcome=None), "outcome: missing"),
        (
            mapping(columns__severity={"constant": [1, 2]}),
            "columns.severity.constant: must be a single",
        ),
        (
            mapping(columns__channel={"from": "C", "unmapped": "drop"}),
            "columns.channel.unmapped: applies",
        ),
        (
            mapping(columns__channel={"from": "C", "map": {"a": "b"}, "unmapped": "skip"}),
            "columns.channel.unmapped: must be one of error, drop, keep. Got 'skip'",
        ),
        (
            mapping(columns__channel={"from": "C", "map": {"a": "b"}, "unmapped": "drop"}),
            "columns.channel.unmapped: drop is allowed on the resolution and the outcome only",
        ),
        (
            mapping(
                columns__channel={
                    "from": "C",
                    "map": {"a": "b"},
                    "unmapped": "keep",
                    "default": "x",
                }
            ),
            "columns.channel: give default: or unmapped: keep, not both",
        ),
        (mapping(columns__channel={"from": "C", "map": {}}), "columns.channel.map: must map"),
        (
            mapping(columns__channel={"constant": "web", "default": "x"}),
            "default apply to from: only",
        ),
        (
            mapping(columns__channel={"from": "C", "date": True}),
            "columns.channel.date: dates apply",
        ),
        (
            mapping(columns__opened_at={"from": "Date", "date": {"timezone": "Mars/Olympus"}}),
            "columns.opened_at.date.timezone: not a known IANA time zone. Got 'Mars/Olympus'",
        ),
        (
            mapping(columns__opened_at={"from": "Date", "date": {"time_of_day": 720}}),
            "columns.opened_at.date.time_of_day: must be quoted text HH:MM[:SS]. Got 720",
        ),
        (
            mapping(columns__opened_at={"from": "Date", "date": {"format": "dd/mm"}}),
            "columns.opened_at.date.format: must be a strftime format",
        ),
        (mapping(columns__channel={"generate": "row_number"}), "columns.channel.generate: ids are"),
        (
            mapping(columns__customer_id={"generate": {"hash": 3}}),
            "columns.customer_id.generate.hash: must be 'all' or a list",
        ),
        (
            mapping(columns__customer_id={"generate": "uuid"}),
            "columns.customer_id.generate: must be",
        ),
        (mapping(extra={"severity": "Sev"}), "extra.severity: the name of a contract column"),
        (mapping(extra=3), "extra: must be a list"),
        (mapping(features={"topic": "colour"}), "features.topic: kind must be one of category"),
        (mapping(features={"churned_90d": "number"}), "features.churned_90d: an outcome column"),
        (mapping(features={"severity": "number"}), "features.severity: a contract column"),
        (mapping(features={"Topic": "category"}), "features.Topic: not an extra column"),
    ],
)
def test_bad_mapping_names_the_key_and_the_rule(data, expected):
    assert expected in problems(data)


def test_every_problem_is_listed_at_once():
    text = problems(mapping(columns__severity={}, extra=3, outcome=None))
    assert "columns.severity" in text and "extra:" in text and "outcome: missing" in text


def test_a_feature_that_feeds_the_resolution_or_the_outcome_is_refused():
    data = mapping(extra={"answer": "Answer", "disputed": "Disputed", "topic": "Topic"})
    text = problems({**data, "features": {"answer": "category", "disputed": "category"}})
    assert "features.answer: export column 'Answer' feeds the resolution or the outcome" in text
    assert "features.disputed: export column 'Disputed' feeds" in text


def test_a_feature_recorded_after_the_resolution_is_refused():
    data = mapping(extra={"timely": "Timely", "topic": "Topic"})
    data |= {"features": {"timely": "category"}, "recorded_after_resolution": ["Timely"]}
    assert "features.timely: export column 'Timely' is recorded after the resolution" in (
        problems(data)
    )


def test_declared_features_are_kept_with_their_kind():
    m = parse_mapping({**BASE, "features": {"topic": "category"}})
    assert m.features == {"topic": "category"}


def test_yes_no_keys_stay_text_and_times_must_be_quoted(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        textwrap.dedent(
            """
            columns:
              opened_at: {from: Date, date: {time_of_day: "12:00"}}
            outcome: {from: Disputed, map: {Yes: 1, No: 0, true: 1}}
            """
        )
    )
    m = load_mapping(path)
    assert m.rules["churned_90d"].value_map == {"Yes": 1, "No": 0, "true": 1}
    path.write_text(
        "columns: {opened_at: {from: Date, date: {time_of_day: 12:00}}}\noutcome: {constant: 0}\n"
    )
    with pytest.raises(ConfigError, match="time_of_day: must be quoted text"):
        load_mapping(path)


def test_unreadable_mapping_files(tmp_path):
    with pytest.raises(ConfigError, match="mapping file not found"):
        load_mapping(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("columns: [unclosed")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_mapping(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- a\n")
    with pytest.raises(ConfigError, match="a mapping must be a YAML mapping"):
        load_mapping(tmp_path / "list.yaml")


# --------------------------------------------------------------------------- applying


def test_renames_maps_constants_and_counts():
    mapped = apply_mapping(export(), parse_mapping(BASE))
    f = mapped.frame
    assert f["complaint_id"].tolist() == ["r0", "r1", "r3"]  # r2 ("In progress") dropped
    assert f["resolution"].tolist() == ["apology", "refund", "apology"]
    assert f["compensation"].tolist() == [0, 20, 0]
    assert f["churned_90d"].tolist() == [1, 0, 0]
    assert f["severity"].tolist() == [3, 3, 3]
    assert f["topic"].tolist() == ["Mortgage", "Card", "Loan"]
    assert f[EXPORT_ROW].tolist() == [1, 2, 4]
    assert (mapped.n_read, mapped.n_dropped) == (4, 1)
    counts = {(c.field, c.rule): c.n_rows for c in mapped.counts}
    assert counts[("resolution", "mapped from 'Answer'")] == 3
    assert counts[("resolution", "dropped: not in columns.resolution.map ('In progress': 1)")] == 1
    assert counts[("compensation", "default 0 where empty or not in the map")] == 3
    assert counts[("severity", "constant 3")] == 4
    filled = {c.field for c in mapped.counts if c.filled}
    assert {"severity", "customer_id", "compensation"} <= filled and "issue_type" not in filled
    summary = mapped.summary()
    assert "3  kept of 4 read (1 dropped)" in summary and "constant 3 *" in summary


def test_unmapped_values_without_default_are_named_with_their_first_row():
    data = mapping(outcome={"from": "Disputed", "map": {"Yes": 1}})
    with pytest.raises(ContractError) as err:
        apply_mapping(export(), parse_mapping(data), source="ex.csv")
    (v,) = err.value.violations
    assert (v.file, v.row, v.column) == ("ex.csv", 2, "Disputed")
    assert "'No' (2 rows) is not in outcome.map and there is no default" in v.rule


def test_unmapped_keep_passes_the_value_through():
    data = mapping(columns__channel={"from": "Topic", "map": {"Card": "cards"}, "unmapped": "keep"})
    f = apply_mapping(export(), parse_mapping(data)).frame
    assert f["channel"].tolist() == ["Mortgage", "cards", "Loan"]


def test_default_fills_empty_values_without_a_map():
    data = mapping(columns__issue_type={"from": "Topic", "default": "other"})
    frame = export(Topic=["Card", "", None, "  "])
    mapped = apply_mapping(frame, parse_mapping(data))
    # rows 1, 2 and 4 are kept (row 3 has no resolution); 2 and 4 are blank
    assert mapped.frame["issue_type"].tolist() == ["Card", "other", "other"]
    assert [c.n_rows for c in mapped.counts if c.field == "issue_type"] == [1, 3]


def test_same_name_columns_are_taken_as_is_and_absent_optional_ones_stay_absent():
    data = mapping(columns__severity=None)
    mapped = apply_mapping(export(severity=[1, 2, 3, 4]), parse_mapping(data))
    assert mapped.frame["severity"].tolist() == [1, 2, 4]
    assert "emotion" not in mapped.frame


def test_a_required_column_without_rule_or_export_column_is_named():
    with pytest.raises(ContractError) as err:
        apply_mapping(export(), parse_mapping(mapping(columns__severity=None)), source="ex.csv")
    (v,) = err.value.violations
    assert v.column == "severity" and "no rule in <mapping> (columns.severity)" in v.rule


def test_a_missing_export_column_is_named_with_the_key():
    frame = export().rename(columns={"Topic": "topic"})
    with pytest.raises(ContractError) as err:
        apply_mapping(frame, parse_mapping(BASE), source="ex.csv")
    rules = {v.rule for v in err.value.violations}
    assert any("columns.issue_type is missing (found 'topic'" in r for r in rules)
    assert any("extra.topic is missing" in r for r in rules)


def test_row_number_and_hash_ids():
    data = mapping(columns__complaint_id={"generate": {"hash": ["Topic"], "prefix": "c-"}})
    data["columns"]["resolution"] = {"from": "Answer", "map": {"Explained": "a"}, "default": "b"}
    f = apply_mapping(export(), parse_mapping(data)).frame
    assert f["customer_id"].tolist() == ["1", "2", "3", "4"]
    ids = f["complaint_id"].tolist()
    # rows 2 and 3 share Topic "Card": the second gets a "-2"
    assert ids[2] == ids[1] + "-2" and ids[0].startswith("c-") and len(set(ids)) == 4


def test_generated_default_fills_only_missing_ids_and_is_stable():
    data = mapping(columns__complaint_id={"from": "Ref", "default": {"generate": "hash"}})
    frame = export(Ref=["a", None, "c", ""])
    first = apply_mapping(frame, parse_mapping(data)).frame["complaint_id"].tolist()
    again = apply_mapping(frame.copy(), parse_mapping(data)).frame["complaint_id"].tolist()
    assert first[0] == "a" and first[2] != "" and len(first[1]) == 16 and first == again


def test_dates_in_a_time_zone_with_a_time_of_day():
    rule = {"from": "Date", "date": {"timezone": "America/New_York", "time_of_day": "12:00"}}
    frame = export(Date=["2015-01-15", "2015-07-15", "2015-07-15T08:30:00", "2015-07-15T08:30Z"])
    f = apply_mapping(frame, parse_mapping(mapping(columns__opened_at=rule))).frame
    # winter EST (UTC-5), summer EDT (UTC-4); a time of day stays; an aware time converts
    assert f["opened_at"].tolist() == [
        "2015-01-15T17:00:00Z",
        "2015-07-15T16:00:00Z",
        "2015-07-15T08:30:00Z",
    ]


def test_dates_with_a_format_and_from_datetime_columns():
    rule = {"from": "Date", "date": {"format": "%m/%d/%Y", "time_of_day": "09:15:30"}}
    frame = export(Date=["03/01/2015", "12/31/2014", "01/02/2015", "02/02/2015"])
    f = apply_mapping(frame, parse_mapping(mapping(columns__opened_at=rule))).frame
    assert f["opened_at"].iloc[0] == "2015-03-01T09:15:30Z"
    stamps = pd.to_datetime(["2015-03-01", "2015-03-02", "2015-03-03", "2015-03-04"])
    rule = {"from": "Date", "date": {"timezone": "Europe/Paris", "time_of_day": "10:00"}}
    f = apply_mapping(export(Date=stamps), parse_mapping(mapping(columns__opened_at=rule))).frame
    assert f["opened_at"].iloc[0] == "2015-03-01T09:00:00Z"


def test_new_complaints_skip_the_outcome_rules():
    frame = export().drop(columns=["Answer", "Disputed"])
    mapped = apply_mapping(frame, parse_mapping(BASE), kind="complaints")
    assert len(mapped.frame) == 4 and mapped.n_dropped == 0
    assert "resolution" not in mapped.frame and "churned_90d" not in mapped.frame


# --------------------------------------------------------------------------- importing


def write_export(tmp_path: Path, frame: pd.DataFrame, name: str = "export.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_import_validates_with_the_contract(tmp_path):
    path = write_export(tmp_path, export())
    result = import_export(path, parse_mapping(BASE), catalog=CATALOG)
    f = result.frame
    assert EXPORT_ROW not in f and f["topic"].tolist() == ["Mortgage", "Card", "Loan"]
    assert f["opened_at"].iloc[0] == pd.Timestamp("2015-03-01")
    assert f["churned_90d"].dtype == "int64"
    # the same frame written as a contract file reads back equal
    out = tmp_path / "history.parquet"
    f.to_parquet(out, index=False)
    pd.testing.assert_frame_equal(read_history(out), f, check_dtype=False)


def test_a_bad_row_is_named_by_the_export_row_and_column(tmp_path):
    frame = export(Date=["2015-03-01", "2015-03-02", "2015-03-03", "yesterday"])
    path = write_export(tmp_path, frame)
    with pytest.raises(ContractError) as err:
        import_export(path, parse_mapping(BASE))
    (v,) = err.value.violations
    # row 4 of the export (the third mapped row, after the drop of row 3)
    assert (v.file, v.row, v.complaint_id, v.column) == (str(path), 4, "r3", "Date -> opened_at")
    assert "ISO-8601" in v.rule and "'yesterday'" in v.rule


def test_a_resolution_outside_the_catalog_is_named(tmp_path):
    data = mapping(
        columns__resolution={"from": "Answer", "map": {"Explained": "apology"}, "unmapped": "keep"}
    )
    path = write_export(tmp_path, export())
    with pytest.raises(ContractError) as err:
        import_export(path, parse_mapping(data), catalog=CATALOG)
    assert {(v.row, v.column) for v in err.value.violations} == {
        (2, "Answer -> resolution"),
        (3, "Answer -> resolution"),
    }


def test_quarantine_sets_bad_rows_aside_with_their_export_row(tmp_path):
    frame = export(Date=["2015-03-01", "2015-03-02", "2015-03-03", "yesterday"])
    path = write_export(tmp_path, frame)
    aside = tmp_path / "bad.csv"
    result = import_export(path, parse_mapping(BASE), quarantine=aside)
    assert result.n_quarantined == 1 and len(result.frame) == 2
    bad = pd.read_csv(aside)
    assert bad[EXPORT_ROW].tolist() == [4] and "opened_at" in bad["errors"].iloc[0]


def test_the_cfpb_example_mapping_and_catalog_are_valid():
    m = load_mapping(EXAMPLES / "cfpb.yaml")
    assert m.rules["churned_90d"].source == "Consumer disputed?"
    assert set(m.features) == {
        "product",
        "sub_product",
        "issue",
        "sub_issue",
        "company",
        "state",
        "tags",
        "days_to_company",
    }
    assert m.features["days_to_company"] == "number"
    assert m.derived["days_to_company"].sources == ("Date received", "Date sent to company")
    # the company's answer columns stay refused as inputs
    assert {"Company public response", "Timely response?"} <= set(m.recorded_after_resolution)
    assert not {"Company public response", "Timely response?"} & {
        c for name in m.features for c in m.extra_sources(name)
    }
    from makegood.contract.catalog import load_catalog

    cat = load_catalog(EXAMPLES / "cfpb_catalog.yaml")
    mapped_ids = set(m.rules["resolution"].value_map.values())
    assert mapped_ids == set(cat.ids) and cat.baseline == "explanation"


# --------------------------------------------------------------------------- properties

_WORDS = st.text(alphabet="abcXY -", min_size=0, max_size=4)


@given(values=st.lists(_WORDS, min_size=1, max_size=30), keys=st.lists(_WORDS, max_size=5))
def test_a_value_map_with_default_is_a_lookup(values, keys):
    table = {k.strip(): f"v{i}" for i, k in enumerate(keys) if k.strip()}
    if not table:
        table = {"a": "v"}
    data = mapping(columns__channel={"from": "C", "map": table, "default": "other"})
    data["columns"]["resolution"] = {"constant": "apology"}
    frame = export(len(values), C=values, Ref=[f"r{i}" for i in range(len(values))])
    mapped = apply_mapping(frame, parse_mapping(data))
    expected = [table.get(v.strip(), "other") for v in values]
    assert mapped.frame["channel"].tolist() == expected
    assert sum(c.n_rows for c in mapped.counts if c.field == "channel") == len(values)


@given(st.lists(st.sampled_from(["a", "b", ""]), min_size=1, max_size=40))
def test_generated_complaint_ids_are_unique(topics):
    n = len(topics)
    data = mapping(columns__complaint_id={"generate": {"hash": ["Topic"]}})
    data["columns"]["resolution"] = {"constant": "apology"}
    frame = export(n, Topic=topics, Ref=["x"] * n)
    ids = apply_mapping(frame, parse_mapping(data)).frame["complaint_id"]
    assert ids.is_unique


@given(
    day=st.dates(
        min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2040-12-31").date()
    ),
    tz=st.sampled_from(
        ["UTC", "America/New_York", "Europe/Paris", "Asia/Kolkata", "Pacific/Auckland"]
    ),
    hour=st.integers(0, 23),
)
def test_a_date_lands_at_its_local_time_of_day(day, tz, hour):
    rule = {"from": "Date", "date": {"timezone": tz, "time_of_day": f"{hour:02d}:00"}}
    frame = export(1, Date=[day.isoformat()])
    value = apply_mapping(frame, parse_mapping(mapping(columns__opened_at=rule))).frame["opened_at"]
    local = pd.Timestamp(value.iloc[0]).tz_convert(tz)
    # a non-existent local hour (the spring change) moves forward to the first valid time
    assert local.date() == day and local.hour in (hour, (hour + 1) % 24)


def test_extra_as_a_list_keeps_the_export_names():
    mapped = apply_mapping(export(), parse_mapping(mapping(extra=["Topic", "Ref"])))
    assert mapped.frame["Topic"].tolist() == ["Mortgage", "Card", "Loan"]
    assert mapped.frame["Ref"].tolist() == ["r0", "r1", "r3"]


# --------------------------------------------------------------------------- derived columns

DAYS = {"days_between": ["Date", "Sent"]}


def test_days_between_is_an_extra_column_counted_in_the_report():
    data = mapping(extra={"topic": "Topic", "wait": DAYS}, features={"wait": "number"})
    m = parse_mapping(data)
    assert m.extra == {"topic": "Topic"} and m.extra_sources("wait") == ("Date", "Sent")
    sent = ["2015-03-04", "2015-03-02T12:00", "", "not a date"]
    mapped = apply_mapping(export(Sent=sent), m)
    wait = mapped.frame["wait"].tolist()
    assert wait[:2] == [3.0, 0.5] and all(pd.isna(w) for w in wait[2:])
    rules = {(c.field, c.rule): c.n_rows for c in mapped.counts}
    assert rules[("wait", "extra, days from 'Date' to 'Sent'")] == 2
    assert rules[("wait", "empty: a date missing or unparsable in 'Date' or 'Sent'")] == 2


def test_days_between_reads_dates_stored_as_datetimes_and_a_format():
    m = parse_mapping(mapping(extra={"wait": {**DAYS, "format": "%d/%m/%Y"}}))
    frame = export(Date=["01/03/2015", "02/03/2015", "", "31/03/2015"])
    frame["Sent"] = pd.to_datetime(["2015-03-01", "2015-03-05", "2015-03-05", None])
    m_iso = parse_mapping(mapping(extra={"wait": DAYS}))
    parsed = apply_mapping(frame.assign(Date=pd.to_datetime(frame["Date"], dayfirst=True)), m_iso)
    assert parsed.frame["wait"].tolist()[:2] == [0.0, 3.0]
    text = apply_mapping(frame.assign(Sent=["05/03/2015"] * 4), m)
    assert text.frame["wait"].tolist()[:2] == [4.0, 3.0]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"wait": {"days_between": ["Date"]}}, "extra.wait.days_between: must be a list of two"),
        ({"wait": {"days_betwen": ["Date", "Sent"]}}, "extra.wait.days_betwen: unknown key"),
        ({"wait": {"format": "%Y"}}, "extra.wait: a derived column needs days_between"),
        ({"wait": {**DAYS, "format": "dd/mm"}}, "extra.wait.format: must be a strftime format"),
        ({"wait": 3}, "extra.wait: must be an export column or {days_between"),
        ({"severity": DAYS}, "extra.severity: the name of a contract column"),
    ],
)
def test_days_between_errors_name_the_key(extra, expected):
    assert f"m.yaml: {expected}" in problems(mapping(extra=extra))


def test_days_between_reading_an_answer_time_column_is_refused_as_a_feature():
    answer = {"days_between": ["Date", "Answer"]}  # Answer feeds the resolution
    late = {"days_between": ["Date", "Closed"]}
    data = mapping(
        extra={"a": answer, "b": late},
        features={"a": "number", "b": "number"},
        recorded_after_resolution=["Closed"],
    )
    text = problems(data)
    assert "features.a: export column 'Answer' feeds the resolution or the outcome" in text
    assert "features.b: export column 'Closed' is recorded after the resolution" in text


def test_days_between_needs_its_export_columns():
    m = parse_mapping(mapping(extra={"wait": DAYS}))
    with pytest.raises(ContractError, match="extra.wait is missing"):
        apply_mapping(export(), m)


@given(
    st.lists(
        st.tuples(
            st.datetimes(
                min_value=pd.Timestamp("2000-01-01"), max_value=pd.Timestamp("2030-01-01")
            ),
            st.integers(-400, 400),
            st.integers(0, 23),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_days_between_counts_the_days_added_whatever_the_text_form(rows):
    from makegood.contract.mapping.dates import days_between

    start = [d.replace(microsecond=0) for d, _, _ in rows]
    end = [d + pd.Timedelta(days=k, hours=h) for d, (_, k, h) in zip(start, rows, strict=True)]
    expected = [k + h / 24 for _, k, h in rows]
    iso = days_between(pd.Series([d.isoformat() for d in start]), pd.Series(end))
    assert iso.round(9).tolist() == pd.Series(expected).round(9).tolist()
    back = days_between(pd.Series(end), pd.Series([f"{d:%Y-%m-%d %H:%M:%S}Z" for d in start]))
    assert back.round(9).tolist() == (-pd.Series(expected)).round(9).tolist()
