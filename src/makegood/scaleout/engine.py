"""The Dask driver: batch recommendations under one global budget, written atomically.

A run has three passes over the partitions (parts of the input file or files):

1. **score**: each worker reads and validates its part (rows numbered as in the whole
   file), scores it with its own copy of the bundle, computes the part's upgrade
   segments (``policy.upgrades.segments``) and spills candidates and segments to disk. The
   driver receives only each part's :class:`~makegood.policy.upgrades.BatchSummary` and
   8-byte hashes of its complaint ids (for the uniqueness check across parts).
2. **price**: ``policy.thresholds.allocate_batches`` finds the global shadow price by a
   histogram search over the slopes (a few rounds of ~1,000 numbers per part), then the
   prefix repair on the segments tied at the price: the same pieces, and so the same
   allocation, as the single-process ``policy.budget.allocate``.
3. **write**: each part applies the price (and its share of the repair) and writes its
   recommendations and rankings; the driver concatenates the parts in order (CSV,
   JSON lines) or renames the folder of parts into place (Parquet folder).

**Guardrails** (a catalog with ``guardrails:``) replace pass 2 by a driver-side pass. A
per-customer cap couples one customer's complaints wherever they fall (parts follow the
file's rows, not customers), and the floors change which upgrades exist, so the parts'
slope summaries no longer describe the problem. Each part spills, beside its candidates,
the floor of each row and its customer and time; the driver gathers the candidates
((n, K) values, compensation, eligibility: about 17 bytes per complaint and resolution)
and calls the one policy function, ``policy.guardrails.guarded_allocate``, exactly as the
single-process ``recommend`` does (same choices), then each part writes its rows of that
choice. The driver so holds the batch's candidates in memory: fine to a few million
complaints, and the price of exact agreement with the single-process answer.

Everything is written inside a temporary folder beside the output and renamed at the
end: a failed run leaves no partial output. Input, output and the bundle must be on a
filesystem every worker sees (a LocalCluster trivially does).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from makegood.contract.catalog import Catalog
from makegood.contract.files import FilePart, plan_parts
from makegood.errors import ConfigError, ContractError, MakegoodError, Violation
from makegood.modeling.engine import no_progress
from makegood.policy.guardrails import Guardrails, Spent, guarded_allocate
from makegood.policy.thresholds import allocate_batches
from makegood.policy.upgrades import Threshold
from makegood.scaleout import require_dask, tasks

__all__ = ["DEFAULT_PARTITION_ROWS", "DaskRun", "connect", "recommend_dask"]

DEFAULT_PARTITION_ROWS = 50_000
Say = Callable[[str], None]


@contextmanager
def connect(
    scheduler: str | None = None, n_workers: int = 2, threads_per_worker: int = 1
) -> Iterator[Any]:
    """A ``distributed.Client``: on the cluster at ``scheduler``, else on a new
    LocalCluster of ``n_workers`` processes with ``threads_per_worker`` threads each.

    Raises:
        ConfigError: dask is not installed (one line saying how), or bad counts.
    """

    require_dask()
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    for name, v in (("--n-workers", n_workers), ("threads per worker", threads_per_worker)):
        if v < 1:
            raise ConfigError(f"{name} must be >= 1. Got {v} instead.")
    import dask

    # The statistical profiler samples every task thread's stack 100 times a second: it
    # competes for the GIL with the scoring's Python work, and nobody reads it here.
    with (
        dask.config.set({"distributed.worker.profile.enabled": False}),
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@dataclass
class DaskRun:
    """What a Dask run wrote and its totals."""

    output: Path
    rankings: Path
    n_complaints: int
    n_partitions: int
    spend: float  # exact total of the chosen compensation
    value: float  # exact total of the value maximised
    written_compensation: float
    written_net_value: float
    shadow_price: float
    n_repaired: int
    unconstrained_spend: float
    threshold: Threshold | None = field(repr=False)  # None under guardrails


# ------------------------------------------------------------------------------ output


def _is_folder(output: str | os.PathLike[str]) -> bool:
    """A folder of Parquet parts: a path ending in /, an existing folder, or no extension."""
    text = os.fspath(output)
    return text.endswith(("/", os.sep)) or Path(text).is_dir() or not Path(text).suffix


def _default_rankings(output: Path, folder: bool) -> Path:
    if folder:
        return output.with_name(output.name + ".rankings")
    return output.with_name(output.stem + ".rankings.jsonl")


def _check_output(output: Path, folder: bool) -> None:

    if not folder and output.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(
            "--output must end in .csv or .parquet, or be a folder (no extension) for "
            f"Parquet parts. Got {str(output)!r} instead."
        )


def _concat(parts: list[Path], target: Path) -> None:
    """Concatenate part files into ``target`` atomically (temp beside it, rename)."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("wb") as out:
            for p in parts:
                with p.open("rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _concat_parquet(parts: list[Path], target: Path) -> None:
    import pyarrow.parquet as pq

    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        writer = None
        for p in parts:
            table = pq.read_table(p)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
        if writer is not None:
            writer.close()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _replace_dir(src: Path, target: Path) -> None:
    """Move folder ``src`` to ``target``, replacing an existing one."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.{uuid.uuid4().hex}.old")
        os.replace(target, old)
    os.replace(src, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------------------ passes


def _run_all(client: Any, futures: list[Any], label: str, show: bool) -> list[Any]:
    """Results of ``futures`` in order; the first failure cancels the rest and is raised."""
    from distributed import as_completed

    results: dict[Any, Any] = {}
    progress = None
    if show:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        progress.start()
        bar = progress.add_task(label, total=len(futures))
    try:
        for fut in as_completed(futures):
            if fut.status == "error":
                exc = fut.exception()
                client.cancel(futures)
                _reraise(exc)
            results[fut.key] = fut.result()
            if progress is not None:
                progress.advance(bar)
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        if progress is not None:
            progress.stop()
    return [results[f.key] for f in futures]


def _reraise(exc: BaseException) -> None:
    from distributed.scheduler import KilledWorker

    if isinstance(exc, KilledWorker):
        raise MakegoodError(
            f"a partition kept killing its worker ({exc}); out of memory? "
            "Lower --partition-rows or give the workers more memory."
        ) from None
    raise exc


def _check_unique_ids(client: Any, parts: list[FilePart], results: list[tasks.PartResult]) -> None:
    """complaint_id must be unique across parts too (each part checked its own rows)."""
    hashes = np.concatenate([r.id_hash for r in results])
    uniq, counts = np.unique(hashes, return_counts=True)
    dup = uniq[counts > 1]
    if not dup.size:
        return
    # only parts holding a duplicated hash are read again; compare the ids themselves
    has = [j for j, r in enumerate(results) if np.isin(r.id_hash, dup).any()]
    found = client.gather([client.submit(tasks.ids_at, j, parts[j], dup, pure=False) for j in has])
    first: dict[str, tuple[str, int]] = {}
    for j, rows in zip(has, found, strict=True):
        for row, cid in rows:
            if cid in first:
                f_path, f_row = first[cid]
                where = f"row {f_row}" + ("" if f_path == parts[j].path else f" of {f_path}")
                rule = f"complaint_id must be unique. Got '{cid}' again (first at {where})."
                raise ContractError([Violation(parts[j].path, row, cid, "complaint_id", rule)])
            first[cid] = (parts[j].path, row)


def recommend_dask(
    client: Any,
    complaints: str | os.PathLike[str],
    catalog: Catalog,
    bundle_dir: str | os.PathLike[str],
    budget: float,
    output: str | os.PathLike[str],
    *,
    rankings: str | os.PathLike[str] | None = None,
    conservative: bool = False,
    partition_rows: int = DEFAULT_PARTITION_ROWS,
    spent: Spent | None = None,
    say: Say = no_progress,
    show_progress: bool = False,
) -> DaskRun:
    """``makegood recommend`` on a Dask cluster: the single-process result, by partitions.

    Args:
        client: a ``distributed.Client`` (see :func:`connect`).
        complaints: a CSV or Parquet file, or a folder of Parquet files.
        catalog: the resolution catalog to score under.
        bundle_dir: the model bundle's folder (every worker loads it once).
        budget: the compensation budget of the whole batch.
        output: a ``.csv`` or ``.parquet`` file, or a folder (Parquet parts).
        rankings: JSON lines of each complaint's ranking (default beside the output; a
            folder of parts when the output is a folder).
        partition_rows: rows per partition (bounds each worker's memory).
        spent: what customers were already given, for the catalog's caps (default: the
            bundle's history, as ``predict.recorded_spent``).

    Returns:
        :class:`DaskRun`.

    Raises:
        ContractError: bad input (file and row in the file), duplicate ids across parts.
        GuardrailBudgetError: the budget cannot fund what the guardrails require.
        BudgetError: the budget is invalid or below the minimum spend.
        ConfigError, CatalogError, ModelNotFoundError: as the single-process command.
    """
    folder = _is_folder(output)
    out = Path(output)
    _check_output(out, folder)
    rank_path = Path(rankings) if rankings is not None else _default_rankings(out, folder)
    out.parent.mkdir(parents=True, exist_ok=True)
    rank_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.{uuid.uuid4().hex}.tmp"
    (tmp / "parts").mkdir(parents=True)
    (tmp / "rankings").mkdir()
    try:
        parts, job, scored = score_all(
            client,
            complaints,
            catalog,
            bundle_dir,
            tmp,
            conservative=conservative,
            partition_rows=partition_rows,
            say=say,
            show_progress=show_progress,
        )
        n = sum(r.summary.n for r in scored)
        threshold: Threshold | None = None
        guarded: list[tasks.GuardedPart] = []
        if catalog.guardrails:
            say(f"{n} complaints scored; allocating {budget:.2f} under the guardrails")
            guarded = _guarded_parts(client, job, catalog, bundle_dir, budget, len(parts), spent)
        else:
            say(f"{n} complaints scored; finding the shadow price of budget {budget:.2f}")
            threshold = thresholds(client, job, [r.summary for r in scored], [budget])[0]

        ext = ".parquet" if folder or out.suffix.lower() == ".parquet" else ".csv"
        frame_parts = [tmp / "parts" / f"part-{j:05d}{ext}" for j in range(len(parts))]
        rank_parts = [tmp / "rankings" / f"part-{j:05d}.jsonl" for j in range(len(parts))]

        def write(floor: bool) -> list[tasks.PartWritten]:
            futures = [
                client.submit(
                    tasks.write_part,
                    j,
                    job,
                    guarded[j] if guarded else threshold,
                    float(budget),
                    floor,
                    str(frame_parts[j].resolve()),
                    str(rank_parts[j].resolve()),
                    j == 0,
                    pure=False,
                )
                for j in range(len(parts))
            ]
            return _run_all(client, futures, "writing", show_progress)

        say("writing recommendations by partition")
        written = write(False)
        if tasks.fsum_partials([w.written_compensation for w in written]) > budget:
            written = write(True)  # rounding to the cent would overspend: round down
        say(f"assembling {out}")
        if folder:
            _replace_dir(tmp / "parts", out)
            _replace_dir(tmp / "rankings", rank_path)
        else:
            (_concat_parquet if ext == ".parquet" else _concat)(frame_parts, out)
            _concat(rank_parts, rank_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return DaskRun(
        output=out,
        rankings=rank_path,
        n_complaints=n,
        n_partitions=len(parts),
        spend=tasks.fsum_partials([w.spend for w in written]),
        value=tasks.fsum_partials([w.value for w in written]),
        written_compensation=tasks.fsum_partials([w.written_compensation for w in written]),
        written_net_value=tasks.fsum_partials([w.written_net_value for w in written]),
        shadow_price=guarded[0].shadow_price if guarded else _known(threshold).shadow_price,
        n_repaired=sum(w.n_repaired for w in written),
        unconstrained_spend=math.nan if guarded else _known(threshold).unconstrained_spend,
        threshold=threshold,
    )


def _known(threshold: Threshold | None) -> Threshold:
    assert threshold is not None  # set whenever there are no guardrails
    return threshold


def _guarded_parts(
    client: Any,
    job: tasks.Job,
    catalog: Catalog,
    bundle_dir: str | os.PathLike[str],
    budget: float,
    n_parts: int,
    spent: Spent | None,
) -> list[tasks.GuardedPart]:
    """The driver-side guardrail pass (see the module docstring): the single-process
    ``guarded_allocate`` on the gathered candidates, split back into the parts."""
    from makegood.modeling.bundle import load_bundle
    from makegood.modeling.predict import guardrail_columns, recorded_spent

    got: list[tasks.GuardInputs] = client.gather(
        [client.submit(tasks.guard_inputs, j, job, pure=False) for j in range(n_parts)]
    )
    if spent is None and catalog.caps:
        spent = recorded_spent(load_bundle(Path(bundle_dir)))

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(g, name) for g in got])

    rails = Guardrails(
        floor=cat("floor"),
        floor_rule=cat("floor_rule").astype(object),
        caps=catalog.caps,
        customer=cat("customer").astype(object),
        opened_at=cat("opened_at"),
        spent=spent,
    )
    answer = guarded_allocate(
        cat("value"), cat("compensation"), cat("eligible"), float(budget), rails
    )
    columns = guardrail_columns(answer.cut, catalog.currency)
    ends = np.cumsum([len(g.floor) for g in got])
    out = []
    for lo, hi in zip(np.r_[0, ends[:-1]], ends, strict=True):
        out.append(
            tasks.GuardedPart(
                choice=answer.choice[lo:hi],
                shadow_price=answer.allocation.shadow_price,
                columns={k: v[lo:hi] for k, v in columns.items()},
            )
        )
    return out


def score_all(
    client: Any,
    complaints: str | os.PathLike[str],
    catalog: Catalog,
    bundle_dir: str | os.PathLike[str],
    tmp: Path,
    *,
    conservative: bool = False,
    partition_rows: int = DEFAULT_PARTITION_ROWS,
    keep_columns: tuple[str, ...] = (),
    say: Say = no_progress,
    show_progress: bool = False,
) -> tuple[list[FilePart], tasks.Job, list[tasks.PartResult]]:
    """Pass 1: plan the parts, then read, validate, score and spill each under ``tmp``.

    Raises:
        ContractError: bad input in any part (file and row), or ids repeated across parts.
    """
    source = os.path.abspath(os.fspath(complaints))
    say(f"planning partitions of {complaints} ({partition_rows} rows each)")
    parts = client.submit(plan_parts, source, partition_rows, pure=False).result()
    job = tasks.Job(
        bundle_dir=os.path.abspath(os.fspath(bundle_dir)),
        catalog=catalog.to_dict(),
        spill_dir=str((tmp / "spill").resolve()),
        conservative=conservative,
        keep_columns=keep_columns,
    )
    say(f"scoring {len(parts)} partitions")
    scored = _run_all(
        client,
        [client.submit(tasks.score_part, j, p, job, pure=False) for j, p in enumerate(parts)],
        "scoring",
        show_progress,
    )
    _check_unique_ids(client, parts, scored)
    return parts, job, scored


def thresholds(
    client: Any, job: tasks.Job, summaries: list[Any], budgets: list[float]
) -> list[Threshold]:
    """``allocate_batches`` with the partitions answering from their spills."""
    idx = range(len(summaries))

    def probe(edges: np.ndarray) -> list[Any]:
        return client.gather([client.submit(tasks.probe_part, j, job, edges) for j in idx])

    def ties(key: int) -> list[Any]:
        return client.gather([client.submit(tasks.ties_part, j, job, key) for j in idx])

    return allocate_batches(summaries, budgets, probe, ties)
