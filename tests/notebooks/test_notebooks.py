"""The notebooks run top to bottom on small simulated data, and are stored without outputs.

All three run once, in order, in one temporary work folder (02 registers the champion that
03 evaluates); each test then reports on its own notebook.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
ORDER = ("01-explore-history", "02-train-and-compare", "03-evaluate-policy")
SMALL_ENV = {"MAKEGOOD_NB_N": "3000", "MAKEGOOD_NB_FAST": "1", "MAKEGOOD_NB_SEED": "3"}


def test_notebooks_are_named_and_stored_without_outputs():
    found = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    assert found == sorted(ORDER)
    for name in found:
        assert re.fullmatch(r"\d{2}-[a-z0-9-]+", name), name
        nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [], f"{name} cell {i} has outputs: strip them"
                assert cell.get("execution_count") is None, f"{name} cell {i} has a count"


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict:
    """Execute the three notebooks in order; per notebook: its error (or None) and time."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    workdir = tmp_path_factory.mktemp("nbwork")
    env = {**SMALL_ENV, "MAKEGOOD_NB_WORKDIR": str(workdir), "MPLBACKEND": "Agg"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits the environment
    results: dict = {"workdir": workdir}
    try:
        for name in ORDER:
            nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
            # kernel "python3" is this interpreter's ipykernel (jupyter_client maps it to
            # sys.executable), so a clean `make venv` needs no kernelspec install
            client = NotebookClient(
                nb,
                timeout=600,
                kernel_name="python3",
                resources={"metadata": {"path": str(NOTEBOOKS)}},
            )
            t0 = time.perf_counter()
            try:
                client.execute()
                error = None
            except CellExecutionError as e:
                error = e
            results[name] = {"error": error, "seconds": time.perf_counter() - t0}
            print(f"{name}: {results[name]['seconds']:.1f}s")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return results


def _assert_ran(executed: dict, name: str) -> None:
    error = executed[name]["error"]
    if error is not None:
        pytest.fail(f"{name} failed:\n{error}", pytrace=False)


@pytest.mark.slow
def test_01_explore_history_runs(executed):
    _assert_ran(executed, "01-explore-history")


@pytest.mark.slow
def test_02_train_and_compare_runs(executed):
    _assert_ran(executed, "02-train-and-compare")


@pytest.mark.slow
def test_02_promotes_a_champion(executed):
    from makegood.modeling.registry import champion_info

    workdir = executed["workdir"]
    uri = f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}"
    info = champion_info("makegood", "champion", uri)
    assert info.run_id is not None
    assert "ope_dr_gain_per_complaint" in info.metrics
    assert (workdir / "models" / "registry" / "makegood" / info.version / "bundle.json").exists()


@pytest.mark.slow
def test_03_evaluate_policy_runs(executed):
    _assert_ran(executed, "03-evaluate-policy")
