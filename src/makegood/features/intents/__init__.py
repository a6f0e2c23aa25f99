"""What the customer said they want: intents heard in their own words, with quotes.

:func:`customer_said` returns, for one complaint text, the intents the customer voiced,
each with a verbatim quote (a substring of the text). "Voiced" means asked for or stated,
never implied by the situation (the label guide: ``docs/text.md``):

* ``compensation``: asks for money or value back: a refund, a fee reversed or waived, damages;
* ``leaving``: will or wants to close, cancel or switch, or already left because of this;
* ``recognition``: invokes loyalty, tenure or a good record, or feels disrespected;
* ``urgency``: states time pressure: "immediately", a sale or closing date, a home purchase
  or refinance blocked now.

Method (offline, light, precision first): the text is cut into sentences and each sentence
into clauses. Every sentence and clause is scored by one logistic regression per intent
over four blocks: word 1-2-grams (with negation marking), character 2-5-grams,
:mod:`~makegood.features.voicing` cues (intent vocabulary that no negation, reported
speech, policy question or ``if`` clause cancels) and a static sentence embedding
(:mod:`~makegood.features.language`, the ``wordllama`` table shipped in its wheel). The
models learn from labelled sources shipped in ``makegood/data``: generated phrasing
(``intents_train.txt``) and real complaint text, a US-government work in the public domain
(``intents_real.txt``: the sentences of the development split of the labelled CFPB
narratives; ``intents_extra.txt``: sentences of other public CFPB narratives;
``intents_external.jsonl``: 4,478 other whole narratives labelled with verbatim spans).
An intent is heard only when a sentence, or a clause of at least :data:`MIN_CLAUSE_WORDS`
words, reaches the intent's threshold in :data:`THRESHOLDS`
(chosen on the development split only, for precision); otherwise nothing is claimed. The
quote is the shortest such span, cut verbatim from the text.

Modules: :mod:`.segments` (sentences, clauses, tokens), :mod:`.examples` (the intents
and the labelled sentences), :mod:`.detector` (the models and the choice rule),
:mod:`.said` (the shipped detector and :func:`customer_said`). The public names are
re-exported here.

Batch use (:func:`customer_said_many`) scores every distinct sentence and clause once.
Held-out precision and recall: ``benchmarks/bench_text.py`` (``make bench-text``).
"""

from makegood.features.intents.detector import THRESHOLDS, IntentDetector, Said
from makegood.features.intents.examples import (
    INTENTS,
    load_examples,
    load_external,
    load_external_examples,
    load_extra_examples,
    load_real_examples,
    narrative_examples,
    training_set,
    weighted,
)
from makegood.features.intents.said import (
    INTENT_FEATURE_NAMES,
    customer_said,
    customer_said_many,
    default_detector,
    intent_features,
)
from makegood.features.intents.segments import segments

__all__ = [
    "INTENTS",
    "INTENT_FEATURE_NAMES",
    "IntentDetector",
    "Said",
    "customer_said",
    "customer_said_many",
    "default_detector",
    "intent_features",
    "THRESHOLDS",
    "load_examples",
    "load_external",
    "load_external_examples",
    "load_extra_examples",
    "load_real_examples",
    "narrative_examples",
    "segments",
    "training_set",
    "weighted",
]
