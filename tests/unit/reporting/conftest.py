"""A budget report built once from the session's trained model (slow: needs ``trained``)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def bundle(trained):
    from makegood.modeling.bundle import load_bundle

    return load_bundle(trained["models_dir"])


@pytest.fixture(scope="session")
def replay_report(bundle, trained):
    """The history replayed at two budgets per 30-day period."""
    from makegood.reporting.budget import budget_report

    return budget_report(bundle, trained["history"], [5_000, 20_000], period_days=30)


@pytest.fixture(scope="session")
def monthly_report(bundle, trained):
    """The issue's report: ``--budgets 20000,40000 --period month`` on the history."""
    from makegood.reporting.budget import budget_report

    return budget_report(bundle, trained["history"], [20_000, 40_000], period="month")


@pytest.fixture(scope="session")
def batch_report(bundle, trained, small_world):
    """A forecast batch of new complaints, compared with the history (default budgets)."""
    from makegood.contract.files import read_complaints
    from makegood.reporting.budget import budget_report

    batch = read_complaints(small_world["complaints"])
    return budget_report(bundle, batch, history_df=trained["history"])
