"""What runs on a Dask worker: one partition at a time, through the core's public functions.

Every task is a plain function of small arguments (a :class:`~makegood.contract.FilePart`,
a :class:`Job`, slope edges, a threshold): neither the bundle nor the data travels in
the task graph. Each worker process loads the bundle once (:func:`worker_bundle`, a
per-process cache keyed by the bundle's path, its bundle.json stamp and the catalog) and
pins LightGBM to the worker's threads.

Between the passes a partition's candidates live on disk, in a spill folder of ``.npy``
files under the run's temporary folder (beside the output, so on the same shared
filesystem), not in worker memory: a worker holds one partition's candidates at a time
whatever the number of rows, and a worker that dies loses only its running task, which
Dask runs again (spills are written atomically, so a rerun just replaces one).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from makegood.contract.catalog import parse_catalog
from makegood.contract.files import FilePart, read_complaints_part, write_frame
from makegood.modeling.bundle import Bundle, load_bundle, pin_threads
from makegood.modeling.predict import Scores, heard_in, recommendations, score, write_rankings
from makegood.policy.upgrades import (
    Allocation,
    BatchSummary,
    Segments,
    SlopeProbe,
    Threshold,
    exact_partials,
    segments,
)
from makegood.reporting.outcomes import CandidateOutcomes

__all__ = [
    "GuardInputs",
    "GuardedPart",
    "Job",
    "PartResult",
    "PartWritten",
    "probe_part",
    "score_part",
    "ties_part",
    "worker_bundle",
    "guard_inputs",
    "write_part",
]


@dataclass(frozen=True)
class Job:
    """What every task of one run shares (small: paths and the catalog, not the model)."""

    bundle_dir: str
    catalog: dict
    spill_dir: str
    conservative: bool = False
    #: complaint columns kept beside the candidates (the report's breakdowns and pacing)
    keep_columns: tuple[str, ...] = ()

    @property
    def guarded(self) -> bool:
        """The catalog has guardrails: each part spills what they read of its rows."""
        return bool(self.catalog.get("guardrails"))


@dataclass(frozen=True)
class PartResult:
    """A scored partition: its budget summary and hashes of its complaint ids."""

    index: int
    summary: BatchSummary
    id_hash: np.ndarray  # uint64, one per row, for the cross-partition uniqueness check


@dataclass(frozen=True)
class PartWritten:
    """A written partition's totals (exact partial sums, see ``budget._partials``)."""

    index: int
    n_rows: int
    spend: tuple[float, ...]
    value: tuple[float, ...]
    written_compensation: tuple[float, ...]
    written_net_value: tuple[float, ...]
    n_repaired: int


# ------------------------------------------------------------------- the worker's bundle

_BUNDLES: dict[tuple[str, int, str, int], Bundle] = {}
#: bundle loads in this process (a test checks: once per worker)
LOADS = 0


def _worker_threads() -> int:
    try:
        from distributed import get_worker

        return max(int(get_worker().state.nthreads), 1)
    except (ImportError, ValueError, AttributeError):
        return 1


def worker_bundle(job: Job) -> Bundle:
    """This process's bundle for ``job``: loaded on first use, then reused by every task.

    LightGBM predicts with as many threads as the worker runs tasks in parallel
    (oversubscribing the cores is many times slower).
    """
    global LOADS

    path = Path(job.bundle_dir)
    threads = _worker_threads()
    key = (
        str(path.resolve()),
        (path / "bundle.json").stat().st_mtime_ns,
        json.dumps(job.catalog, sort_keys=True),
        threads,
    )
    bundle = _BUNDLES.get(key)
    if bundle is None:
        loaded = load_bundle(path).with_catalog(parse_catalog(job.catalog, source="--catalog"))
        bundle = pin_threads(loaded, threads)
        _BUNDLES.clear()  # one run's bundle at a time
        _BUNDLES[key] = bundle
        LOADS += 1
    return bundle


def load_count() -> int:
    """How many times this process loaded a bundle (for ``client.run``)."""
    return LOADS


# --------------------------------------------------------------------------- spill files

_SEG_ARRAYS = ("vertex", "row", "slope", "extra_cost", "extra_value", "cum_cost")


def _spill_path(job: Job, index: int) -> Path:
    return Path(job.spill_dir) / f"part-{index:05d}"


