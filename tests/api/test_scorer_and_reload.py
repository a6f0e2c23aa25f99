"""The request path equals the batch path; a reload never fails a request."""

from __future__ import annotations

import json
import shutil
import threading

import numpy as np
import pandas as pd
import pytest
from apihelpers import ADMIN, AGENT, unique

from makegood.contract.files import read_complaints, read_history
from makegood.modeling.bundle import load_bundle, resolve_bundle_dir
from makegood.modeling.predict import features_for, score
from makegood.serving.scorer import Scorer


def _records(df: pd.DataFrame) -> list[dict]:
    out = []
    for rec in df.to_dict("records"):
        rec["opened_at"] = pd.Timestamp(rec["opened_at"]).to_pydatetime()
        for col in ("emotion", "digital_skill"):
            if not isinstance(rec[col], str):
                rec[col] = None
        out.append(rec)
    return out


@pytest.fixture(scope="module")
def bundle(trained):
    return load_bundle(trained["models_dir"])


@pytest.fixture(scope="module")
def frames(small_world, trained):
    new = read_complaints(small_world["complaints"])
    # history rows scored as new complaints: known customers, many earlier complaints
    hist = read_history(small_world["history"]).drop(
        columns=["resolution", "compensation", "logging_propensity", "satisfaction", "churned_90d"]
    )
    hist = hist.sample(300, random_state=0).reset_index(drop=True)
    hist.loc[::3, "emotion"] = np.nan  # detect emotion from the text
    hist.loc[::7, "complaint_text"] = ""
    return new, hist


def test_one_complaint_rows_equal_the_batch_rows(bundle, frames):
    pipeline = bundle.pipeline
    for df in frames:
        X = features_for(bundle, df)
        one = np.vstack([pipeline.transform_one(r)[0] for r in _records(df)])
        assert np.array_equal(X, one, equal_nan=True)


def test_non_ascii_text_is_read_the_same_way(bundle, frames):
    df = frames[0].head(20).copy()
    df["complaint_text"] = df["complaint_text"] + " Très déçu, ça suffit! ÇA SUFFIT"
    df["emotion"] = np.nan
    X = features_for(bundle, df)
    one = np.vstack([bundle.pipeline.transform_one(r)[0] for r in _records(df)])
    assert np.array_equal(X, one, equal_nan=True)


def test_scorer_equals_score(bundle, frames):
    scorer = Scorer(bundle)
    df = frames[0].head(60)
    s = score(bundle, df)
    for i, rec in enumerate(_records(df)):
        c = scorer.score(rec)
        for name in (
            "net_value",
            "net_value_lo",
            "net_value_hi",
            "churn_prob",
            "satisfaction",
            "propensity",
            "compensation",
            "retention_lift",
        ):
            np.testing.assert_allclose(getattr(c, name), getattr(s, name)[i], rtol=0, atol=1e-9)
        assert (c.eligible == s.eligible[i]).all()


def _second_version(models_dir, tmp_path) -> tuple[str, str, object]:
    """A models folder with two versions of the trained bundle (a copy renamed)."""
    src = resolve_bundle_dir(models_dir)
    root = tmp_path / "models"
    root.mkdir()
    shutil.copytree(src, root / src.name)
    other = f"{src.name}-b"
    shutil.copytree(src, root / other)
    meta = json.loads((root / other / "bundle.json").read_text())
    meta["version"] = other
    (root / other / "bundle.json").write_text(json.dumps(meta))
    (root / "LATEST").write_text(src.name + "\n")
    return src.name, other, root


def test_reload_swaps_models_without_failing_requests(make_client, complaints, trained, tmp_path):
    first, second, root = _second_version(trained["models_dir"], tmp_path)
    client = make_client(models_dir=root)
    assert client.get("/v1/model", headers=ADMIN).json()["version"] == first
    stop = threading.Event()
    results: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def hammer(n: int) -> None:
        i = 0
        while not stop.is_set():
            try:
                r = client.post(
                    "/v1/recommendations",
                    json={"complaint": unique(complaints[(n * 7 + i) % len(complaints)])},
                    headers=AGENT,
                )
                results.append((r.status_code, r.json().get("model_version", "")))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
            i += 1

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    versions = []
    for version in (second, first, None):
        body = {"version": version} if version else None
        r = client.post("/v1/model/reload", json=body, headers=ADMIN)
        assert r.status_code == 200, r.text
        versions.append(r.json()["version"])
    (root / "LATEST").write_text(second + "\n")
    r = client.post("/v1/model/reload", headers=ADMIN)
    versions.append(r.json()["version"])
    stop.set()
    for t in threads:
        t.join()
    assert versions == [second, first, first, second]
    assert not errors
    assert results and all(code == 200 for code, _ in results)
    assert {v for _, v in results} <= {first, second}
    assert (
        client.post("/v1/model/reload", json={"version": "nope"}, headers=ADMIN).status_code == 404
    )
    assert client.get("/v1/model", headers=AGENT).json()["version"] == second
