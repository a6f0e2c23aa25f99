"""Latency and throughput of POST /v1/recommendations over loopback, next to the floor.

Trains (or reuses) a bundle on simulated data, starts `makegood serve --workers 2` on a
free port with a fresh SQLite ledger and a budget large enough that every request
reserves, and measures p50/p99 latency at 1 and 16 concurrent clients and the
throughput at 16, over a few repetitions (medians quoted). The floor is measured in
the same run: the bare LightGBM predictions (satisfaction and churn, every fold) of the
same complaints' candidates in process, one complaint at a time, one thread.

Clients are threads with keep-alive connections (``http.client``: the lightest client
in the standard library, so the client takes as little as possible of the cores it
shares with the server), in this process; the server runs in its own processes. Each
repetition sends complaints the workers have not seen yet, as far as the simulated
complaints go (per-worker caches of customer memory start cold), after a warm-up of both
workers. Besides latency, the server's CPU time per request (all its processes, from
/proc) is reported: unlike latency it hardly depends on what else the machine is doing.

    .venv/bin/python benchmarks/bench_serve.py [--n 50000] [--with-200k] [--reps 3] [--workers 2]

Targets (at 50,000 history rows, the demo's size): p99 <= 20 ms at 1 client and
>= 150 req/s at 16 clients with 2 workers; the last lines print them and a verdict.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-agent-key"
ADMIN = "bench-admin-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(work: Path, n: int) -> tuple[Path, list[dict]]:
    """The bundle (trained once, reused) and the complaints to send, as JSON bodies."""
    from makegood.api import load_catalog, load_complaints, load_history, train
    from makegood.sim.world import simulate, write_world

    raw, models = work / "raw", work / "models"
    if not (raw / "new_complaints.csv").exists():
        print(f"simulating {n} complaints ...", flush=True)
        write_world(simulate(n, n_new=2000, seed=11), raw)
    if not (models / "LATEST").exists():
        print("training (default settings; reused next time) ...", flush=True)
        t0 = time.perf_counter()
        catalog = load_catalog(raw / "catalog.yaml")
        train(load_history(raw / "history.csv", catalog=catalog), catalog, models_dir=models)
        print(f"trained in {time.perf_counter() - t0:.0f}s", flush=True)
    df = load_complaints(raw / "new_complaints.csv")
    bodies = []
    for rec in df.to_dict("records"):
        body = {k: v for k, v in rec.items() if not (isinstance(v, float) and v != v)}
        body["opened_at"] = rec["opened_at"].isoformat()
        bodies.append(body)
    return models, bodies


def floor(models: Path, bodies: list[dict], n: int) -> list[float]:
    """Seconds per complaint of the bare LightGBM predictions of its candidates
    (satisfaction and churn of every fold, one thread), in process."""
    import pandas as pd

    from makegood.contract.files import validate_complaints
    from makegood.modeling.bundle import load_bundle
    from makegood.modeling.predict import features_for

    bundle = load_bundle(models)
    eng = bundle.engine
    X = features_for(bundle, validate_complaints(pd.DataFrame(bodies[:n])))
    K = eng.n_actions
    acts = np.arange(K, dtype=np.float32)
    money = 0.0 if eng.params.money_input else None  # the layout; amounts hardly cost
    times = []
    for i in range(len(X)):
        x = np.repeat(X[i : i + 1], K, axis=0)
        t0 = time.perf_counter()
        xa = eng.outcome_input(x, acts, money=money)
        sats = [m.predict(xa, num_threads=1) for m in eng.sat_models]
        for f, m in enumerate(eng.churn_models):
            sat = sats[f] if eng.mediated else None
            m.predict(eng.outcome_input(x, acts, sat, money=money), num_threads=1)
        times.append(time.perf_counter() - t0)
    return times


class Server:
    def __init__(self, models: Path, work: Path, workers: int) -> None:
        self.port = _free_port()
        self.db = work / "ledger.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.db}{suffix}").unlink(missing_ok=True)
        env = {
            **os.environ,
            "MAKEGOOD_API_KEYS": f"{KEY}:agent,{ADMIN}:admin",
            "MAKEGOOD_RELOAD_POLL_SECONDS": "0",
        }
        cmd = [
            str(Path(sys.executable).parent / "makegood"), "serve",
            "--workers", str(workers), "--port", str(self.port),
            "--database-url", f"sqlite:///{self.db}", "--models-dir", str(models),
            "--log-level", os.environ.get("BENCH_LOG_LEVEL", "warning"),
        ]  # fmt: skip
        self.log = (work / "server.log").open("w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while True:
            try:
                status, body = self.request("GET", "/health")
                if status == 200 and json.loads(body)["status"] == "ok":
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((work / "server.log").read_text()[-3000:])
            time.sleep(0.3)

    def request(self, method: str, path: str, body: dict | None = None, key: str = KEY):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            data = None if body is None else json.dumps(body)
            headers = {"X-API-Key": key, "Content-Type": "application/json"}
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server and its worker processes so far."""
        return sum(_proc_cpu(pid) for pid in [self.proc.pid, *_children(self.proc.pid)])

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(stat.parent.name))
    return out


