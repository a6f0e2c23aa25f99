"""Durable queue of open contacts: one row per contact waiting for an agent (SQLAlchemy).

Storage only: who is served next is :mod:`makegood.policy.queue`'s rule; this module
reads the open entries, asks the rule, and claims the chosen one.

An entry's life::

    waiting --claim--> claimed --finish-----> closed
       ^                  |  \\--handover----> handed_over (+ a new waiting entry, same case)
       |                  \\----callback----> scheduled --(slot start reached)--> claimable
       \\---------release--/

A claim is atomic: in one transaction the open entries are read, ranked, and the best
one is taken with ``UPDATE ... WHERE status is still claimable``; on PostgreSQL the
chosen row is first locked with ``SELECT ... FOR UPDATE SKIP LOCKED`` (another agent's
claim in flight is skipped, not waited for), on SQLite ``BEGIN IMMEDIATE`` makes the
claim the only writer. Two agents never get the same entry. A claim older than
``claim_seconds`` (the agent went away) may be taken again.

The table is declared on the ledger's metadata (the migrations test compares the two)
and created by migration 0003 (:mod:`makegood.store.migrations`). Ageing counts from
``arrived_at``, the customer's first arrival: a handover or a callback keeps the
customer's place. Timestamps are naive UTC.

Where each part lives: :mod:`.values` and :mod:`.schema` (the entry and its table),
:mod:`.rows` (the steps inside a transaction), :mod:`.reads` (reading the queue) and
:mod:`.store` (the :class:`QueueStore`, its writes, one transaction each).
"""

from makegood.store.queue.schema import queue_entries
from makegood.store.queue.store import QueueStore
from makegood.store.queue.values import EntryStatus, QueueEntry, Ranked

__all__ = ["EntryStatus", "QueueEntry", "QueueStore", "Ranked", "queue_entries"]
