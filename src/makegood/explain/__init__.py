"""Explanations in words: why the recommended resolution rather than the runner-up.

One place for every sentence the product says about a choice:

* :mod:`~makegood.explain.reasons`: an attribution grouped into plain reasons
  (:func:`sayable_reasons`), each worded by a named stage of :func:`phrase`;
* :mod:`~makegood.explain.brief`: ``say`` for the customer (:func:`customer_message`),
  ``why`` for the agent (:func:`agent_brief`) and the explanation of one choice
  (:func:`explain_choice`);
* :mod:`~makegood.explain.handover`: the handover brief of a recommendation and the
  one-sentence summary of a case.

The numbers behind the words (TreeSHAP contrasts, narrowed tree models) are
:mod:`makegood.modeling.attribution`. This package sits in the core: it may import
modeling, features, contract and policy, never serving or the store.
"""

from makegood.explain.brief import Explanation, agent_brief, customer_message, explain_choice
from makegood.explain.handover import CaseContact, HandoverBrief, case_summary, handover_brief
from makegood.explain.reasons import (
    GROUPS,
    INTERNAL_GROUPS,
    Reason,
    Wording,
    group_of,
    phrase,
    sayable_reasons,
)

__all__ = [
    "GROUPS",
    "INTERNAL_GROUPS",
    "CaseContact",
    "Explanation",
    "HandoverBrief",
    "Reason",
    "Wording",
    "agent_brief",
    "case_summary",
    "customer_message",
    "explain_choice",
    "group_of",
    "handover_brief",
    "phrase",
    "sayable_reasons",
]
