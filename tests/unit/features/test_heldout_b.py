"""The second real held-out set (tests/data/cfpb_heldout_b.jsonl) stays held out.

Its letters are read by ``bench_text.py --heldout-b`` alone: no sentence of them may reach
what the detector is trained or tuned on (``training_set``: the generated phrasing, the
dev-split sentences, the extra CFPB sentences and the external letters, which ``--tune``
and ``--oof`` cross-validate over).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from makegood.features.intents.examples import (
    INTENTS,
    load_external,
    narrative_examples,
    training_set,
)

HELDOUT_B = Path(__file__).resolve().parents[2] / "data" / "cfpb_heldout_b.jsonl"
#: Sentences this long are shared only by copying (short ones recur by chance: "Thank you.").
MIN_SHARED = 60


def _records() -> list[dict]:
    return [json.loads(line) for line in HELDOUT_B.read_text("utf-8").splitlines() if line]


def _norm(sentence: str) -> str:
    return " ".join(sentence.lower().split())


def test_the_second_held_out_set_is_labelled_whole_letters_with_provenance():
    records = _records()
    rows = load_external(HELDOUT_B.read_text("utf-8"))  # validates the spans
    assert len(records) >= 300
    assert len(rows) >= 0.95 * len(records)  # few undecidable letters
    for intent in INTENTS:
        assert sum(intent in r["intents"] for r in rows) >= 25
    natural = [r for r in rows if r["stratum"] == "natural"]
    assert len(natural) >= 100
    assert {r["stratum"] for r in rows} - {"natural"} <= {f"enriched:{i}" for i in INTENTS} | {
        "enriched:leaving-first-person",
        "enriched:leaving-more",
    }
    keys = [(r["source"], r["commit"], r["path"], r["row"]) for r in records]
    assert len(set(keys)) == len(keys)


def test_no_letter_of_the_second_held_out_set_reaches_training_or_tuning():
    package_data = Path(str(resources.files("makegood.data")))
    assert package_data not in HELDOUT_B.parents
    held_out = load_external(HELDOUT_B.read_text("utf-8"))
    examples, _ = training_set()
    trained = {_norm(s) for s, _ in examples if len(s) >= MIN_SHARED}
    shared = [
        s for s, _ in narrative_examples(held_out) if len(s) >= MIN_SHARED and _norm(s) in trained
    ]
    assert shared == []
    # nor is any of its rows one of the external letters (the same source file)
    external = {(r["source"], r.get("row")) for r in load_external()}
    assert not external & {(r["source"], r["row"]) for r in held_out}
