"""``recommend --engine dask`` on a LocalCluster of 2 worker processes (1 thread each).

The cluster is module-scoped (starting one costs seconds); every test compares with the
single-process engine on the same rows.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from makegood.cli import app
from makegood.contract.files import read_complaints
from makegood.errors import ContractError
from makegood.modeling.bundle import load_bundle, resolve_bundle_dir
from makegood.modeling.predict import recommend

pytest.importorskip("distributed")
pytestmark = pytest.mark.xdist_group("dask")

from makegood.scaleout import tasks  # noqa: E402
from makegood.scaleout.engine import connect, recommend_dask  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with connect(None, n_workers=2, threads_per_worker=1) as c:
        yield c


@pytest.fixture(scope="module")
def setup(trained, small_world):
    bundle_dir = resolve_bundle_dir(trained["models_dir"])
    bundle = load_bundle(bundle_dir).with_catalog(trained["catalog"])
    df = read_complaints(small_world["complaints"])
    return {"bundle_dir": bundle_dir, "bundle": bundle, "catalog": trained["catalog"], "df": df}


def _single(setup, path, budget):
    recs = recommend(setup["bundle"], read_complaints(path), budget)
    return recs


def _budget(setup, fraction: float) -> float:
    recs = recommend(setup["bundle"], setup["df"], 1e12)
    return round(fraction * recs.allocation.unconstrained_spend, 2)


def _run(client, setup, complaints, out, budget, **kw):
    return recommend_dask(
        client, complaints, setup["catalog"], setup["bundle_dir"], budget, out, **kw
    )


def test_csv_output_is_the_single_process_output(client, setup, small_world, tmp_path):
    budget = _budget(setup, 0.3)
    out = tmp_path / "recs.csv"
    run = _run(client, setup, small_world["complaints"], out, budget, partition_rows=130)
    recs = _single(setup, small_world["complaints"], budget)
    assert run.n_partitions == 5
    assert run.shadow_price == recs.allocation.shadow_price
    got = pd.read_csv(out)
    want = recs.frame
    assert got["complaint_id"].tolist() == want["complaint_id"].tolist()
    assert got["resolution"].tolist() == want["resolution"].tolist()
    assert got["compensation"].sum() <= budget
    assert run.spend == recs.allocation.spend
    lines = (tmp_path / "recs.rankings.jsonl").read_text().splitlines()
    assert len(lines) == len(want)
    # nothing but the outputs is left beside them
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recs.csv", "recs.rankings.jsonl"]


def test_the_bundle_is_loaded_once_per_worker(client, setup, small_world, tmp_path):
    budget = _budget(setup, 0.2)
    for j in range(2):
        _run(
            client,
            setup,
            small_world["complaints"],
            tmp_path / f"r{j}.csv",
            budget,
            partition_rows=100,
        )
    loads = client.run(tasks.load_count)
    assert len(loads) == 2
    assert all(n <= 1 for n in loads.values()), loads


def test_parquet_folder_in_and_out(client, setup, small_world, tmp_path):
    df = pd.read_csv(small_world["complaints"], dtype=str, keep_default_na=False)
    src = tmp_path / "in"
    src.mkdir()
    for j, start in enumerate(range(0, len(df), 250)):
        df.iloc[start : start + 250].to_parquet(src / f"batch-{j}.parquet", index=False)
    budget = _budget(setup, 0.25)
    run = _run(client, setup, src, str(tmp_path / "out") + "/", budget, partition_rows=100)
    got = pd.read_parquet(tmp_path / "out")
    want = recommend(setup["bundle"], setup["df"], budget).frame
    assert got["resolution"].tolist() == want["resolution"].tolist()
    assert run.rankings == tmp_path / "out.rankings"
    assert len(list(run.rankings.glob("part-*.jsonl"))) == run.n_partitions


def _write_bad(small_world, tmp_path, row: int) -> str:
    df = pd.read_csv(small_world["complaints"], dtype=str, keep_default_na=False)
    df.loc[row - 1, "severity"] = "9"
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    return str(path)


def test_bad_row_in_one_partition_fails_the_run_naming_file_and_row(
    client, setup, small_world, tmp_path
):
    bad = _write_bad(small_world, tmp_path, 437)
    out = tmp_path / "out" / "recs.csv"
    with pytest.raises(ContractError) as info:
        _run(client, setup, bad, out, 1e6, partition_rows=100)
    v = info.value.violations[0]
    assert (v.file, v.row, v.column) == (os.path.abspath(bad), 437, "severity")
    assert not out.exists()
    assert list(out.parent.iterdir()) == []  # no temp folders left either


def test_duplicate_ids_across_partitions_are_named(client, setup, small_world, tmp_path):
    df = pd.read_csv(small_world["complaints"], dtype=str, keep_default_na=False)
    df.loc[500, "complaint_id"] = df.loc[20, "complaint_id"]
    path = tmp_path / "dup.csv"
    df.to_csv(path, index=False)
    with pytest.raises(ContractError, match=r"row 501.*first at row 21"):
        _run(client, setup, path, tmp_path / "r.csv", 1e6, partition_rows=100)


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_retried_and_the_result_exact(
    client, setup, small_world, tmp_path
):
    budget = _budget(setup, 0.3)
    before = set(client.scheduler_info()["workers"])
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]

    def kill_soon(msg: str) -> None:
        if msg.startswith("scoring"):
            threading.Timer(0.5, os.kill, (pids[victim], signal.SIGKILL)).start()

    out = tmp_path / "recs.csv"
    run = _run(
        client, setup, small_world["complaints"], out, budget, partition_rows=40, say=kill_soon
    )
    client.wait_for_workers(2, timeout=240)  # a restart takes ~50 s on a busy machine
    after = set(client.scheduler_info()["workers"])
    assert victim not in after and before != after  # the nanny started a new worker
    recs = _single(setup, small_world["complaints"], budget)
    assert run.shadow_price == recs.allocation.shadow_price
    assert pd.read_csv(out)["resolution"].tolist() == recs.frame["resolution"].tolist()


@pytest.mark.slow
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    n_rows=st.integers(1, 240),
    seed=st.integers(0, 2**16),
    fraction=st.floats(0.0, 1.2),
    partition_rows=st.integers(7, 120),
)
def test_dask_allocation_equals_single_process(
    client, setup, tmp_path, n_rows, seed, fraction, partition_rows
):
    rows = np.random.default_rng(seed).choice(len(setup["df"]), n_rows, replace=False)
    batch = setup["df"].iloc[np.sort(rows)].reset_index(drop=True)
    path = tmp_path / f"batch-{seed}-{n_rows}.parquet"
    batch.to_parquet(path, index=False)
    full = recommend(setup["bundle"], batch, 1e12).allocation
    low = recommend(setup["bundle"], batch, 1e12).scores
    min_spend = float(np.where(low.eligible, low.compensation, np.inf).min(axis=1).sum())
    budget = max(min_spend + 0.01, fraction * full.unconstrained_spend)
    want = recommend(setup["bundle"], batch, budget)
    run = _run(
        client,
        setup,
        path,
        tmp_path / f"out-{seed}-{n_rows}.csv",
        budget,
        partition_rows=partition_rows,
    )
    assert run.shadow_price == want.allocation.shadow_price
    assert run.spend <= budget
    got = pd.read_csv(run.output, dtype={"complaint_id": str})
    differ = int((got["resolution"].to_numpy() != want.frame["resolution"].to_numpy()).sum())
    assert differ <= 1  # the repair step's one complaint, at most


runner = CliRunner()


def test_without_dask_the_engine_says_how_to_install_it(monkeypatch, small_world, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    res = runner.invoke(
        app,
        [
            "recommend",
            "--complaints",
            str(small_world["complaints"]),
            "--catalog",
            str(small_world["catalog"]),
            "--budget",
            "100",
            "--output",
            str(tmp_path / "r.csv"),
            "--engine",
            "dask",
            "--quiet",
        ],
    )
    assert res.exit_code == 2  # a missing option of the install: a usage problem
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "pip install 'makegood[dask]'" in lines[0], res.output


@pytest.mark.slow
def test_cli_engine_dask_bad_input_exit_code_and_message(trained, small_world, tmp_path):
    bad = _write_bad(small_world, tmp_path, 222)
    out = tmp_path / "o" / "recs.csv"
    t = time.perf_counter()
    res = runner.invoke(
        app,
        [
            "recommend",
            "--complaints",
            bad,
            "--catalog",
            str(small_world["catalog"]),
            "--budget",
            "1000",
            "--output",
            str(out),
            "--models-dir",
            str(trained["models_dir"]),
            "--engine",
            "dask",
            "--n-workers",
            "2",
            "--partition-rows",
            "100",
            "--quiet",
        ],
    )
    assert res.exit_code == 2, (res.output, time.perf_counter() - t)
    assert "bad.csv, row 222" in res.output and "severity" in res.output
    assert not out.exists()


def test_report_frontier_equals_the_single_process_frontier(client, setup, small_world, tmp_path):
    from makegood.modeling.predict import score
    from makegood.reporting.frontier import frontier_rows
    from makegood.reporting.outcomes import CandidateOutcomes
    from makegood.scaleout.report import frontier_dask, write_frontier

    res = frontier_dask(
        client,
        small_world["complaints"],
        setup["catalog"],
        setup["bundle_dir"],
        None,
        work_dir=tmp_path,
        n_frontier=8,
        partition_rows=150,
    )
    cands = CandidateOutcomes.from_scores(score(setup["bundle"], setup["df"]))
    want = frontier_rows(cands, res.budgets)
    got = [{k: v for k, v in row.items() if k != "chosen"} for row in res.frontier]
    assert got == want
    assert sum(r["chosen"] for r in res.frontier) == len(res.chosen) == 2
    assert res.thresholds["min_spend"] == round(cands.min_spend, 2)
    written = write_frontier(res, tmp_path / "rep")
    assert pd.read_csv(written["frontier_csv"]).shape[0] == len(want)
    assert not list(tmp_path.glob(".frontier.*"))  # the spill folder is gone


# ------------------------------------------------------------------------ guardrails

GUARDRAILS = [
    {
        "id": "owed_is_refunded",
        "when": {"issue_type": ["billing_error", "fee_dispute"]},
        "compensation_at_least": "disputed_amount",
    },
    {"id": "per_customer_cap", "max_compensation_per_customer": {"amount": 150, "days": 90}},
]


def test_dask_with_guardrails_gives_the_single_process_choices(client, setup, trained, tmp_path):
    from makegood.contract.catalog import parse_catalog
    from makegood.errors import GuardrailBudgetError
    from makegood.modeling.predict import spent_in

    cat = parse_catalog({**setup["catalog"].to_dict(), "guardrails": GUARDRAILS}, source="t")
    bundle = setup["bundle"].with_catalog(cat)
    path = tmp_path / "batch.parquet"
    setup["df"].to_parquet(path, index=False)
    with pytest.raises(GuardrailBudgetError) as e:
        recommend(bundle, setup["df"], 0.0)
    budget = round(e.value.needed + 0.2 * _budget(setup, 1.0), 2)
    for spent in (None, spent_in(trained["history"])):  # the bundle's history, or a file's
        want = recommend(bundle, setup["df"], budget, spent=spent)
        run = recommend_dask(
            client,
            path,
            cat,
            setup["bundle_dir"],
            budget,
            tmp_path / "out.csv",
            partition_rows=130,
            spent=spent,
        )
        got = pd.read_csv(run.output, dtype={"complaint_id": str}, keep_default_na=False)
        assert run.n_partitions == 5
        assert got["resolution"].tolist() == want.frame["resolution"].tolist()
        assert got["guardrail"].tolist() == want.frame["guardrail"].tolist()
        assert got["guardrail_reason"].tolist() == want.frame["guardrail_reason"].tolist()
        assert run.spend == want.allocation.spend <= budget
        assert (got["guardrail"] == "floor").any()
    lines = (tmp_path / "out.rankings.jsonl").read_text().splitlines()
    assert '"guardrail": ' in lines[0]
    # floors are funded first on the cluster too
    with pytest.raises(GuardrailBudgetError, match="must be at least"):
        recommend_dask(client, path, cat, setup["bundle_dir"], 1.0, tmp_path / "no.csv")
    assert not (tmp_path / "no.csv").exists()
