"""Tests of makegood.contract.catalog: the rules of CONTRACT.md section 2 and the matrices."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from makegood.contract.catalog import Catalog, Resolution, dump_catalog, load_catalog, parse_catalog
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


@pytest.mark.parametrize(("change", "message"), ERRORS)
def test_each_broken_rule_is_named(change: Any, message: str) -> None:
    data = copy.deepcopy(base())
    change(data)
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data, source="catalog.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("catalog.yaml: ")


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
