"""What the customer's own words say: emotion, sentiment and learned intent signals.

Two independent parts:

* **Emotion and sentiment** (:func:`detect_emotion`, :func:`fill_emotion`,
  :func:`sentiment_features`): VADER polarity scores (its lexicon ships inside the
  ``vaderSentiment`` wheel, nothing is downloaded) plus a few surface cues counted by
  our own regular expressions (:mod:`.cues`), read into an emotion label by
  :mod:`.emotion`. The cue word lists are plain, general English emotion vocabulary
  ("worried", "don't understand", "furious", "fed up"); none of them names a product,
  an issue type or any phrase of our simulator, so the rules carry over to other
  companies' wording. Both VADER and the cues are English-only: text in another
  language mostly comes out "calm".
* **Intent signals** (:class:`TextSignals`, :mod:`.signals`): what the words predict is
  *learned from the data*: one TF-IDF vocabulary and one linear model per target the
  trainer names (e.g. ``churned``, ``low_satisfaction``, ``got_money``). Threats to
  leave, demands for money, loyalty or urgency show up as the terms that move those
  predictions, whatever words a company's customers happen to use.

The public names are re-exported here; model bundles pickled
``makegood.features.text.TextSignals`` and still load through this name.
"""

from makegood.features.text.cues import SENTIMENT_FEATURE_NAMES, sentiment_features
from makegood.features.text.emotion import (
    EMOTION_LABELS,
    detect_emotion,
    detect_emotion_rules,
    fill_emotion,
)
from makegood.features.text.signals import TextSignals

__all__ = [
    "EMOTION_LABELS",
    "detect_emotion_rules",
    "SENTIMENT_FEATURE_NAMES",
    "TextSignals",
    "detect_emotion",
    "fill_emotion",
    "sentiment_features",
]
