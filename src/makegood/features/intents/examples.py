"""The intents and the labelled sentences the detector learns from.

:data:`INTENTS` names the four intents (the label guide: ``docs/text.md``). The shipped
labelled files in ``makegood/data`` are read here: generated phrasing from templates
(:func:`load_examples`, :func:`expand`), real complaint sentences
(:func:`load_real_examples`, :func:`load_extra_examples`) and whole real narratives
labelled with verbatim spans (:func:`load_external`, cut into labelled sentences by
:func:`narrative_examples`), weighted together by :func:`training_set`.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from typing import Any

import numpy as np

from makegood.features.intents.segments import segments
from makegood.features.voicing import INTENTS as VOICING_INTENTS

__all__ = [
    "INTENTS",
    "REAL_WEIGHT",
    "expand",
    "external_records",
    "load_examples",
    "load_external",
    "load_external_examples",
    "load_extra_examples",
    "load_real_examples",
    "narrative_examples",
    "training_set",
    "weighted",
]

INTENTS = ("compensation", "leaving", "recognition", "urgency")
if INTENTS != VOICING_INTENTS:  # pragma: no cover - the two modules must agree
    raise ImportError("makegood.features.voicing lists other intents than INTENTS")

#: At most this many combinations of one template line are kept (a fixed sample).
MAX_EXPANSIONS = 12

TRAINING_DATA = "intents_train.txt"
REAL_TRAINING_DATA = "intents_real.txt"
#: Real complaint sentences from outside the labelled narratives (other public CFPB
#: narratives), hand-labelled by the same guide: more real phrasing for rare intents.
EXTRA_TRAINING_DATA = "intents_extra.txt"
#: Whole real narratives (other public CFPB narratives, outside the labelled file) labelled
#: by the same guide: one JSON object a line with ``text``, ``intents``, ``spans`` (a
#: verbatim substring of ``text`` per intent), ``emotion`` and the record's provenance;
#: ``intents`` is null where the guide could not decide (never trained on or scored).
EXTERNAL_DATA = "intents_external.jsonl"
#: Weight of a real complaint sentence against one generated sentence in training.
REAL_WEIGHT = 3.0


_ALTERNATION = re.compile(r"\{([^{}]*)\}")


def expand(template: str, *, limit: int = MAX_EXPANSIONS, seed: int = 0) -> list[str]:
    """The sentences a template line stands for: every ``{a|b|c}`` is one choice.

    At most ``limit`` combinations are returned: all when there are few, else a fixed
    (seeded) sample. Doubled spaces left by empty alternatives are collapsed.

    >>> expand("I {want|need} a {refund|credit}")
    ['I want a refund', 'I want a credit', 'I need a refund', 'I need a credit']
    """
    parts = _ALTERNATION.split(template)
    literals, choices = parts[0::2], [p.split("|") for p in parts[1::2]]
    n_total = int(np.prod([len(c) for c in choices])) if choices else 1
    if n_total <= limit:
        combos: Iterable[tuple[str, ...]] = itertools.product(*choices)
    else:
        rng = np.random.default_rng(seed)
        picked: set[tuple[str, ...]] = set()
        # the first alternative of every slot, then random others: each word appears
        for j in range(max(len(c) for c in choices)):
            picked.add(tuple(c[j % len(c)] for c in choices))
        while len(picked) < limit:
            picked.add(tuple(c[int(rng.integers(len(c)))] for c in choices))
        combos = sorted(picked)[:limit] if len(picked) > limit else sorted(picked)
    out = []
    for combo in combos:
        text = literals[0] + "".join(c + lit for c, lit in zip(combo, literals[1:], strict=True))
        out.append(re.sub(r"\s{2,}", " ", text).strip().replace(" ,", ",").replace(" .", "."))
    return out


def _labelled_lines(text: str, body: str) -> Iterable[tuple[int, frozenset[str], str]]:
    """``(line number, intents, body)`` of each LABELS<TAB>BODY line of ``text`` (blank and
    ``#`` lines skipped; the label ``none`` is no intent).

    Raises:
        ValueError: naming the line, when a label is unknown or the tab is missing.
    """
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if "\t" not in line:
            raise ValueError(f"line {lineno}: expected LABELS<TAB>{body}, got {line!r}")
        labels_field, rest = line.split("\t", 1)
        labels = frozenset(labels_field.split()) - {"none"}
        unknown = labels - set(INTENTS)
        if unknown:
            raise ValueError(
                f"line {lineno}: unknown intent {sorted(unknown)}; expected {list(INTENTS)} or none"
            )
        yield lineno, labels, rest


def load_examples(text: str | None = None) -> list[tuple[str, frozenset[str]]]:
    """``(sentence, intents)`` pairs from a labelled file's text (default: the shipped one).

    The clauses of a sentence labelled ``none`` are added as ``none`` examples too, so the
    models see fragments ("Right", "Sorry to bother you") like those they will score.

    Raises:
        ValueError: naming the line, when a label is unknown or the tab is missing.
    """
    if text is None:
        text = resources.files("makegood.data").joinpath(TRAINING_DATA).read_text("utf-8")
    out: list[tuple[str, frozenset[str]]] = []
    for lineno, labels, template in _labelled_lines(text, "TEXT"):
        for sentence in expand(template.strip(), seed=lineno):
            out.append((sentence, labels))
            if not labels:  # every clause of a sentence that voices nothing voices nothing
                out.extend((sentence[a:b], labels) for _, cl in segments(sentence) for a, b in cl)
    return out


def load_real_examples(text: str | None = None) -> list[tuple[str, frozenset[str]]]:
    """``(sentence, intents)`` pairs of real complaint sentences (default: the shipped
    ``intents_real.txt``, LABELS<TAB>SENTENCE, one sentence a line, no templates).

    Raises:
        ValueError: naming the line, when a label is unknown or the tab is missing.
    """
    if text is None:
        text = resources.files("makegood.data").joinpath(REAL_TRAINING_DATA).read_text("utf-8")
    return [(sentence, labels) for _, labels, sentence in _labelled_lines(text, "SENTENCE")]


def load_extra_examples(text: str | None = None) -> list[tuple[str, frozenset[str]]]:
    """``(sentence, intents)`` of the shipped ``intents_extra.txt`` (or ``text``), in the
    format of :func:`load_real_examples`.

    Raises:
        ValueError: naming the line, when a label is unknown or the tab is missing.
    """
    if text is None:
        text = resources.files("makegood.data").joinpath(EXTRA_TRAINING_DATA).read_text("utf-8")
    return load_real_examples(text)


def narrative_examples(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, frozenset[str]]]:
    """Each narrative's sentences (:func:`~makegood.features.intents.segments.segments`,
    spaces collapsed), labelled with the intents whose span (``row["spans"]``, a verbatim
    substring of ``row["text"]``) overlaps the sentence."""
    out = []
    for r in rows:
        text = r["text"]
        where = {i: (text.find(span), len(span)) for i, span in r["spans"].items()}
        for (s, e), _ in segments(text):
            labels = frozenset(
                i for i, (at, n) in where.items() if at >= 0 and at < e and at + n > s
            )
            out.append((" ".join(text[s:e].split()), labels))
    return out


_EXTERNAL_FIELDS = ("text", "intents", "spans", "emotion")


def external_records(text: str, name: str = "") -> Iterator[tuple[int, dict[str, Any]]]:
    """Each non-blank line of ``text`` (the external file's JSON-lines format) as its line
    number and JSON object: the one reader of that format (:func:`load_external` checks the
    intents' fields; the emotion model reads every record's ``emotion``).

    Raises:
        ValueError: naming the line (after ``name``, when given), when a line is not a JSON
            object.
    """
    where = f"{name} line" if name else "line"
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{where} {lineno}: not a JSON object ({e.msg})") from e
        if not isinstance(row, dict):
            raise ValueError(f"{where} {lineno}: expected a JSON object, got {type(row).__name__}")
        yield lineno, row


def load_external(text: str | None = None) -> list[dict[str, Any]]:
    """The decided narratives of ``intents_external.jsonl`` (or of ``text`` in its format):
    dicts with ``text``, ``intents``, ``spans``, ``emotion`` and provenance fields; records
    whose ``intents`` is null (undecidable by the guide) are left out.

    Raises:
        ValueError: naming the line and field, when a record is not a JSON object, lacks a
            field, names an unknown intent, or gives a span that is not a verbatim
            substring of its text (or no span for a voiced intent).
    """
    if text is None:
        text = resources.files("makegood.data").joinpath(EXTERNAL_DATA).read_text("utf-8")
    out = []
    for lineno, row in external_records(text):
        missing = [f for f in _EXTERNAL_FIELDS if f not in row]
        if missing:
            raise ValueError(f"line {lineno}: missing field(s) {missing}")
        if row["intents"] is None:
            continue
        unknown = set(row["intents"]) - set(INTENTS)
        if unknown:
            raise ValueError(
                f"line {lineno}: field intents: unknown intent {sorted(unknown)}; "
                f"expected {list(INTENTS)}"
            )
        if set(row["spans"]) != set(row["intents"]):
            raise ValueError(
                f"line {lineno}: field spans must give one quote per voiced intent "
                f"{sorted(row['intents'])}, got {sorted(row['spans'])}"
            )
        for intent, span in row["spans"].items():
            if not span or span not in row["text"]:
                raise ValueError(
                    f"line {lineno}: field spans.{intent} is not a verbatim substring of text"
                )
        out.append(row)
    return out


def load_external_examples(text: str | None = None) -> list[tuple[str, frozenset[str]]]:
    """``(sentence, intents)`` of the external narratives (:func:`load_external`,
    :func:`narrative_examples`)."""
    return narrative_examples(load_external(text))


def weighted(
    generated: list[tuple[str, frozenset[str]]], *real: list[tuple[str, frozenset[str]]]
) -> tuple[list[tuple[str, frozenset[str]]], np.ndarray]:
    """``generated`` (weight 1) followed by each list of real sentences (weight
    :data:`REAL_WEIGHT`), and the weights."""
    examples = list(generated)
    for part in real:
        examples += part
    weights = np.r_[np.ones(len(generated)), np.full(len(examples) - len(generated), REAL_WEIGHT)]
    return examples, weights


def training_set(
    data: str | None = None,
    real: str | None = None,
    extra: str | None = None,
    external: str | None = None,
) -> tuple[list[tuple[str, frozenset[str]]], np.ndarray]:
    """The default detector's examples and weights: the generated sentences of ``data``
    (:func:`load_examples`, weight 1), the real complaint sentences of ``real``, ``extra``
    and of the ``external`` narratives (:func:`load_real_examples`,
    :func:`load_extra_examples`, :func:`load_external_examples`, weight
    :data:`REAL_WEIGHT`); defaults: the shipped files."""
    return weighted(
        load_examples(data),
        load_real_examples(real),
        load_extra_examples(extra),
        load_external_examples(external),
    )