def _save_spill(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.mkdir(parents=True)
    try:
        for name, arr in arrays.items():
            np.save(tmp / f"{name}.npy", arr, allow_pickle=False)
        (tmp / "meta.json").write_text(json.dumps(meta))
        if path.exists():  # a rerun of the same partition (its worker died)
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _load(path: Path, name: str, mmap: bool = False) -> np.ndarray:
    return np.load(path / f"{name}.npy", mmap_mode="r" if mmap else None, allow_pickle=False)


def _scores_arrays(s: Scores) -> tuple[dict[str, np.ndarray], dict]:
    arrays, meta = {}, {}
    for f in dataclasses.fields(s):
        v = getattr(s, f.name)
        if f.name == "X" or v is None:
            continue
        if isinstance(v, np.ndarray):
            arrays["s_" + f.name] = v.astype(str) if v.dtype == object else v
        else:
            meta[f.name] = v.tolist() if isinstance(v, np.generic) else v
    return arrays, meta


def load_scores(path: Path) -> Scores:
    """The partition's :class:`~makegood.modeling.predict.Scores` (without ``X``)."""
    meta = json.loads((path / "meta.json").read_text())
    kwargs: dict[str, Any] = dict(meta["scores"])
    for f in dataclasses.fields(Scores):
        if (path / f"s_{f.name}.npy").exists():
            kwargs[f.name] = _load(path, "s_" + f.name)
    return Scores(**kwargs)


def load_segments(path: Path, value: np.ndarray, cost: np.ndarray, mmap: bool) -> Segments:
    meta = json.loads((path / "meta.json").read_text())
    arrays = {name: _load(path, "g_" + name, mmap) for name in _SEG_ARRAYS}
    return Segments(
        value=value, cost=cost, on_grid=meta["on_grid"], max_total=meta["max_total"], **arrays
    )


def _value(s: Scores, job: Job) -> np.ndarray:
    return s.net_value_lo if job.conservative else s.net_value


# --------------------------------------------------------------------------------- tasks


def score_part(index: int, part: FilePart, job: Job) -> PartResult:
    """Read and validate one part, score it, and spill its candidates and segments.

    Raises:
        ContractError: the part breaks the contract (naming the file and its row).
        CatalogError, ModelNotFoundError: the bundle cannot score with the catalog.
    """

    bundle = worker_bundle(job)
    df = read_complaints_part(part)
    bundle.check_inputs(df, source=part.path, row_offset=part.row_offset)
    s = score(bundle, df)
    seg = segments(_value(s, job), s.compensation, s.eligible)
    arrays, meta = _scores_arrays(s)
    arrays.update({"g_" + name: getattr(seg, name) for name in _SEG_ARRAYS})
    kept = [c for c in job.keep_columns if c in df.columns]
    for c in kept:
        col = df[c]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            arrays["c_" + c] = col.to_numpy(dtype="datetime64[ns]")
        else:
            arrays["c_" + c] = col.astype(str).to_numpy(dtype=str)
    if job.guarded:
        floor, rule = bundle.catalog.floor_amounts(df)
        arrays["r_floor"] = floor
        arrays["r_floor_rule"] = rule.astype(str)
        arrays["r_customer"] = df["customer_id"].astype(str).to_numpy(dtype=str)
        arrays["r_opened_at"] = df["opened_at"].to_numpy(dtype="datetime64[ns]")
    info = {
        "scores": meta,
        "on_grid": seg.on_grid,
        "max_total": seg.max_total,
        "columns": kept,
        "customer_said": heard_in(df),
    }
    _save_spill(_spill_path(job, index), arrays, info)
    ids = df["complaint_id"].astype(object).to_numpy()
    return PartResult(index, seg.summary(), pd.util.hash_array(ids))


def probe_part(index: int, job: Job, edges: np.ndarray) -> SlopeProbe:
    """:meth:`Segments.probe` of a spilled partition (reads only its slopes and sums)."""
    empty = np.empty((0, 0))
    return load_segments(_spill_path(job, index), empty, empty, mmap=True).probe(edges)


def ties_part(index: int, job: Job, key: int) -> tuple[int, np.ndarray]:
    """:meth:`Segments.ties` of a spilled partition."""
    empty = np.empty((0, 0))
    a, cum = load_segments(_spill_path(job, index), empty, empty, mmap=True).ties(key)
    return a, np.array(cum)


def ids_at(index: int, part: FilePart, hashes: np.ndarray) -> list[tuple[int, str]]:
    """(row in the file, complaint_id) of the part's rows whose id hash is in ``hashes``."""
    df = read_complaints_part(part)
    ids = df["complaint_id"].astype(object).to_numpy()
    hit = np.flatnonzero(np.isin(pd.util.hash_array(ids), hashes))
    return [(part.row_offset + int(i) + 1, str(ids[i])) for i in hit]


@dataclass(frozen=True)
class GuardInputs:
    """What the driver's guardrail pass needs of one partition (arrays of its rows)."""

    value: np.ndarray  # (n, K) the value maximised
    compensation: np.ndarray  # (n, K)
    eligible: np.ndarray  # (n, K)
    floor: np.ndarray  # (n,) NaN where none
    floor_rule: np.ndarray  # (n,) str
    customer: np.ndarray  # (n,) str
    opened_at: np.ndarray  # (n,) datetime64[ns]


def guard_inputs(index: int, job: Job) -> GuardInputs:
    """A spilled partition's candidates and what its guardrails read (``job.guarded``)."""
    path = _spill_path(job, index)
    s = load_scores(path)
    return GuardInputs(
        value=_value(s, job),
        compensation=s.compensation,
        eligible=s.eligible,
        floor=_load(path, "r_floor"),
        floor_rule=_load(path, "r_floor_rule"),
        customer=_load(path, "r_customer"),
        opened_at=_load(path, "r_opened_at"),
    )


@dataclass(frozen=True)
class GuardedPart:
    """The driver's guarded choice for one partition's rows and its output columns."""

    choice: np.ndarray  # (n,) catalog index
    shadow_price: float
    columns: dict[str, np.ndarray]  # predict.guardrail_columns of these rows


def allocation_of(index: int, job: Job, threshold: Threshold | GuardedPart) -> tuple[Scores, Any]:
    """The partition's scores and its part of the allocation at ``threshold`` (or the
    choice the driver's guardrail pass made for it)."""
    path = _spill_path(job, index)
    s = load_scores(path)
    if isinstance(threshold, GuardedPart):
        rows = np.arange(s.n)
        c = threshold.choice
        alloc = Allocation(
            choice=c,
            spend=math.fsum(s.compensation[rows, c].tolist()),
            value=math.fsum(_value(s, job)[rows, c].tolist()),
            shadow_price=threshold.shadow_price,
            n_repaired=0,
            unconstrained_spend=math.nan,
        )
        return s, alloc
    seg = load_segments(path, _value(s, job), s.compensation, mmap=False)
    return s, seg.allocate(threshold, index)


def write_part(
    index: int,
    job: Job,
    threshold: Threshold | GuardedPart,
    budget: float,
    floor_cents: bool,
    frame_path: str,
    rankings_path: str,
    header: bool,
) -> PartWritten:
    """Write one partition's recommendations (CSV without header but in part 0, or
    Parquet) and its rankings' JSON lines; return its totals. Under guardrails
    ``threshold`` is the driver's :class:`GuardedPart` (choice and output columns)."""

    s, alloc = allocation_of(index, job, threshold)
    said = json.loads((_spill_path(job, index) / "meta.json").read_text())["customer_said"]
    recs = recommendations(
        s,
        alloc,
        budget,
        conservative=job.conservative,
        floor_cents=floor_cents,
        customer_said=said,
    )
    if isinstance(threshold, GuardedPart):
        for name, values in threshold.columns.items():
            recs.frame[name] = values
    target = Path(frame_path)
    if target.suffix == ".parquet":
        write_frame(recs.frame, target)
    else:
        tmp = target.with_name(f".{target.name}.tmp")
        recs.frame.to_csv(tmp, index=False, header=header, encoding="utf-8")
        os.replace(tmp, target)
    write_rankings(recs, rankings_path)
    rows = np.arange(s.n)
    c = alloc.choice
    return PartWritten(
        index=index,
        n_rows=s.n,
        spend=exact_partials(s.compensation[rows, c]),
        value=exact_partials(_value(s, job)[rows, c]),
        written_compensation=exact_partials(recs.frame["compensation"].to_numpy(float)),
        written_net_value=exact_partials(recs.frame["net_value"].to_numpy(float)),
        n_repaired=alloc.n_repaired,
    )


def fsum_partials(parts: list[tuple[float, ...]]) -> float:
    """The correctly rounded total of several partitions' exact partial sums."""
    return math.fsum(p for ps in parts for p in ps)


def totals_part(index: int, job: Job, thresholds: list[Threshold]) -> dict[str, Any]:
    """The report's totals of this partition's choice at each threshold, plus the spend
    of the Lagrangian choice at shadow price 1 and the partition size."""

    path = _spill_path(job, index)
    s = load_scores(path)
    seg = load_segments(path, _value(s, job), s.compensation, mmap=False)
    cands = CandidateOutcomes.from_scores(s)
    out = [cands.totals(seg.allocate(t, index).choice) for t in thresholds]
    rows = np.arange(s.n)
    at_one = seg.take(seg.n_above(1.0))
    return {
        "n": s.n,
        "totals": out,
        "spend_at_one": exact_partials(s.compensation[rows, at_one]),
        "base_churners": cands.totals(cands.baseline_choice())["expected_churners"],
    }
