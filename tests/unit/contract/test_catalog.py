"""Tests of makegood.contract.catalog: the rules of CONTRACT.md section 2 and the matrices."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from makegood.contract.catalog import (
    Cap,
    Catalog,
    Condition,
    Floor,
    Resolution,
    dump_catalog,
    load_catalog,
    parse_catalog,
)
from makegood.errors import CatalogError

CONTRACT_EXAMPLE = """\
currency: USD
baseline: apology            # the do-minimum resolution
resolutions:
  - id: apology
    label: Apology and explanation
    handling_cost: 2.0
  - id: refund_disputed
    label: Refund the disputed amount
    handling_cost: 3.0
    compensation:
      fixed: 0
      fraction_of_disputed: 1.0
      max: 500
    eligible_issue_types: [billing_error, fee_dispute, product_defect]
    max_severity: 5
  - id: credit_25
    label: 25 dollar account credit
    handling_cost: 2.0
    compensation: {fixed: 25}
"""


def base() -> dict[str, Any]:
    return yaml.safe_load(CONTRACT_EXAMPLE)


@pytest.fixture
def catalog() -> Catalog:
    return parse_catalog(base())


def test_contract_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(CONTRACT_EXAMPLE)
    cat = load_catalog(path)
    assert cat.currency == "USD"
    assert cat.ids == ("apology", "refund_disputed", "credit_25")
    assert cat.baseline == "apology" and cat.baseline_index == 0
    np.testing.assert_array_equal(cat.handling_costs, [2.0, 3.0, 2.0])
    refund = cat.resolutions[1]
    assert (refund.comp_fixed, refund.comp_fraction, refund.comp_max) == (0.0, 1.0, 500.0)
    assert refund.eligible_issue_types == {"billing_error", "fee_dispute", "product_defect"}
    assert cat.index("credit_25") == 2


def test_defaults_label_currency_and_lowercase_issue_types() -> None:
    data = {
        "baseline": "apology",
        "resolutions": [
            {"id": "apology", "handling_cost": 0},
            {"id": "fix", "handling_cost": 1, "eligible_issue_types": [" Billing_Error "]},
        ],
    }
    cat = parse_catalog(data)
    assert cat.currency == "USD"
    assert cat.resolutions[0].label == "apology"
    assert cat.resolutions[1].eligible_issue_types == frozenset({"billing_error"})


# --------------------------------------------------------------------------- the math


def test_compensation_formula_with_cap(catalog: Catalog) -> None:
    disputed = np.array([0.0, 120.0, 499.0, 900.0])
    matrix = catalog.compensation_matrix(disputed)
    assert matrix.shape == (4, 3)
    np.testing.assert_array_equal(matrix[:, 0], [0, 0, 0, 0])
    np.testing.assert_array_equal(matrix[:, 1], [0, 120, 499, 500])  # capped at max
    np.testing.assert_array_equal(matrix[:, 2], [25, 25, 25, 25])


def test_compensation_fixed_plus_fraction_and_cap_below_fixed() -> None:
    partial = Resolution("half", "Half", 1.0, comp_fixed=10, comp_fraction=0.5, comp_max=60)
    np.testing.assert_allclose(partial.compensation(np.array([0, 40, 200])), [10, 30, 60])
    odd = Resolution("odd", "Odd", 1.0, comp_fixed=50, comp_max=20)  # max < fixed: max wins
    np.testing.assert_array_equal(odd.compensation(np.array([1.0])), [20.0])


def test_eligibility_matrix(catalog: Catalog) -> None:
    data = base()
    data["resolutions"][2]["max_severity"] = 3
    cat = parse_catalog(data)
    issue_type = np.array(["billing_error", "service_outage", "fee_dispute", "billing_error"])
    severity = np.array([5, 1, 4, 3])
    eligible = cat.eligibility_matrix(issue_type, severity)
    assert eligible.dtype == bool and eligible.shape == (4, 3)
    assert eligible[:, cat.baseline_index].all()
    assert eligible[:, 1].tolist() == [True, False, True, True]
    assert eligible[:, 2].tolist() == [False, True, False, True]
    with pytest.raises(ValueError, match="same length"):
        cat.eligibility_matrix(issue_type, severity[:2])


def test_index_of_unknown_id(catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match="Got 'voucher' instead"):
        catalog.index("voucher")


# --------------------------------------------------------------------------- round trips


def test_round_trip_through_dict_and_yaml(catalog: Catalog, tmp_path: Path) -> None:
    assert parse_catalog(catalog.to_dict()) == catalog
    path = dump_catalog(catalog, tmp_path / "sub" / "catalog.yaml")
    assert load_catalog(path) == catalog
    assert [p.name for p in path.parent.iterdir()] == ["catalog.yaml"]


NUMBER = st.floats(min_value=0, max_value=1e6, allow_nan=False)
IDS = st.lists(
    st.text(alphabet="abcdefghij_0123456789", min_size=1, max_size=8), min_size=1, max_size=5
).map(lambda ids: list(dict.fromkeys(ids)))


@st.composite
def catalogs(draw: st.DrawFn) -> Catalog:
    ids = draw(IDS)
    resolutions = []
    for i, res_id in enumerate(ids):
        restricted = i > 0  # the baseline (first) must be eligible everywhere
        resolutions.append(
            Resolution(
                id=res_id,
                label=draw(st.text(min_size=1, max_size=20).filter(lambda s: s.strip() == s)),
                handling_cost=draw(NUMBER),
                comp_fixed=draw(NUMBER),
                comp_fraction=draw(st.floats(0, 2)),
                comp_max=draw(st.none() | NUMBER),
                eligible_issue_types=draw(
                    st.none()
                    | st.frozensets(st.sampled_from(["billing_error", "outage"]), min_size=1)
                )
                if restricted
                else None,
                max_severity=draw(st.none() | st.integers(1, 5)) if restricted else None,
            )
        )
    return Catalog(currency="EUR", baseline=ids[0], resolutions=tuple(resolutions))


@settings(max_examples=40, deadline=None)
@given(catalogs())
def test_any_catalog_round_trips(cat: Catalog) -> None:
    assert parse_catalog(cat.to_dict()) == cat
    assert parse_catalog(yaml.safe_load(yaml.safe_dump(cat.to_dict()))) == cat


@settings(max_examples=40, deadline=None)
@given(catalogs(), st.lists(NUMBER, min_size=1, max_size=5))
def test_compensation_is_never_negative_nor_above_the_cap(
    cat: Catalog, disputed: list[float]
) -> None:
    matrix = cat.compensation_matrix(np.array(disputed))
    assert (matrix >= 0).all()
    for k, res in enumerate(cat.resolutions):
        if res.comp_max is not None:
            assert (matrix[:, k] <= res.comp_max).all()


# --------------------------------------------------------------------------- errors


def test_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"nope\.yaml: catalog file not found"):
        load_catalog(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("baseline: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "must be a YAML mapping. Got list instead"),
        ("", "must be a YAML mapping. Got an empty file instead"),
    ],
)
def test_not_a_yaml_mapping(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError, match=message) as caught:
        load_catalog(path)
    assert str(path) in str(caught.value)


def set_top(key: str, value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        data[key] = value

    return change


def set_field(position: int, key: str, value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        data["resolutions"][position][key] = value

    return change


def drop_field(position: int, key: str) -> Any:
    def change(data: dict[str, Any]) -> None:
        del data["resolutions"][position][key]

    return change


ERRORS = [
    (set_top("currency", 978), "currency must be a non-empty string. Got 978"),
    (set_top("resolutions", []), "resolutions must be a non-empty list"),
    (set_top("resolutions", {"apology": {}}), "resolutions must be a non-empty list"),
    (set_top("resolutions", ["apology"]), "resolution #1 must be a mapping"),
    (set_top("baseline", None), "baseline must be a resolution id. Got None"),
    (set_top("baseline", "voucher"), "baseline must be the id of a listed resolution"),
    (set_top("budget", 100), "catalog: unknown key(s) 'budget'"),
    (set_field(1, "id", ""), "resolution #2: id must be a non-empty string"),
    (drop_field(1, "id"), "resolution #2: id must be a non-empty string. Got None"),
    (set_field(2, "id", "apology"), "resolution ids must be unique. Got apology"),
    (set_field(1, "label", 7), "resolution 'refund_disputed': label must be a non-empty string"),
    (drop_field(2, "handling_cost"), "resolution 'credit_25': handling_cost must be a finite"),
    (set_field(2, "handling_cost", -1), "'credit_25': handling_cost must be a finite number >= 0"),
    (set_field(2, "handling_cost", float("inf")), "handling_cost must be a finite number"),
    (set_field(2, "handling_cost", True), "handling_cost must be a finite number"),
    (set_field(2, "handling_cost", "2"), "handling_cost must be a finite number >= 0. Got '2'"),
    (set_field(2, "handlng_cost", 2), "resolution 'credit_25': unknown key(s) 'handlng_cost'"),
    (set_field(2, "compensation", 25), "'credit_25': compensation must be a mapping"),
    (set_field(2, "compensation", {"fixed": -25}), "compensation.fixed must be a finite number"),
    (
        set_field(1, "compensation", {"fraction_of_disputed": -1}),
        "'refund_disputed': compensation.fraction_of_disputed must be a finite number >= 0",
    ),
    (set_field(1, "compensation", {"max": -5}), "compensation.max must be a finite number >= 0"),
    (set_field(2, "compensation", {"fixd": 25}), "compensation: unknown key(s) 'fixd'"),
    (set_field(1, "eligible_issue_types", []), "eligible_issue_types must be a non-empty list"),
    (set_field(1, "eligible_issue_types", "billing_error"), "eligible_issue_types must be"),
    (set_field(1, "eligible_issue_types", ["billing", ""]), "eligible_issue_types must be"),
    (set_field(1, "max_severity", 0), "max_severity must be an integer from 1 to 5. Got 0"),
    (set_field(1, "max_severity", 6), "max_severity must be an integer from 1 to 5. Got 6"),
    (set_field(1, "max_severity", 2.5), "max_severity must be an integer from 1 to 5"),
    (set_field(0, "eligible_issue_types", ["billing_error"]), "baseline must be eligible"),
    (set_field(0, "max_severity", 4), "'apology': the baseline must be eligible for every"),
]


def assert_named(data: dict[str, Any], change: Any, message: str) -> None:
    """``change`` to a copy of ``data`` is refused with ``message``, prefixed by the file."""
    data = copy.deepcopy(data)
    change(data)
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data, source="catalog.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("catalog.yaml: ")


@pytest.mark.parametrize(("change", "message"), ERRORS)
def test_each_broken_rule_is_named(change: Any, message: str) -> None:
    assert_named(base(), change, message)


def test_every_problem_is_listed_at_once() -> None:
    data = base()
    data["resolutions"][1]["handling_cost"] = -3
    data["resolutions"][2]["max_severity"] = 9
    data["colour"] = "blue"
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data, source="c.yaml")
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert all(line.startswith("c.yaml: ") for line in lines)


def test_baseline_with_max_severity_5_restricts_nothing() -> None:
    data = base()
    data["resolutions"][0]["max_severity"] = 5
    assert parse_catalog(data).resolutions[0].max_severity == 5


def test_null_optional_fields_mean_absent() -> None:
    data = base()
    data["resolutions"][1].update(compensation=None, eligible_issue_types=None, max_severity=None)
    data["resolutions"][2]["compensation"] = {"fixed": 25, "max": None}
    cat = parse_catalog(data)
    assert cat.resolutions[1] == Resolution("refund_disputed", "Refund the disputed amount", 3.0)
    assert cat.resolutions[2].comp_max is None


def test_catalog_built_directly_is_checked() -> None:
    apology = Resolution("apology", "Apology", 2.0)
    with pytest.raises(CatalogError, match="baseline must be the id"):
        Catalog("USD", "refund", (apology,))
    with pytest.raises(CatalogError, match="unique"):
        Catalog("USD", "apology", (apology, apology))
    with pytest.raises(CatalogError, match="non-empty"):
        Catalog("USD", "apology", ())


# --------------------------------------------------------------------------- guardrails

GUARDRAILS = """\
guardrails:
  - id: owed_is_refunded
    when: {issue_type: [Billing_Error, fee_dispute]}
    compensation_at_least: disputed_amount
  - id: big_and_severe
    when: {severity: {gt: 3}, disputed_amount: {gt: 100, lt: 1000}}
    compensation_at_least: 150
  - id: per_customer_cap
    max_compensation_per_customer: {amount: 150, days: 90}
