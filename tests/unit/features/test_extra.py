"""Declared extra columns as model inputs: pooling, missing and unseen levels, numbers,
hashed text, and one row equal to the same row in a batch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from makegood.contract.features import (
    check_declared,
    check_feature_values,
    parse_feature_columns,
)
from makegood.errors import ContractError, InvalidParameterError
from makegood.features.extra import MISSING, OTHER, ExtraFeatures, hashed_text, numbers
from makegood.features.structured import FeatureSpec

KINDS = {"company": "category", "amount": "number", "note": "text"}


def training_columns(n_big: int = 30, n_rare: int = 3) -> dict[str, np.ndarray]:
    company = ["Big Bank"] * n_big + ["Tiny Credit Union"] * n_rare + [""] * 5 + [None] * 2
    n = len(company)
    return {
        "company": np.array(company, dtype=object),
        "amount": np.array(["1.5"] * (n - 1) + [""], dtype=object),
        "note": np.array(["late fee charged twice"] * n, dtype=object),
    }


def test_rare_levels_are_pooled_missing_is_its_own_level_unseen_is_other():
    extras = ExtraFeatures.fit(training_columns(), KINDS, min_count=20)
    assert extras.levels["company"] == ["Big Bank", OTHER, MISSING]
    out = extras.pool("company", np.array(["Big Bank", "Tiny Credit Union", "", None, "New Co"]))
    assert out.tolist() == ["Big Bank", OTHER, MISSING, MISSING, OTHER]


def test_levels_are_capped_at_the_most_frequent():
    values = np.array(["a"] * 50 + ["b"] * 40 + ["c"] * 30, dtype=object)
    extras = ExtraFeatures.fit({"x": values}, {"x": "category"}, min_count=20, max_levels=2)
    assert extras.levels["x"] == ["a", "b", OTHER, MISSING]


def test_inputs_and_spec_codes():
    cols = training_columns()
    extras = ExtraFeatures.fit(cols, KINDS, min_count=20)
    assert extras.categorical == ["company"]
    assert extras.numeric == ["amount", *(f"note__h{j}" for j in range(8)), "note__n_words"]
    spec = FeatureSpec.fit({}, [], [], extras)
    assert spec.names == [*extras.numeric, "company"]
    n = len(cols["company"])
    X = spec.matrix(extras.transform(cols, n), n)
    codes = X[:, -1]
    assert set(codes.tolist()) == {0.0, 1.0, 2.0}  # Big Bank, (other), (missing)
    assert np.isnan(X[-1, 0]) and X[0, 0] == np.float32(1.5)
    # the spec, extras included, survives its JSON form
    assert FeatureSpec.from_dict(spec.to_dict()) == spec


def test_a_spec_without_extras_reads_as_before():
    d = {"numeric": ["severity"], "categorical": ["channel"], "categories": {"channel": ["x"]}}
    spec = FeatureSpec.from_dict(d)
    assert spec.extras is None and spec.extra_columns == [] and "extras" not in spec.to_dict()


def test_absent_declared_column_is_missing():
    extras = ExtraFeatures.fit(training_columns(), KINDS, min_count=20)
    out = extras.transform({}, 2)
    assert out["company"].tolist() == [MISSING, MISSING]
    assert np.isnan(out["amount"]).all()
    assert (out["note__n_words"] == 0).all()


def test_numbers_and_text():
    assert numbers(pd.Series([1, 2])).tolist() == [1.0, 2.0]
    assert numbers(np.array(["2", " 3.5 ", None], dtype=object)).tolist()[:2] == [2.0, 3.5]
    h = hashed_text(["late fee", "fee late", "a b c d"])
    assert np.array_equal(h[0], h[1])  # a bag of words: order does not matter
    assert h[2, -1] == pytest.approx(np.log1p(4))


LABEL = st.one_of(
    st.none(),
    st.sampled_from(["Big Bank", "Tiny Credit Union", "", " Big Bank ", "New Co"]),
    st.text(max_size=12),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=False, width=32),
)


@given(st.lists(st.tuples(LABEL, LABEL, LABEL), min_size=1, max_size=8))
def test_one_row_equals_the_same_row_in_a_batch(rows):
    extras = ExtraFeatures.fit(training_columns(), KINDS, min_count=20)
    spec = FeatureSpec.fit({}, [], [], extras)
    numbers_only = [
        (c, a if isinstance(a, int | float) or a is None else None, t) for c, a, t in rows
    ]
    batch = {
        name: np.array([r[j] for r in numbers_only], dtype=object) for j, name in enumerate(KINDS)
    }
    n = len(rows)
    X = spec.matrix(extras.transform(batch, n), n)
    for i in range(n):
        one = {name: batch[name][i : i + 1] for name in KINDS}
        x1 = spec.matrix(extras.transform(one, 1), 1)
        np.testing.assert_array_equal(x1[0], X[i])


def test_declared_columns_refuse_outcomes_and_contract_columns():
    assert parse_feature_columns("company:category, amount:number") == {
        "company": "category",
        "amount": "number",
    }
    with pytest.raises(InvalidParameterError, match="'churned_90d'.*outcome column"):
        parse_feature_columns("churned_90d:number")
    with pytest.raises(InvalidParameterError, match="'resolution'.*outcome column"):
        check_declared({"resolution": "category"})
    with pytest.raises(InvalidParameterError, match="'channel'.*already a model input"):
        parse_feature_columns("channel:category")
    with pytest.raises(InvalidParameterError, match="kind must be one of"):
        parse_feature_columns("company:colour")
    with pytest.raises(InvalidParameterError, match="name:kind"):
        parse_feature_columns("company")


def test_feature_values_name_the_file_row_and_column():
    frame = pd.DataFrame({"complaint_id": ["a", "b"], "amount": ["1", "lots"]})
    with pytest.raises(ContractError) as e:
        check_feature_values(frame, {"amount": "number"}, source="h.csv")
    assert "h.csv" in str(e.value) and "row 2" in str(e.value) and "amount" in str(e.value)
    with pytest.raises(ContractError, match="company"):
        check_feature_values(frame, {"company": "category"}, source="h.csv")
    check_feature_values(frame.iloc[:1], {"amount": "number"}, source="h.csv")
