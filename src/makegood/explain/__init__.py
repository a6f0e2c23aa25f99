"""Explanations in words: why the recommended resolution rather than the runner-up.

One place for every sentence the product says about a choice:

* :mod:`~makegood.explain.reasons`: an attribution grouped into plain reasons
  (:func:`sayable_reasons`);
* :mod:`~makegood.explain.wording`: each reason worded by a named stage of
  :func:`phrase`, and the shared wording of amounts and tenure;
* :mod:`~makegood.explain.brief`: ``say`` for the customer (:func:`customer_message`),
  ``why`` for the agent (:func:`agent_brief`) and the explanation of one choice
  (:func:`explain_choice`);
* :mod:`~makegood.explain.handover`: the handover brief of a recommendation and the
  one-sentence summary of a case;
* :mod:`~makegood.explain.figures`: plain labels and explanatory texts for the figures,
  how net value relates to value at risk, and whether a choice is a close call.

The numbers behind the words (TreeSHAP contrasts, narrowed tree models) are
:mod:`makegood.modeling.attribution`. This package sits in the core: it may import
modeling, features, contract and policy, never serving or the store.
"""

from makegood.explain.brief import Explanation, agent_brief, customer_message, explain_choice
from makegood.explain.figures import (
    FIGURE_LABELS,
    NET_VALUE_HELP,
    VALUE_AT_RISK_HELP,
    Interval,
    close_call,
    value_relation,
)
from makegood.explain.handover import (
    OFFER_STATE,
    CaseContact,
    HandoverBrief,
    case_summary,
    handover_brief,
)
from makegood.explain.reasons import (
    GROUPS,
    INTERNAL_GROUPS,
    NOT_ARGUMENTS,
    Reason,
    group_of,
    sayable_reasons,
)
from makegood.explain.wording import Wording, phrase, tenure_text

__all__ = [
    "FIGURE_LABELS",
    "GROUPS",
    "INTERNAL_GROUPS",
    "NET_VALUE_HELP",
    "NOT_ARGUMENTS",
    "OFFER_STATE",
    "VALUE_AT_RISK_HELP",
    "CaseContact",
    "Explanation",
    "HandoverBrief",
    "Interval",
    "Reason",
    "Wording",
    "agent_brief",
    "case_summary",
    "close_call",
    "customer_message",
    "explain_choice",
    "group_of",
    "handover_brief",
    "phrase",
    "sayable_reasons",
    "tenure_text",
    "value_relation",
]