"""


def with_guardrails() -> dict[str, Any]:
    return {**base(), **yaml.safe_load(GUARDRAILS)}


def test_guardrails_parse_into_floors_and_caps() -> None:
    cat = parse_catalog(with_guardrails())
    assert [g.id for g in cat.guardrails] == [
        "owed_is_refunded",
        "big_and_severe",
        "per_customer_cap",
    ]
    owed, severe = cat.floors
    assert owed == Floor(
        "owed_is_refunded",
        "disputed_amount",
        (Condition("issue_type", values=("billing_error", "fee_dispute")),),
    )
    assert severe.at_least == 150.0
    assert severe.when == (  # sorted by column: the order of when's keys means nothing
        Condition("disputed_amount", gt=100.0, lt=1000.0),
        Condition("severity", gt=3.0),
    )
    assert cat.caps == (Cap("per_customer_cap", 150.0, 90),)


def test_a_catalog_without_guardrails_is_unchanged(catalog: Catalog) -> None:
    assert catalog.guardrails == () and catalog.floors == () and catalog.caps == ()
    assert "guardrails" not in catalog.to_dict()
    assert parse_catalog({**base(), "guardrails": None}) == catalog
    assert parse_catalog({**base(), "guardrails": []}) == catalog


def test_guardrails_round_trip(tmp_path: Path) -> None:
    cat = parse_catalog(with_guardrails())
    assert parse_catalog(cat.to_dict()) == cat
    assert load_catalog(dump_catalog(cat, tmp_path / "catalog.yaml")) == cat


def complaints_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "issue_type": ["billing_error", "fee_dispute", "service_outage", "billing_error"],
            "severity": [4, 2, 5, 5],
            "disputed_amount": [120.0, 40.0, 300.0, 90.0],
        }
    )


def test_floor_amounts_take_the_largest_matching_floor() -> None:
    cat = parse_catalog(with_guardrails())
    floor, rule = cat.floor_amounts(complaints_frame())
    # row 0: both floors match (120 owed, 150 severe) -> 150; row 2: only the severe one;
    # row 3: billing error but disputed 90 is not > 100 -> owed 90
    np.testing.assert_array_equal(floor, [150.0, 40.0, 150.0, 90.0])
    assert rule.tolist() == [
        "big_and_severe",
        "owed_is_refunded",
        "big_and_severe",
        "owed_is_refunded",
    ]


def test_floor_amounts_are_nan_where_no_floor_applies() -> None:
    data = with_guardrails()
    data["guardrails"][0]["when"] = {"issue_type": ["fee_dispute"], "severity": [2]}
    del data["guardrails"][1]
    floor, rule = parse_catalog(data).floor_amounts(complaints_frame())
    np.testing.assert_array_equal(floor, [np.nan, 40.0, np.nan, np.nan])
    assert rule.tolist() == ["", "owed_is_refunded", "", ""]
    _, rule = parse_catalog(base()).floor_amounts(complaints_frame())
    assert rule.tolist() == [""] * 4


def test_a_floor_without_when_covers_every_complaint() -> None:
    data = {**base(), "guardrails": [{"id": "five", "compensation_at_least": 5}]}
    floor, _ = parse_catalog(data).floor_amounts(complaints_frame())
    np.testing.assert_array_equal(floor, [5.0] * 4)


def test_floor_amounts_name_a_missing_column() -> None:
    cat = parse_catalog(with_guardrails())
    with pytest.raises(CatalogError, match="guardrail 'owed_is_refunded' reads column.*issue_type"):
        cat.floor_amounts(complaints_frame().drop(columns="issue_type"))


def test_range_bounds_are_strict_and_unknown_values_match_nothing() -> None:
    cond = Condition("disputed_amount", gt=100.0, lt=300.0)
    assert cond.matches(np.array([100.0, 100.5, 299.9, 300.0, np.nan])).tolist() == [
        False,
        True,
        True,
        False,
        False,
    ]
    emotion = Condition("emotion", values=("angry",))
    assert emotion.matches(np.array(["angry", np.nan, "calm"], dtype=object)).tolist() == [
        True,
        False,
        False,
    ]


def test_when_columns_are_complaint_columns() -> None:
    from makegood.contract.files import COMPLAINT_COLUMNS
    from makegood.contract.guardrails import WHEN_COLUMNS

    assert set(WHEN_COLUMNS) == set(COMPLAINT_COLUMNS) - {"opened_at", "complaint_text"}


def set_guard(position: int, key: str, value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        data["guardrails"][position][key] = value

    return change


def drop_guard(position: int, key: str) -> Any:
    def change(data: dict[str, Any]) -> None:
        del data["guardrails"][position][key]

    return change


def set_guardrails(value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        data["guardrails"] = value

    return change


CAP = "guardrail 'per_customer_cap': max_compensation_per_customer"
GUARD_ERRORS = [
    (set_guardrails({"id": "x"}), "guardrails must be a list of rules"),
    (set_guardrails(["cap"]), "guardrail #1 must be a mapping with an id"),
    (set_guard(0, "id", ""), "guardrail #1: id must be a non-empty string"),
    (set_guard(1, "id", "owed_is_refunded"), "guardrail ids must be unique. Got owed_is_refunded"),
    (
        drop_guard(0, "compensation_at_least"),
        "guardrail 'owed_is_refunded': must have exactly one of compensation_at_least, "
        "max_compensation_per_customer. Got neither",
    ),
    (
        set_guard(2, "compensation_at_least", 5),
        "guardrail 'per_customer_cap': must have exactly one of",
    ),
    (set_guard(0, "colour", "red"), "guardrail 'owed_is_refunded': unknown key(s) 'colour'"),
    (
        set_guard(2, "when", {"segment": ["premium"]}),
        "guardrail 'per_customer_cap': unknown key(s) 'when'",
    ),
    (
        set_guard(0, "compensation_at_least", -5),
        "guardrail 'owed_is_refunded': compensation_at_least must be a finite number >= 0 or "
        "the name of a numeric complaint column",
    ),
    (set_guard(0, "compensation_at_least", "disputed"), "column (severity, disputed_amount"),
    (set_guard(0, "compensation_at_least", "segment"), "Got 'segment' instead"),
    (set_guard(0, "when", {}), "guardrail 'owed_is_refunded': when must be a non-empty mapping"),
    (set_guard(0, "when", ["billing_error"]), "when must be a non-empty mapping"),
    (
        set_guard(0, "when", {"region": ["north"]}),
        "guardrail 'owed_is_refunded': when.region: unknown column 'region'",
    ),
    (set_guard(0, "when", {"opened_at": ["2024-01-01"]}), "unknown column 'opened_at'"),
    (set_guard(0, "when", {"issue_type": []}), "when.issue_type must be a non-empty list of"),
    (set_guard(0, "when", {"issue_type": "billing_error"}), "when.issue_type must be a non-empty"),
    (set_guard(0, "when", {"issue_type": [3]}), "non-empty list of non-empty strings. Got [3]"),
    (
        set_guard(0, "when", {"severity": ["high"]}),
        "when.severity must be a non-empty list of numbers",
    ),
    (set_guard(0, "when", {"issue_type": {"gt": 3}}), "when.issue_type: gt/lt need a numeric"),
    (set_guard(0, "when", {"severity": {"ge": 3}}), "when.severity: unknown key(s) 'ge'"),
    (set_guard(0, "when", {"severity": {}}), "when.severity must give gt or lt"),
    (set_guard(0, "when", {"severity": {"gt": "3"}}), "when.severity.gt must be a finite number"),
    (set_guard(0, "when", {"severity": {"gt": 4, "lt": 2}}), "gt must be below lt"),
    (set_guard(2, "max_compensation_per_customer", 150), f"{CAP} must be a mapping"),
    (
        set_guard(2, "max_compensation_per_customer", {"amount": -1, "days": 90}),
        f"{CAP}.amount must",
    ),
    (set_guard(2, "max_compensation_per_customer", {"days": 90}), f"{CAP}.amount must be a finite"),
    (
        set_guard(2, "max_compensation_per_customer", {"amount": 1, "days": 0}),
        f"{CAP}.days must be",
    ),
    (set_guard(2, "max_compensation_per_customer", {"amount": 1, "days": 1.5}), "days must be an"),
    (
        set_guard(2, "max_compensation_per_customer", {"amount": 1}),
        f"{CAP}.days must be an integer",
    ),
    (
        set_guard(2, "max_compensation_per_customer", {"amount": 1, "days": 2, "weeks": 1}),
        f"{CAP}: unknown key(s) 'weeks'",
    ),
]


@pytest.mark.parametrize(("change", "message"), GUARD_ERRORS)
def test_each_broken_guardrail_rule_is_named(change: Any, message: str) -> None:
    assert_named(with_guardrails(), change, message)


def test_guardrail_problems_are_listed_with_the_rest() -> None:
    data = with_guardrails()
    data["resolutions"][1]["handling_cost"] = -3
    data["guardrails"][0]["compensation_at_least"] = -1
    data["guardrails"][2]["max_compensation_per_customer"] = {"amount": -1, "days": 0}
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data, source="c.yaml")
    assert len(str(caught.value).splitlines()) == 4


def test_catalog_built_directly_checks_guardrail_ids() -> None:
    apology = Resolution("apology", "Apology", 2.0)
    with pytest.raises(CatalogError, match="guardrail ids must be unique"):
        Catalog("USD", "apology", (apology,), (Cap("c", 1.0, 1), Floor("c", 5.0)))


CONDITIONS = st.one_of(
    st.builds(
        Condition,
        st.just("issue_type"),
        values=st.lists(st.sampled_from(["billing_error", "fee_dispute"]), min_size=1).map(tuple),
    ),
    st.builds(Condition, st.just("severity"), values=st.just((4.0, 5.0))),
    st.builds(Condition, st.just("disputed_amount"), gt=NUMBER),
    st.builds(Condition, st.just("tenure_months"), lt=NUMBER),
)
GUARDS = st.one_of(
    st.builds(
        Floor,
        st.just("floor"),
        st.one_of(NUMBER, st.sampled_from(["disputed_amount", "annual_value"])),
        st.lists(CONDITIONS, max_size=2, unique_by=lambda c: c.column).map(tuple),
    ),
    st.builds(Cap, st.just("cap"), NUMBER, st.integers(1, 3650)),
)


@settings(max_examples=40, deadline=None)
@given(catalogs(), st.lists(GUARDS, max_size=4))
def test_any_catalog_with_guardrails_round_trips(cat: Catalog, guards: list[Any]) -> None:
    guards = [type(g)(**{**g.__dict__, "id": f"{g.id}_{i}"}) for i, g in enumerate(guards)]
    cat = Catalog(cat.currency, cat.baseline, cat.resolutions, tuple(guards))
    assert parse_catalog(cat.to_dict()) == cat
    assert parse_catalog(yaml.safe_load(yaml.safe_dump(cat.to_dict()))) == cat
