"""Draw the letters of the second real held-out set (``tests/data/cfpb_heldout_b.jsonl``).

    python benchmarks/sample_heldout_b.py CONSUMER_COMPLAINTS_CSV OUT.jsonl

The third real held-out set C and the fifth pass's training letters were drawn the same
way from the rows left after B (``--exclude`` B, a different ``--seed``, and ``--rest`` to
write every eligible row not chosen, in a fixed random order, for labelling as training
letters)::

    python benchmarks/sample_heldout_b.py CSV tests/data/cfpb_heldout_c.jsonl --seed 2027 \
        --exclude tests/data/cfpb_heldout_b.jsonl --n-natural 150 --n-enriched 25,35,25,25 \
        --n-first-person 25 --n-leaving-more 15 --rest fifth_pass_pool.jsonl

``CONSUMER_COMPLAINTS_CSV`` is ``Consumer_Complaints.csv`` of github.com/sha-hsg/data at
commit 13053e5 (a 2015-2017 sample of the public CFPB export). Rows are eligible when no
earlier labelling read them and nothing the detector was built on holds their text:

* not a row of ``src/makegood/data/intents_external.jsonl`` (the third and fourth passes);
* not the text of a narrative of the shared parquet (``--cfpb``; hashed only, its test
  split is never printed), nor of an external letter;
* no sentence of 60 characters or more shared with the shared parquet, the external
  letters, ``intents_extra.txt`` or ``intents_real.txt``;
* at most 3,000 characters (as the fourth pass), one row per distinct text.

Two strata, fixed seeds: ``natural``, a simple random sample of the eligible rows
(``--n-natural``); ``enriched``, for each intent a random sample of the remaining eligible
rows holding its vocabulary (``--n-enriched``), so every intent has enough voiced letters,
then, leaving being the rarest, a second round of first-person closures and moves
(``--n-first-person``) and a third of the leaving vocabulary again (``--n-leaving-more``).
Writes one JSON object a line (provenance, ``stratum``, ``text``) with empty labels: the
letters are labelled by hand afterwards, before any detector reads them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
from bench_text import CFPB, ROOT, TEXT_COLUMN

from makegood.features.intents.segments import sentence_spans

SOURCE = "github.com/sha-hsg/data"
COMMIT = "13053e5537162c39d4f208345b2f2af8afd34b29"
PATH = "Consumer_Complaints.csv"
DATA = ROOT / "src" / "makegood" / "data"
MIN_SHARED = 60
MAX_CHARS = 3000

#: Vocabulary of each intent (any grammatical form), for the enriched stratum only.
VOCABULARY = {
    "compensation": r"refund|reimburs|waive|credit(?:ed)? (?:it )?back|money back|compensat"
    r"|reverse|return (?:my|the) (?:money|funds)",
    "leaving": r"\bclos(?:e|ed|ing) (?:my|the|our|this|that|all)|\bcancel|switch|another bank"
    r"|elsewhere|take my business|other lender|refinanc",
    "recognition": r"customer (?:for|since)|loyal|years? (?:as|with)|on time|never (?:missed|been"
    r" late)|good standing|respect|treated",
    "urgency": r"immediately|asap|as soon as possible|urgent|deadline|sale date|tomorrow|evict"
    r"|foreclos|closing (?:date|on)",
}
#: A second, narrower leaving round (leaving stayed under 25 voiced letters after the first):
#: a first-person closure, cancellation or move to another provider.
FIRST_PERSON_LEAVING = (
    r"\bI(?: have| had| will| would like to| want to|'m going to| am going to)? ?"
    r"(?:clos|cancel|switch|mov|transferr?)\w* (?:my|our|the|all|this|to|it|them|business)"
    r"|(?:another|different|new) (?:bank|lender|credit union|company|provider|servicer)"
    r"|no longer (?:do|bank|use)|never (?:do|bank|use) .{0,30}again"
)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _digest(text: str) -> str:
    return hashlib.sha256(_norm(text).encode()).hexdigest()


def _long_sentences(text: str) -> set[str]:
    out = set()
    for s, e in sentence_spans(text):
        sentence = _norm(text[s:e])
        if len(sentence) >= MIN_SHARED:
            out.add(hashlib.sha256(sentence.encode()).hexdigest())
    return out


def seen_before(
    cfpb: Path, exclude: list[Path] | None = None
) -> tuple[set[str], set[str], set[int]]:
    """Digests of every text and long sentence the detector was built or judged on, and
    the rows of this file already read (``exclude``: more JSONL letter files, e.g. B)."""
    texts = list(pd.read_parquet(cfpb)[TEXT_COLUMN].dropna())
    external = [json.loads(x) for x in (DATA / "intents_external.jsonl").read_text().splitlines()]
    for path in exclude or []:
        external += [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]
    rows = {int(r["row"]) for r in external if r["source"] == SOURCE and "row" in r}
    texts += [r["text"] for r in external]
    for name in ("intents_extra.txt", "intents_real.txt"):
        for line in (DATA / name).read_text("utf-8").splitlines():
            if line and not line.startswith("#"):
                texts.append(line.split("\t", 1)[-1])
    whole = {_digest(t) for t in texts}
    sentences = set().union(*(_long_sentences(t) for t in texts))
    return whole, sentences, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--cfpb", type=Path, default=CFPB)
    ap.add_argument("--n-natural", type=int, default=150)
    ap.add_argument("--n-enriched", default="35,50,35,35", help="per intent, in INTENTS order")
    ap.add_argument("--n-first-person", type=int, default=35, help="the second leaving round")
    ap.add_argument("--n-leaving-more", type=int, default=45, help="the third leaving round")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument(
        "--exclude", type=Path, action="append", default=[], help="JSONL letters already read"
    )
    ap.add_argument("--rest", type=Path, help="write every eligible row not chosen here")
    args = ap.parse_args()
    frame = pd.read_csv(args.csv)
    whole, sentences, read = seen_before(args.cfpb, args.exclude)
    eligible, texts_seen = [], set()
    for row, product, text in frame.itertuples(index=False):
        if not isinstance(text, str) or row in read or len(text) > MAX_CHARS:
            continue
        digest = _digest(text)
        if digest in whole or digest in texts_seen or _long_sentences(text) & sentences:
            continue
        texts_seen.add(digest)
        eligible.append({"row": int(row), "product": product, "text": text})
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(eligible))
    natural = [dict(eligible[i], stratum="natural") for i in order[: args.n_natural]]
    taken = {r["row"] for r in natural}
    chosen = list(natural)
    for (intent, pattern), n in zip(
        VOCABULARY.items(), map(int, args.n_enriched.split(",")), strict=True
    ):
        pool = [
            r
            for r in eligible
            if r["row"] not in taken and re.search(pattern, r["text"], flags=re.IGNORECASE)
        ]
        for i in rng.permutation(len(pool))[:n]:
            chosen.append(dict(pool[i], stratum=f"enriched:{intent}"))
            taken.add(pool[i]["row"])
    for stratum, pattern, n in (
        ("enriched:leaving-first-person", FIRST_PERSON_LEAVING, args.n_first_person),
        ("enriched:leaving-more", VOCABULARY["leaving"], args.n_leaving_more),
    ):
        pool = [
            r
            for r in eligible
            if r["row"] not in taken and re.search(pattern, r["text"], flags=re.IGNORECASE)
        ]
        for i in rng.permutation(len(pool))[:n]:
            chosen.append(dict(pool[i], stratum=stratum))
            taken.add(pool[i]["row"])
    print(f"eligible {len(eligible)} of {frame[TEXT_COLUMN].notna().sum()}; chose {len(chosen)}")
    _write_letters(args.out, chosen)
    if args.rest:
        rest = [dict(eligible[i], stratum="rest") for i in order if eligible[i]["row"] not in taken]
        _write_letters(args.rest, rest)
        print(f"the other {len(rest)} eligible rows -> {args.rest}")


def _write_letters(path: Path, letters: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for r in letters:
            record = {"source": SOURCE, "commit": COMMIT, "path": PATH, "row": r["row"]}
            record |= {"product": r["product"], "stratum": r["stratum"], "text": r["text"]}
            f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
