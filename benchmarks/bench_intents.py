"""What the customer said: intent precision/recall, latency, and emotion confusion matrices.

    make bench-intents          # or: .venv/bin/python benchmarks/bench_intents.py

Prints, for the ``customer_said`` detector (makegood.features.intents.said):

* precision and recall per intent on a labelled set of whole complaints (default: the
  held-out TEST set ``tests/data/intents_test.tsv``, written apart from the training
  sentences; ``--set dev`` for the dev set used to tune). A complaint counts as a true
  positive for an intent when the detector hears that intent (with a quote) and the
  label has it. Targets: precision >= 0.90 and recall >= 0.80 for each intent.
* latency per complaint: p50 and p99 of ``detect`` on one complaint at a time (the
  service's path; target p50 <= 2 ms), and the batch rate of ``detect_many``;
* emotion detection (makegood.features.text.emotion.detect_emotion) against the labelled emotion:
  a confusion matrix on simulated history (``makegood simulate``: rows whose emotion is
  labelled) and on the hand-written held-out set ``tests/data/emotion_test.tsv``.

Report the load average (printed) beside every figure.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from makegood.features.intents.examples import INTENTS
from makegood.features.intents.said import default_detector
from makegood.features.text.emotion import EMOTION_LABELS, detect_emotion

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def read_labelled(path: Path) -> list[tuple[set[str], str]]:
    """``(labels, text)`` rows of a LABELS<TAB>TEXT file (``none`` = no label)."""
    rows = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        labels, text = line.split("\t", 1)
        rows.append((set(labels.split()) - {"none"}, text))
    return rows


def precision_recall(rows: list[tuple[set[str], str]], verbose: bool = False) -> pd.DataFrame:
    detector = default_detector()
    said = detector.detect_many([t for _, t in rows])
    out = []
    for intent in INTENTS:
        tp = fp = fn = 0
        for (labels, text), s in zip(rows, said, strict=True):
            heard = {x.intent: x.quote for x in s}
            if intent in heard and intent in labels:
                tp += 1
            elif intent in heard:
                fp += 1
                if verbose:
                    print(f"  FP {intent:12s} {heard[intent]!r:40s} <- {text}")
            elif intent in labels:
                fn += 1
                if verbose:
                    print(f"  FN {intent:12s} {text}")
        out.append(
            {
                "intent": intent,
                "n_labelled": tp + fn,
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "precision": tp / (tp + fp) if tp + fp else float("nan"),
                "recall": tp / (tp + fn) if tp + fn else float("nan"),
            }
        )
    return pd.DataFrame(out).set_index("intent")


def latency(texts: list[str], repeat: int) -> dict[str, float]:
    detector = default_detector()
    detector.detect(texts[0])  # warm-up
    times, cpu = [], []
    for _ in range(repeat):
        for t in texts:
            c0, t0 = time.thread_time(), time.perf_counter()
            detector.detect(t)
            times.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
    ms = np.array(times) * 1000
    cpu_ms = np.array(cpu) * 1000
    t0 = time.perf_counter()
    detector.detect_many(texts * 20)
    batch = time.perf_counter() - t0
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        # CPU time of this thread: hardly depends on what else the machine runs
        "cpu_p50_ms": float(np.percentile(cpu_ms, 50)),
        "batch_per_complaint_ms": 1000 * batch / (len(texts) * 20),
    }


def confusion(true: np.ndarray, pred: np.ndarray) -> pd.DataFrame:
    labels = list(EMOTION_LABELS)
    m = pd.crosstab(
        pd.Categorical(true, categories=labels),
        pd.Categorical(pred, categories=labels),
        rownames=["labelled"],
        colnames=["detected"],
        dropna=False,
    )
    return m


def emotion_report(n_sim: int, seed: int) -> None:
    from makegood.sim.world import _EMOTION_PHRASES, simulate

    world = simulate(n_sim, n_new=10, seed=seed)
    h = world.history
    h = h[h["emotion"].isin(EMOTION_LABELS) & h["complaint_text"].fillna("").str.strip().ne("")]
    pred = detect_emotion(h["complaint_text"].to_numpy())
    true = h["emotion"].to_numpy()
    print(f"\nEmotion on simulated history ({len(h)} labelled rows with text, seed {seed}):")
    print(confusion(true, pred).to_string())
    print(f"accuracy {np.mean(pred == true):.3f}")
    # The simulator voices the emotion in only some texts; where it does (one of its
    # emotion sentences is in the text), the words can be judged on their own.
    phrases = [p for ps in _EMOTION_PHRASES.values() for p in ps]
    shown = np.array([any(p in t for p in phrases) for t in h["complaint_text"]])
    print(f"\n... only the {shown.sum()} rows whose text voices an emotion:")
    print(confusion(true[shown], pred[shown]).to_string())
    print(f"accuracy {np.mean(pred[shown] == true[shown]):.3f}")
    rows = [
        (labels.pop(), text) for labels, text in read_labelled(DATA / "emotion_test.tsv") if labels
    ]
    true = np.array([e for e, _ in rows], dtype=object)
    pred = detect_emotion([t for _, t in rows])
    print(f"\nEmotion on the hand-written held-out set ({len(rows)} texts):")
    print(confusion(true, pred).to_string())
    print(f"accuracy {np.mean(pred == true):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=["test", "dev"], default="test")
    ap.add_argument("--repeat", type=int, default=20, help="latency passes over the set")
    ap.add_argument("--n-sim", type=int, default=5000, help="simulated history rows")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verbose", action="store_true", help="list the misses")
    ap.add_argument("--skip-emotion", action="store_true", help="intents only")
    args = ap.parse_args()

    print(f"load average {os.getloadavg()}")
    t0 = time.perf_counter()
    default_detector()
    print(f"detector trained in {time.perf_counter() - t0:.2f} s")
    rows = read_labelled(DATA / f"intents_{args.set}.tsv")
    pr = precision_recall(rows, verbose=args.verbose)
    print(f"\ncustomer_said on the {args.set} set ({len(rows)} complaints):")
    print(pr.to_string(float_format=lambda x: f"{x:.3f}"))
    ok = bool(((pr["precision"] >= 0.90) & (pr["recall"] >= 0.80)).all())
    verdict = "MET" if ok else "NOT MET"
    print(f"targets (precision >= 0.90, recall >= 0.80 for every intent): {verdict}")

    lat = latency([t for _, t in rows], args.repeat)
    print(
        f"\nlatency per complaint (one at a time, {args.repeat} passes): "
        f"p50 {lat['p50_ms']:.3f} ms, p99 {lat['p99_ms']:.3f} ms (target p50 <= 2 ms), "
        f"CPU p50 {lat['cpu_p50_ms']:.3f} ms; "
        f"batch {lat['batch_per_complaint_ms']:.3f} ms per complaint"
    )
    print(f"load average {os.getloadavg()}")
    if not args.skip_emotion:
        emotion_report(args.n_sim, args.seed)
    print(f"\nload average {os.getloadavg()}")


if __name__ == "__main__":
    main()
