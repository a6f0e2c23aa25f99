"""Durable state of the live service, in one SQL database (SQLite by default, PostgreSQL by
URL), migrated by Alembic (:mod:`.migrations`): the budget ledger and decision log
(:mod:`.ledger`), the customers' contacts and cases (:mod:`.contacts`) and the work queue
(:mod:`.queue`), on the engines and table metadata of :mod:`.db`. Storage only: the rules
that decide live in :mod:`makegood.policy`."""
