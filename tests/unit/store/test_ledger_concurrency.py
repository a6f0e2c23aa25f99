"""Many clients in several processes share one budget until it runs out.

16 clients (4 spawned processes x 4 threads) reserve, commit, override, release and
expire against one budget. Clients come in pairs that send the same requests under
the same idempotency keys, so every key is raced by two processes. At the end the
ledger must hold: committed + reserved <= budget, running totals equal to the sums
over decisions, one row per request that was not a replay, every key spent once,
and committed money equal to what the clients were told they committed.
"""

from __future__ import annotations

import multiprocessing
import random
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal

import pytest

from dbtesting import BACKENDS, PG_URL, drop_schema, fresh_schema
from makegood.errors import BudgetExceededError
from makegood.store.ledger import DecisionRecord, DecisionStatus, Ledger

N_PROCESSES = 4
N_THREADS = 4
N_CLIENTS = N_PROCESSES * N_THREADS
N_REQUESTS = 25  # per client
BUDGET = Decimal("600.00")  # the clients ask for about 16 * 25 * 5.00 = 2000
PERIOD = "2026-11"


@pytest.fixture(params=BACKENDS)
def ledger_location(request, tmp_path):
    """(url, schema) of a fresh, isolated ledger with its tables created."""
    if request.param == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'ledger.db'}", None
    else:
        url, schema = PG_URL, fresh_schema()
    ledger = Ledger(url, schema=schema)
    ledger.create_all()
    ledger.set_budget(PERIOD, BUDGET)
    ledger.close()
    yield url, schema
    if schema is not None:
        drop_schema(url, schema)


def _record(pair: int, i: int, resolution: str) -> DecisionRecord:
    return DecisionRecord(
        period=PERIOD,
        complaint_id=f"c-{pair}-{i}",
        customer_id=f"u-{pair}-{i}",
        recommended_resolution=resolution,
        recommended_propensity=0.5,
        model_version="v1",
        ranking=[{"resolution": resolution}],
        complaint={"complaint_id": f"c-{pair}-{i}"},
    )


def _client(ledger: Ledger, client: int) -> dict:
    """One client's requests; returns what it was told."""
    pair = client % (N_CLIENTS // 2)  # clients c and c + 8 (other processes) share keys
    own = random.Random(client)
    n_calls = n_replays = 0
    committed: dict[str, Decimal] = {}  # decision id -> amount the ledger confirmed
    claimed: list[tuple[str, str]] = []  # (key, decision id) of every ok result
    for i in range(N_REQUESTS):
        key = f"req-{pair}-{i}"
        cents = random.Random(f"{pair}-{i}").randint(100, 900)  # same for both partners
        ttl = 0.05 if own.random() < 0.1 else 3600
        result = ledger.reserve(
            _record(pair, i, "credit"), Decimal(cents) / 100, idempotency_key=key, ttl_seconds=ttl
        )
        n_calls += 1
        n_replays += result.replayed
        if not result.ok and not result.replayed:
            # Fall back to the resolution that needs no budget, under the same key.
            result = ledger.reserve(_record(pair, i, "apology"), 0, idempotency_key=key)
            n_calls += 1
            n_replays += result.replayed
        if result.ok:
            claimed.append((key, result.decision.decision_id))
        if result.replayed or not result.ok:
            continue
        decision_id = result.decision.decision_id
        action = own.random()
        try:
            if action < 0.55:
                final = Decimal(cents + own.choice([0, 0, -50, 150])) / 100
                decision = ledger.commit(decision_id, final_compensation=final)
                committed[decision_id] = decision.final_compensation
            elif action < 0.7:
                decision = ledger.release(
                    decision_id, "override", final_resolution="refund", final_compensation=12
                )
                committed[decision_id] = decision.final_compensation
            elif action < 0.9:
                ledger.release(decision_id, "customer declined")
            # else: left reserved (held, or expiring if its ttl was short)
        except BudgetExceededError:
            ledger.release(decision_id, "no budget left for the change")
        if i % 10 == 9:
            ledger.expire()
    return {
        "n_calls": n_calls,
        "n_replays": n_replays,
        "committed": committed,
        "claimed": claimed,
    }


def _worker(url, schema, process_index, barrier, queue) -> None:
    try:
        ledger = Ledger(url, schema=schema)
        barrier.wait(timeout=60)  # every process has started and imported: now race
        clients = [process_index * N_THREADS + t for t in range(N_THREADS)]
        with ThreadPoolExecutor(N_THREADS) as pool:
            results = list(pool.map(lambda c: _client(ledger, c), clients))
        ledger.close()
        queue.put(("ok", results))
    except BaseException:
        queue.put(("error", traceback.format_exc()))


@pytest.mark.slow
def test_concurrent_clients_never_overspend(ledger_location):
    url, schema = ledger_location
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(N_PROCESSES)
    queue = ctx.Queue()
    processes = [
        ctx.Process(target=_worker, args=(url, schema, p, barrier, queue))
        for p in range(N_PROCESSES)
    ]
    for process in processes:
        process.start()
    try:
        reports = [queue.get(timeout=120) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    errors = [body for kind, body in reports if kind == "error"]
    assert not errors, "\n".join(errors)
    results = [r for _, batch in reports for r in batch]
    assert len(results) == N_CLIENTS

    ledger = Ledger(url, schema=schema)
    ledger.expire(datetime(2030, 1, 1))  # whatever is still held lapses: nothing is lost
    items = list(ledger.iter_decisions_with_outcomes())
    decisions = {item.decision.decision_id: item.decision for item in items}
    state = ledger.get_budget(PERIOD)
    audit = ledger.audit(PERIOD)
    ledger.close()

    # Every request was recorded once; replays recorded nothing.
    n_calls = sum(r["n_calls"] for r in results)
    n_replays = sum(r["n_replays"] for r in results)
    assert len(decisions) == n_calls - n_replays
    assert n_replays > 0  # the partners did race for keys

    # Each key was spent once: both partners were given the same decision.
    by_key: dict[str, set[str]] = {}
    for r in results:
        for key, decision_id in r["claimed"]:
            by_key.setdefault(key, set()).add(decision_id)
    assert all(len(ids) == 1 for ids in by_key.values())
    assert len(by_key) == (N_CLIENTS // 2) * N_REQUESTS  # every request ended with a decision
    stored_keys = Counter(d.idempotency_key for d in decisions.values() if d.idempotency_key)
    assert set(stored_keys) == set(by_key) and max(stored_keys.values()) == 1

    # The budget ran out, was never exceeded, and no money was lost or made up.
    statuses = Counter(d.status for d in decisions.values())
    assert statuses[DecisionStatus.DECLINED] > 0
    assert statuses[DecisionStatus.RESERVED] == 0
    assert state.committed + state.reserved <= state.amount == BUDGET
    assert (audit.committed, audit.reserved) == (state.committed, state.reserved)
    told = {k: v for r in results for k, v in r["committed"].items()}
    assert state.committed == sum(told.values())
    assert {k for k, d in decisions.items() if d.status is DecisionStatus.COMMITTED} == set(told)
    assert all(decisions[k].final_compensation == v for k, v in told.items())