def run_clients(
    port: int, bodies: list[dict], n_clients: int, per_client: int, tag: str, offset: int = 0
):
    """Latencies (s) of every request and the wall time of the whole run."""
    latencies: list[list[float]] = [[] for _ in range(n_clients)]
    failures: list[str] = []
    barrier = threading.Barrier(n_clients + 1)

    def client(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"X-API-Key": KEY, "Content-Type": "application/json"}
        payloads = []
        for i in range(per_client):
            b = dict(bodies[(offset + c * per_client + i) % len(bodies)])
            b["complaint_id"] = f"{b['complaint_id']}-{tag}-{c}-{i}"
            payloads.append(json.dumps({"complaint": b}))
        barrier.wait()
        for p in payloads:
            t0 = time.perf_counter()
            conn.request("POST", "/v1/recommendations", body=p, headers=headers)
            r = conn.getresponse()
            r.read()
            latencies[c].append(time.perf_counter() - t0)
            if r.status != 200:
                failures.append(str(r.status))
        conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(n_clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed: {failures[:5]}")
    return [x for lat in latencies for x in lat], wall


def measure(args: argparse.Namespace, n: int) -> dict:
    """Train (or reuse) a bundle on ``n`` history rows, serve it, measure; the figures."""
    work = args.work / f"n{n}"
    work.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()[0]
    models, bodies = prepare(work, n)
    print(f"[{n} rows] floor: bare LightGBM predictions in process ...", flush=True)
    floor_s = floor(models, bodies, 500)
    run_dir = Path(tempfile.mkdtemp(prefix="bench_serve_", dir=work))
    server = Server(models, run_dir, args.workers)
    try:
        period = datetime.now(UTC).strftime("%Y-%m")
        status, body = server.request(
            "PUT", "/v1/budget", {"period": period, "amount": 1e9}, key=ADMIN
        )
        assert status == 200, body
        _check_answer(server, bodies[0])
        run_clients(server.port, bodies, 16, 10, "warm")  # both workers warm
        one, sixteen, cpu = [], [], []
        offset = 160  # past the warm-up's complaints: every rep sends new ones
        for rep in range(args.reps):
            c0 = server.cpu_seconds()
            lat, _ = run_clients(server.port, bodies, 1, args.single, f"one{rep}", offset)
            offset += args.single
            one.append((np.percentile(lat, 50), np.percentile(lat, 99)))
            c1 = server.cpu_seconds()
            lat, wall = run_clients(server.port, bodies, 16, args.per_client, f"many{rep}", offset)
            offset += 16 * args.per_client
            c2 = server.cpu_seconds()
            sixteen.append((np.percentile(lat, 50), np.percentile(lat, 99), len(lat) / wall))
            cpu.append(((c1 - c0) / args.single, (c2 - c1) / (16 * args.per_client)))
            print(
                f"[{n} rows] rep {rep + 1}: 1 client p50 {one[-1][0] * 1e3:.1f} ms p99 "
                f"{one[-1][1] * 1e3:.1f} ms | 16 clients p50 {sixteen[-1][0] * 1e3:.1f} ms p99 "
                f"{sixteen[-1][1] * 1e3:.1f} ms {sixteen[-1][2]:.0f} req/s | server CPU "
                f"{cpu[-1][0] * 1e3:.1f} / {cpu[-1][1] * 1e3:.1f} ms per request "
                f"(load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    finally:
        server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    med = np.median
    return {
        "n": n,
        "floor_p50": float(np.percentile(floor_s, 50)),
        "floor_p99": float(np.percentile(floor_s, 99)),
        "p50_1": med([x[0] for x in one]),
        "p99_1": med([x[1] for x in one]),
        "p50_16": med([x[0] for x in sixteen]),
        "p99_16": med([x[1] for x in sixteen]),
        "rps": med([x[2] for x in sixteen]),
        "cpu_1": med([x[0] for x in cpu]),
        "cpu_16": med([x[1] for x in cpu]),
        "load": (load_start, os.getloadavg()[0]),
    }


def _check_answer(server: Server, body: dict) -> None:
    """Every answer measured carries the explanation, the history and the reservation."""
    status, raw = server.request(
        "POST", "/v1/recommendations", {"complaint": {**body, "complaint_id": "bench-check"}}
    )
    out = json.loads(raw)
    assert status == 200, raw[:500]
    assert out["explanation"]["summary"] and "reasons" in out["explanation"], out
    assert "recent" in out["customer"] and out["budget"]["reserved"] is not None, out
    assert out["status"] == "reserved", out["status"]


def report(r: dict, workers: int, reps: int) -> None:
    f50 = r["floor_p50"]
    print()
    print(f"POST /v1/recommendations, model trained on {r['n']:,} history rows, {workers} "
          f"workers, medians of {reps} reps (load average {r['load'][0]:.1f} at start, "
          f"{r['load'][1]:.1f} at end, on {os.cpu_count()} cores)")  # fmt: skip
    print(f"{'':34s}{'p50 ms':>9s}{'p99 ms':>9s}{'req/s':>9s}{'CPU ms':>9s}")
    print(f"{'floor: bare LightGBM, in process':34s}{f50 * 1e3:9.2f}"
          f"{r['floor_p99'] * 1e3:9.2f}{1 / f50:9.0f}{f50 * 1e3:9.2f}")  # fmt: skip
    print(f"{'1 client':34s}{r['p50_1'] * 1e3:9.2f}{r['p99_1'] * 1e3:9.2f}{1 / r['p50_1']:9.0f}"
          f"{r['cpu_1'] * 1e3:9.2f}")  # fmt: skip
    print(f"{'16 clients':34s}{r['p50_16'] * 1e3:9.2f}{r['p99_16'] * 1e3:9.2f}{r['rps']:9.0f}"
          f"{r['cpu_16'] * 1e3:9.2f}")  # fmt: skip
    print("(CPU ms: server CPU time per request, all processes; floor: its own time)")
    print(f"ratio to the floor: 1-client p50 {r['p50_1'] / f50:.1f}x, server CPU per request "
          f"{r['cpu_16'] / f50:.1f}x")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000, help="simulated history rows (the targets)")
    ap.add_argument(
        "--with-200k", action="store_true", help="also measure a model trained on 200,000 rows"
    )
    ap.add_argument("--work", type=Path, default=ROOT / "data" / "bench_serve")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--single", type=int, default=300, help="requests at 1 client")
    ap.add_argument("--per-client", type=int, default=60, help="requests per client at 16")
    args = ap.parse_args()
    sizes = [args.n] + ([200_000] if args.with_200k and args.n != 200_000 else [])
    results = [measure(args, n) for n in sizes]
    for r in results:
        report(r, args.workers, args.reps)
    r = results[0]
    ok_p99 = r["p99_1"] <= 0.020
    ok_rps = r["rps"] >= 150
    print()
    print(f"targets at {r['n']:,} rows: p99 at 1 client <= 20 ms: "
          f"{'met' if ok_p99 else 'NOT met'} ({r['p99_1'] * 1e3:.1f} ms); >= 150 req/s at 16 "
          f"clients: {'met' if ok_rps else 'NOT met'} ({r['rps']:.0f} req/s)")  # fmt: skip
    verdict = "PASS" if ok_p99 and ok_rps else "FAIL"
    print(f"verdict: {verdict} (load average {os.getloadavg()[0]:.1f}: figures on a busy "
          "machine are pessimistic; compare server CPU per request)")  # fmt: skip


if __name__ == "__main__":
    main()
