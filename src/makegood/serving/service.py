"""What every domain of the live service shares: the settings, the ledger, the live
contacts, the ledger's write queue and the bound on requests scored at once.

The work itself lives one module per domain, beside its router: recommendations
(:mod:`~makegood.serving.recommendations`), decisions (:mod:`~makegood.serving.decisions`),
customers and handovers (:mod:`~makegood.serving.customers`), the queue
(:mod:`~makegood.serving.queue`) and the budget (:mod:`~makegood.serving.budget`); each
takes the :class:`Service` it works with.
"""

from __future__ import annotations

import functools

import anyio
import numpy as np

from makegood.serving.settings import Settings
from makegood.serving.writes import WriteQueue
from makegood.store.contacts import ContactBook
from makegood.store.ledger import Ledger

__all__ = ["Service"]


class Service:
    """The live service's shared parts, independent of HTTP.

    Writes to the ledger go through :attr:`writes` (a bounded queue on threads of its
    own, :class:`~makegood.serving.writes.WriteQueue`); reads and scoring never wait
    for them. ``rng`` draws the served choice's exploration.
    """

    def __init__(self, settings: Settings, ledger: Ledger, *, writes: WriteQueue | None = None):
        self.settings = settings
        self.ledger = ledger
        self._writes = writes
        self._scoring: anyio.CapacityLimiter | None = None
        self.rng = np.random.default_rng()

    @functools.cached_property
    def contacts(self) -> ContactBook:
        """The live memory in the ledger's database (made at first use)."""
        return ContactBook(self.ledger)

    @property
    def writes(self) -> WriteQueue:
        """The ledger's write queue (made at first use)."""
        if self._writes is None:
            self._writes = WriteQueue(
                self.ledger,
                wait_seconds=self.settings.lock_timeout_seconds,
                max_pending=self.settings.write_queue_size,
            )
        return self._writes

    def close(self) -> None:
        if self._writes is not None:
            self._writes.close()

    def scoring_limiter(self) -> anyio.CapacityLimiter:
        """The event loop's bound on recommendations scored at once (made in the loop)."""
        if self._scoring is None:
            self._scoring = anyio.CapacityLimiter(self.settings.scoring_concurrency)
        return self._scoring
