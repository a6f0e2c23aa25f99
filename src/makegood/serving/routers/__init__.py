"""The HTTP routes, one router per concern (FastAPI's "bigger applications" layout).

Each route is thin: it checks the caller's role (``deps``), calls its domain's module
beside it (``serving/recommendations.py`` for ``routers/recommendations.py``, and so
on: decisions, customers and handovers, queue, budget) with the shared
:class:`~makegood.serving.service.Service`, and answers with a ``schemas`` model. Errors
are raised, never answered here: :mod:`makegood.serving.errors` maps them for every route.
"""

from makegood.serving.routers import (
    budget,
    console,
    customers,
    decisions,
    health,
    me,
    model,
    queue,
    recommendations,
)

__all__ = [
    "budget",
    "console",
    "customers",
    "decisions",
    "health",
    "me",
    "model",
    "queue",
    "recommendations",
]
