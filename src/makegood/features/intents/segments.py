"""Cutting a complaint into sentences and clauses, and reading its words as tokens.

:func:`segments` gives the sentence and clause spans every intent is scored on; the
tokens (:func:`_word_tokens`) are lower-cased, curly apostrophes normalised
(:func:`normalise`), with ``NEG_`` copies of the words inside a negation's scope, the
word block of :class:`~makegood.features.intents.detector.IntentDetector`.
"""

from __future__ import annotations

import itertools
import re

__all__ = ["segments"]


# A sentence ends at . ! ? (followed by a space, a quote or the end: not "$40.50", "e.g.x"),
# a line break or a semicolon.
_SENTENCE_END = re.compile(r"[.!?]+(?=[\s\"')\]]|$)|[\n;]+")
# Clause boundaries inside a sentence: punctuation, dashes and joining words. The joining
# word itself belongs to neither side.
_JOINING = (
    r"(?:but|or else|otherwise|so that|because|unless|and then|and|or|if|though|although|"
    r"however|yet|until|plus|then)"
)
_CLAUSE_CUT = re.compile(
    rf"\s*(?:[,:()]|\s[-\u2013\u2014]+\s|\.\.+)\s*(?:{_JOINING}\s+)?|\s+{_JOINING}\s+",
    re.IGNORECASE,
)
WORD_PATTERN = re.compile(r"[A-Za-z0-9$£€%']+")
_EDGE = " \t\r\n\"'`*-\u2013\u2014,:;"


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    return start, end


def sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        s, e = _trim(text, s, e)
        if WORD_PATTERN.search(text, s, e) is not None:
            out.append((s, e))
    return out


def clause_spans(text: str, s: int, e: int) -> list[tuple[int, int]]:
    """Clause spans of the sentence ``text[s:e]`` (none when it is one clause)."""
    cuts, start = [], s
    for m in _CLAUSE_CUT.finditer(text, s, e):
        cuts.append((start, m.start()))
        start = m.end()
    cuts.append((start, e))
    kept = []
    for cs, ce in cuts:
        cs, ce = _trim(text, cs, ce)
        if WORD_PATTERN.search(text, cs, ce) is not None and (cs, ce) != (s, e):
            kept.append((cs, ce))
    return kept if len(kept) > 1 else []


def segments(text: str) -> list[tuple[tuple[int, int], list[tuple[int, int]]]]:
    """Sentences of ``text`` and the clauses of each, as ``(start, end)`` character spans.

    Returns ``[(sentence_span, [clause_span, ...]), ...]``; a sentence with one clause
    lists no clauses. Every span is trimmed of surrounding spaces and punctuation
    (a sentence keeps its closing ``.!?``).
    """
    return [((s, e), clause_spans(text, s, e)) for s, e in sentence_spans(text)]


_NEGATOR = re.compile(
    r"^(?:not|no|never|nothing|none|neither|nor|without|cannot|dont|doesnt|didnt|isnt|wasnt|"
    r"arent|werent|wont|wouldnt|shouldnt|cant|couldnt|havent|hasnt|hadnt|aint|mustnt|neednt)$"
)
_TOKEN = re.compile(r"[a-z0-9$£€%]+(?:'[a-z]+)?|[!?,;:.]")
_SCOPE_END = frozenset({"!", "?", ",", ";", ":", ".", "but", "however", "just", "only", "instead"})
_PUNCT = frozenset({"!", "?", ",", ";", ":", "."})


def normalise(text: str) -> str:
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def _word_tokens(text: str) -> list[str]:
    """Lower-case word tokens plus ``NEG_`` copies of the words after a negator."""
    toks = _TOKEN.findall(normalise(text))
    out = [t for t in toks if t not in _PUNCT or t in ("!", "?")]
    in_negation = False
    for t in toks:
        if t in _SCOPE_END:
            in_negation = False
            continue
        if in_negation:
            out.append("NEG_" + t)
        if _NEGATOR.match(t.replace("'", "")):
            in_negation = True
    return out


def negated(text: str) -> bool:
    """True when ``text`` holds a negator ("not", "don't", "never", ...)."""
    return any(_NEGATOR.match(t.replace("'", "")) for t in _TOKEN.findall(normalise(text)))


def word_analyzer(text: str) -> list[str]:
    toks = _word_tokens(text)
    plain = [t for t in toks if not t.startswith("NEG_")]
    return toks + [f"{a} {b}" for a, b in itertools.pairwise(plain)]
