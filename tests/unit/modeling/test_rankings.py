"""The ranking serializer writes strict JSON whatever the numbers, and takes extra fields."""

from __future__ import annotations

import json

import numpy as np
import pytest

from makegood.modeling.predict import (
    Recommendations,
    Scores,
    candidate_columns,
    ranking_lines,
    rounded,
    write_rankings,
)
from makegood.policy.budget import allocate


def _strict(line: str) -> dict:
    def refuse(name: str) -> None:
        raise ValueError(f"non-JSON constant {name}")

    return json.loads(line, parse_constant=refuse)


def _recs(values: dict[str, np.ndarray]) -> Recommendations:
    n, k = values["net_value"].shape
    eligible = values.get("eligible", np.ones((n, k), dtype=bool))
    zeros = np.zeros((n, k))
    fields = {
        "satisfaction": zeros + 5.0,
        "churn_prob": zeros + 0.1,
        "churn_lo": zeros,
        "churn_hi": zeros + 0.2,
        "retention_lift": zeros,
        "net_value_lo": values["net_value"] - 1,
        "net_value_hi": values["net_value"] + 1,
        "propensity": zeros + 1 / k,
        "compensation": zeros,
    }
    fields.update({key: v for key, v in values.items() if key != "eligible"})
    s = Scores(
        complaint_ids=np.array([f'c"{i}\\é' for i in range(n)], dtype=object),
        action_ids=[f"r{j}" for j in range(k)],
        eligible=eligible,
        handling_cost=np.zeros(k),
        lifetime_value=np.full(n, 100.0),
        baseline_index=0,
        **fields,
    )
    finite = np.where(np.isfinite(s.net_value), s.net_value, 0.0)
    alloc = allocate(finite, s.compensation, s.eligible, 1e9)
    return Recommendations(None, alloc, s, 1e9, False)  # type: ignore[arg-type]


ODD = [
    {"satisfaction": np.full((3, 4), np.nan), "net_value": np.arange(12.0).reshape(3, 4)},
    {
        "net_value": np.array([[np.inf, 1.0, -np.inf], [np.nan, 2.0, 3.0]]),
        "churn_prob": np.array([[np.nan, 0.2, 1e-300], [0.5, np.inf, 0.1]]),
        "net_value_lo": np.full((2, 3), -np.inf),
    },
    {
        "net_value": np.array([[1e300, -0.0, 5e-324]]),
        "propensity": np.array([[0.0, 1.0, np.nan]]),
        "compensation": np.array([[0.125, 2.675, 1e15]]),
    },
    {
        "net_value": np.array([[1.0, 2.0], [3.0, 4.0]]),
        "eligible": np.array([[True, False], [False, True]]),
    },
]


@pytest.mark.parametrize("values", ODD)
def test_every_line_is_strict_json_equal_to_the_parsed_rankings(values):
    recs = _recs(values)
    lines = ranking_lines(recs)
    assert len(lines) == recs.scores.n
    s = recs.scores
    for i, (line, parsed) in enumerate(zip(lines, recs.rankings(), strict=True)):
        row = _strict(line)
        assert row == parsed
        assert json.dumps(row, allow_nan=False) == line
        eligible = np.flatnonzero(s.eligible[i])
        best_first = eligible[np.argsort(-s.net_value[i, eligible], kind="stable")]
        if np.isfinite(s.net_value[i, eligible]).all():
            assert [c["resolution"] for c in row["candidates"]] == [
                s.action_ids[k] for k in best_first
            ]


def test_non_finite_values_are_null():
    recs = _recs(ODD[1])
    row = _strict(ranking_lines(recs)[0])
    by_id = {c["resolution"]: c for c in row["candidates"]}
    assert by_id["r0"]["net_value"] is None and by_id["r0"]["churn_probability"] is None
    assert by_id["r0"]["net_value_interval"][0] is None
    assert by_id["r1"]["churn_probability"] == 0.2


def test_extra_fields_per_line(tmp_path):
    recs = _recs(ODD[0])
    said = [[{"intent": "refund", "quote": 'he said "no"'}], [], [{"score": float("nan")}]]
    lines = ranking_lines(recs, extra={"customer_said": said, "n": [1, 2, 3]})
    rows = [_strict(line) for line in lines]
    assert [r["customer_said"] for r in rows] == [said[0], [], [{"score": None}]]
    assert [r["n"] for r in rows] == [1, 2, 3]
    path = tmp_path / "r.jsonl"
    write_rankings(recs, path, extra={"customer_said": said})
    assert [_strict(x)["customer_said"] for x in path.read_text().splitlines()][1] == []
    assert not list(tmp_path.glob(".*.tmp"))


def test_rounded_and_candidate_columns():
    assert rounded(np.array([np.nan, 1.005, -np.inf]), 2, missing="null") == ["null", 1.0, "null"]
    cols = candidate_columns(_recs(ODD[0]).scores)
    assert cols["expected_satisfaction"][0] == [None] * 4
    assert cols["thin_evidence"][0] == [False] * 4
