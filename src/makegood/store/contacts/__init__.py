"""Live customer memory: every contact the service sees, grouped into cases, with
handovers and the profiles newcomers gave (SQLAlchemy; the ledger's database).

Storage only: what a contact *means* (which case it joins, what is already covered,
what to say) is decided by the caller; this package stores it and reads it back.

A **contact** is one served recommendation (its ``contact_id`` is the decision's id):
the complaint, recommended and offered resolution, the agent's decision and the
outcome live in the ledger's ``decisions`` and ``outcomes`` rows; the contact row adds
what the ledger does not know: the case, the agent, the agent's action and notes, and
how much of the case's compensation was already held or given when it came
(``covered``: not reserved again). Its customer, channel and opening time are the
case-matching keys (indexed), copied from the complaint.

A **case** groups the contacts of one customer about one issue type; it stays open
until closed and carries the next step promised. A **handover** passes a case from one
agent or channel to another with a note and the summary that was produced.

Every write runs in the caller's transaction (:meth:`ContactBook.record_contact` is
called by :meth:`makegood.store.ledger.Ledger.reserve` through its ``within`` hook), or in
one transaction of its own.

Where each part lives: :mod:`.values` (cases, handovers, contacts, a customer's live
view), :mod:`.schema` (the tables), :mod:`.reads` (reading them back) and :mod:`.book`
(the :class:`ContactBook`, which writes).
"""

from makegood.store.contacts.book import ContactBook
from makegood.store.contacts.schema import cases, contacts, customer_profiles, handovers
from makegood.store.contacts.values import (
    PROFILE_FIELDS,
    Case,
    CaseStatus,
    ContactAction,
    ContactRecord,
    CustomerLive,
    Handover,
    LiveContact,
)

__all__ = [
    "PROFILE_FIELDS",
    "Case",
    "CaseStatus",
    "ContactAction",
    "ContactBook",
    "ContactRecord",
    "CustomerLive",
    "Handover",
    "LiveContact",
    "cases",
    "contacts",
    "customer_profiles",
    "handovers",
]
