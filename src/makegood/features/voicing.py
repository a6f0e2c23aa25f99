"""Cues that a span of a complaint *voices* an intent, with the guards that cancel them.

A cue is plain English vocabulary of an intent ("refund", "close my account", "loyal
customer", "immediately"); it counts as **voiced** only when the words before it in the
span do not cancel it:

* **negation**: a negator within the last few words ("I don't want a refund", "I did not
  ask to waive it");
* **reported speech**: the company or its staff said it ("the agent said they would
  refund me", "I was told the fee would be reversed");
* **policy question**: the span is a question about what happened or what is allowed
  ("Why was I charged a late fee?", "Is it legal to close my account?");
* **hypothesis**: the cue sits inside an ``if`` clause ("if they had refunded me").

:func:`voicing_features` turns spans into the numeric block the intent models read
(:data:`VOICING_FEATURE_NAMES`). Texts are normalised first: curly quotes, the CFPB
export's split contractions ("do n't", "I 'm") and masks (``XXXX``) stay harmless.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = [
    "VOICING_FEATURE_NAMES",
    "ambiguous",
    "cancelled_by_context",
    "normalise",
    "signature",
    "vocabulary_voiced",
    "voiced",
    "voicing_features",
]

INTENTS = ("compensation", "leaving", "recognition", "urgency")

_N = r"(?:\d+|xxxx|a few|many|multiple|several|some|\w+teen|twenty|thirty|forty|fifty|sixty)"
#: "for over N years", "for at least N years", "for 15 or more years"
_FOR_N_YEARS = (
    r"for (?:over |almost |nearly |more than |at least |about |around |close to |the past |the las"
    r"t )?"
    rf"{_N} (?:or more )?(?:\w+ )?years"
)
#: since a year or a masked date ("since 1999", "since XX/XX/XXXX")
_SINCE = r"since (?:xxxx|(?:19|20)\d\d)\b"

#: Per intent: (cue, strong cue). A strong cue is a phrase that voices the intent nearly
#: whenever it is voiced at all; a cue needs the model's other evidence too.
# A word between a first-person subject and a closure that is not a report of someone
# else's act: "I was informed they will close my account" is no wish to leave.
_NOT_REPORTING = (
    r"(?!(?:they|he|she|it|them|bank|company|letter|notice|told|informed|notified|said|"
    r"stating|stated|advised|that|would|asked|was|were|been|being)\b)\w+"
)

_CUES: dict[str, tuple[str, str]] = {
    "compensation": (
        r"refund\w*|reimburs\w*|money back|my money|(?:funds?|balance|deposit|payment|"
        r"check) back|compensat\w*|damages|made whole|make me whole|credit(?:ed)? (?:back|"
        r"to my account|my account)|revers(?:e|ed|al)\b|waive[ds]?\b|waiver|forgive\w*|"
        r"discharge this|(?:return|returned|release) (?:my|the|our) (?:money|funds|balance|"
        r"deposit|payment)|absorbed?|settlement|rebate|escrow check|(?:give|pay) me back|"
        r"cash back|charge ?back|fees? (?:removed|taken off|dropped)",
        r"(?:(?:i|we)(?: \w+){0,3} (?:want|wanted|would like|wish|need|needed|expect|expected|"
        r"demand|demanded|request|requested|am requesting|are requesting|am asking|asked|ask|"
        r"deserve|seek|sought|am seeking|demanding|seeking|requesting|asking|expecting|"
        r"trying to get|called (?:\w+ ){0,2}to (?:ask|have|get))|(?:i|we)'d like)\b[^.?!]{0,60}?"
        r"(?:refund|reimburs|money back|compensat|damages|revers(?!e mortgage)|waive|credit "
        r"(?:back|my|me|to)|return|my money|forgive|reduc\w* (?:\w+ ){0,4}(?:fees?|charges|"
        r"penalt\w+))|"
        r"please (?:refund|reimburse|return|credit|reverse|waive)|"
        r"(?:refund|reimburse|compensate|pay) (?:me|us)\b|"
        # a call or letter of the customer's own to get it back, or to ask where it is
        r"(?:i|we) (?:\w+ ){0,2}(?:called|contacted|wrote|e-?mailed|went to) (?:\w+ ){0,3}to "
        r"(?:ask for |get |request |have )?(?:a |my |the |our |them )?(?:refund|reimburs|revers|"
        r"credit|waive)|(?:inquire|ask|asked|asking|check|checking) (?:about|where|on|for|"
        r"when) (?:my|the|our) (?:\w+ )?refund|"
        # what the customer says is owed to them
        r"\b(?:due(?! to)|owed|entitled to|owes? (?:me|us)) (?:\w+ ){0,4}(?:refund|reimbursement|"
        r"compensation|money|fees?|funds)|(?:i|we) should (?:have|get|receive) (?:a |my |our |the "
        r")?(?:\w+ ){0,2}(?:refund|credit|reimbursement)|"
        # a dispute, claim or chargeback the customer filed over a charge (asking it reversed)
        r"(?:i|we) (?:\w+ ){0,3}(?:filed|opened|submitted|started|initiated|placed) (?:a |an |the "
        r")?(?:(?:fraud|billing) (?:dispute|claim)|charge ?back|claims? investigation|(?:dispute|"
        r"claim)\b[^.?!]{0,50}\b(?:charges?|transactions?|withdrawals?|purchases?|merchant|"
        r"retailer|refund|fraudulent|unauthori[sz]ed|returned)|claims?(?: investigation)? with "
        r"(?:the )?(?:\w+ ){0,3}(?:bank|card|issuer))|(?:i|we) (?:\w+ ){0,2}(?:disputed|dispute) "
        r"(?:the |this |these |those |a |an |all )?(?:\w+ ){0,2}(?:charges?|transactions?|"
        r"withdrawals?)\b|(?:i|we) (?:\w+ ){0,2}report\w* (?:\w+ ){0,3}(?:unauthori[sz]ed|"
        r"fraudulent) (?:charges?|transactions?|withdrawals?)|"
        r"(?:should|must) (?:be )?(?:refund|reimburs|return|credit|revers|waiv)\w*\b(?! (?:the |"
        r"my |our |all )?(?:negative|derogatory|late|credit|decision|report))|"
        r"(?:get|getting|want|give(?: me| us)?) (?:my|our|the|any of (?:my|our|the)) (?:\w+ ){0,3}"
        r"(?:money|funds|fees?|balance|deposit|payment) back(?! from)|"
        # their own money not (yet) received back, a refusal of it stated as such
        r"(?:not|never) (?:yet )?(?:received|gotten|got|get|seen) (?:\w+ ){0,2}(?:(?:my|our|the|"
        r"any|those|these) )?(?:\w+ ){0,3}(?:refunds?|reimbursements?|money|funds|checks?)\b"
        r"(?:[^.?!]{0,20}\bback)?|(?:can't|cannot|can not|won't|will not) (?:get|have|receive) "
        r"(?:any of )?(?:my|our|the) (?:\w+ ){0,2}(?:money|funds) back|"
        r"(?:fail(?:s|ed)?|refuse[ds]?|refusing|unwilling|not ready|declined?) to "
        r"(?:refund|reimburse|return(?! (?:my |our |the |any )?(?:\w+ )?(?:calls?|e-?mails?|"
        r"messages?|voice ?mails?|phone))|credit|reverse|waive)|(?:refus\w+|fail\w*|unwilling|"
        r"declined?) to (?:give|issue|provide|make|process|send) (?:me |us )?(?:a |any |the |my "
        r"|our )?(?:\w+ )?(?:refund|reimbursement|compensation|credit)|"
        r"(?:i|we) (?:\w+ ){0,2}(?:want|would like|need) (?:a|my|the|our|full) refund|"
        r"(?:get|getting|have|want|had) (?:the |my |all |these |those )?(?:\w+ ){0,2}(?:fees?|"
        r"charges?|interest|penalt\w+) (?:reversed|waived|refunded|removed|credited|back)|"
        r"waive (?:the |my |all |these )?(?:\w+ )?(?:fees?|charges?|penalt\w+)|(?:deserve|want|"
        r"need|request|expect|requesting) (?:a |my |the )?(?:full )?(?:refund|reimbursement|"
        r"compensation)|(?:get|getting|receive|receiving) (?:a |my |the |any )?(?:\w+ ){0,2}"
        r"(?:refund|reimbursement|escrow check|settlement|compensation)|issued to me|"
        r"(?:seek|want|ask|asking|request) (?:\w+ ){0,2}(?:to )?(?:discharge|forgive)\w*|"
        # their own money put back, sent back or credited back (a request or a refusal of one)
        r"(?:put|place|deposit) (?:\w+ ){0,6}back (?:in|into|on|to) (?:my|our|the) (?:\w+ )?"
        r"account|(?:put|place|give) (?:the |my |our |all )?(?:money|funds|balance) back|"
        r"(?:send|mail|overnight|wire|return) (?:me |us )?(?:the |my |our )?(?:\w+ )?(?:balance|"
        r"money|funds|refund|deposit)s? (?:back|to (?:me|us))|(?:get|have|want) (?:my|our|the) "
        r"(?:\w+ )?account credited|ask(?:ed|ing)? for (?:a |my |the |our )?(?:full )?(?:refund|"
        r"reimbursement)|(?:has|have|had)(?: still)? not (?:yet )?(?:refunded|reimbursed|credited|"
        r"returned) (?:me|us|my|our|the)|(?:has|have|had) (?:still )?not (?:yet )?been "
        r"(?:refunded|reimbursed|credited|returned|reversed|put) back|(?:won't|will not|would "
        r"not|refuse[ds]? to|refusing to) (?:\w+ )?(?:give|put|send) (?:me |us )?(?:the |my |our "
        r"|any )?(?:\w+ )?(?:money|funds|refund)s? back|(?:won't|will not|would not) (?:\w+ )?"
        r"(?:refund|reimburse|credit|return|reverse|waive) (?!(?:me |us |my |our |the |them |it )"
        r"?(?:\w+ )?(?:calls?|e-?mails?|messages?|voice ?mails?|phone)\b)(?:me|us|my|our|the|them|"
        r"it)",
    ),
    "leaving": (
        r"clos(?:e|ed|ing) (?:\w+ ){0,3}(?:account|acct|card|membership)s?|"
        r"cancel\w*|switch\w*|another (?:bank|servicer|lender|provider|company|"
        r"institution|insurer|supplier|carrier|card)|elsewhere|competitor|rivals?|"
        r"(?:never|not) (?:again )?(?:do|doing|to do) business|stop(?:ped)? using|"
        r"(?:move|moved|moving|transfer) (?:my|our) (?:\w+ )?(?:loans?|accounts?|"
        r"mortgage|business|money)|done with (?:them|you|this)|give up on|leav(?:e|ing) "
        r"(?:your|the|this) (?:bank|company|service)|\bleaving\b|terminate|"
        r"never (?:use|using|recommend)|with someone else|(?:a|another) (?:local|new|"
        r"different) (?:mortgage )?(?:company|bank|lender|provider)",
        r"(?<!they )(?<!bank )(?<!company )(?<!he )(?<!she )(?<!it )(?:plan|planning|going|want|"
        r"intend|decided) to (?:close|cancel|switch|leave|move)|"
        # thinking of or about to leave, or forced to
        r"(?:thinking (?:about|of)|considering|contemplating|close to) (?:\w+ )?(?:clos|cancel|"
        r"switch|leav)\w* (?:my|our|the|this|all)\b|(?:i|we) (?:was|were|am|are|felt|feel) "
        r"forced to (?:close|cancel) (?:my|our|the|this|all)\b|glad to be rid of|"
        # refinancing, consolidating or moving, now or meant, to a different provider
        r"(?:looking (?:into|at|for)|thinking (?:about|of)|considering|contemplating|decided to|"
        r"going to|will|plan(?:ning)? to|want to|have to|had to) (?:(?!be\b|been\b)\w+ ){0,2}(?:re"
        r"financ\w*|"
        r"consolidat\w*|mov\w*|transfer\w*|go|switch\w*|bank\w*) (?:\w+ ){0,4}(?:with|to) "
        r"(?:another|a different|a new) (?:\w+ )?(?:company|bank|lender|servicer|provider|"
        r"institution|credit union)|chang\w* (?:banks|lenders|servicers|providers|companies)|"
        # instructions or requests of the customer's own to close
        rf"(?:i|we)(?: {_NOT_REPORTING}){{0,3}} (?:told|instructed|asked|requested|wrote) "
        r"(?:\w+ ){0,3}to (?:close|cancel) (?:(?:all|both) (?:of )?)?(?:(?:my|our|the|this) "
        r"(?:\w+ ){0,2}(?:account|acct|card|membership|service|loan|contract|policy)s?|it)\b|"
        r"(?:my|our) (?:\w+ )?(?:instructions?|requests?) to (?:close|cancel) (?:(?:my|our|the|thi"
        r"s) "
        r"(?:\w+ ){0,2}(?:account|acct|card|membership|service|loan|contract|policy)s?|it)\b|(?:i|"
        r"we) (?:\w+ ){0,2}requested (?:that )?(?:the|my|our) (?:\w+ ){0,3}"
        r"(?:be )?(?:closed|cancell?ed)|(?:i|we) (?:have|had) since (?:closed|cancell?ed)|"
        r"(?:i|we) (?:\w+ ){0,2}no longer (?:keep|use|bank|want)\b|"
        r"(?:deal|do business) with (?:\w+ ){0,3}(?:anymore|any more|again)|(?:local|new|"
        r"different|another) (?:\w+ )?(?:company|bank|lender|servicer|provider) (?:\w+ )?"
        r"(?:carry|take over|handle|service)|switch(?:ed|ing)? to (?:another|a different|a new)|"
        # the customer's own attempt or call to close (a request made, not one reported)
        r"(?:trying|tried|attempt\w*|called|contacted|wrote|went) (?:\w+ ){0,3}to (?:close|cancel) "
        r"(?:(?:all|both) (?:of )?)?(?:my|our) (?:\w+ ){0,2}(?:account|acct|\w*card|membership|"
        r"service|loan|contract)s?|(?<!bank )(?<!they )had (?:no choice (?:but )?)?to (?:close|"
        r"cancel) (?:(?:all|both) (?:of )?)?(?:my|our|the|this)\b(?! store| business)|"
        # a closure the customer wants, asks for or will make (not one reported to them:
        # no third person or notice among the words between)
        rf"(?:i|we)(?: {_NOT_REPORTING}){{0,4}} (?:(?:want|wanted|would like|need|plan|"
        r"intend|tried|trying|(?<!was )(?<!were )(?<!been )asked(?: \w+)?|requested|request|"
        r"demand|decided|am going|will "
        r"have to) (?:\w+ ){0,2}to )?(?:close|cancel) (?:(?:all|both|each|every|ever) (?:of )?)?"
        r"(?:my|our|the|this|these|that|those)? ?(?:\w+ ){0,2}(?:account|acct|card|membership|"
        r"service|contract)s?|"
        # a closure already made counts only with its cause in the sentence
        r"(?:i|we)(?: \w+){0,5} (?:closed|cancell?ed|cancel) (?:\w+ ){0,4}(?:account|acct|card|"
        r"membership|service|contract|loan|policy|plan|subscription)s?\b[^.?!]{0,40}\b(?:because|"
        r"due to|as a result|over this|after this|based on|and (?:went|moved|switched))|"
        r"(?:so|therefore|consequently|as a result|"
        r"because of this|after this|at (?:that|this) point|that is when),? (?:i|we)(?: \w+){0,3} "
        r"(?:closed|cancell?ed)|"
        # paying it all off to close it is a deliberate exit
        r"paid (?:\w+ ){0,3}(?:off|in full)(?: \w+){0,3} and (?:then )?(?:closed|cancell?ed)|"
        r"(?:i|we) (?:called|wrote|went) (?:\w+ ){0,2}and (?:close|closed|cancel|cancell?ed) "
        r"(?:the|my|our) (?:\w+ )?(?:account|acct|card|loan|service|policy|contract)|"
        r"(?:i|we)(?: will| would| am going to|'ll|"
        r" want to| plan to| would like to| am|'m| are|'re) (?:\w+ )?(?:switch\w*|leav\w* "
        r"(?:this|the|your|them|their)|move (?:my|our)|clos\w* (?:my|our|the|this|all|it)\b|"
        r"cancel\w* (?:my|our|the|this|all|it)\b)|(?:will|'ll|have to|need to|going to) (?:\w+ )?("
        r"?:find|look for|"
        r"go to|use) (?:a new|another|a different) (?:bank|lender|servicer|provider|company|card)|"
        r"(?:never|not|no longer) (?:again )?(?:do|doing|to do) (?:any )?business with|"
        r"(?:will|would) never,? (?:ever,? )?(?:use|bank with|do business)|"
        r"(?:i|we) (?:\w+ )?(?:stopped|quit) using|please (?:close|cancel) "
        r"(?:(?:all|both) (?:of )?)?(?:my|our|the|this) (?:\w+ ){0,2}(?:account|acct|card|"
        r"membership|service|loan|contract)|"
        r"take (?:my|our) (?:\w+ )?(?:business|money)|be done with them|not (?:ever )?(?:use|"
        r"using) (?:this|them|it) again|(?:moved|move|moving) (?:all )?(?:my|our) (?:\w+ )?"
        r"(?:loans?|accounts?|business|funds|money) to",
    ),
    "recognition": (
        r"loyal(?!ty (?:points?|programs?|rewards?|cards?|schemes?))\w*|(?:long[- ]?time|"
        r"long[- ]?standing|faithful|good|valued|"
        r"longtime) (?:customer|client|member)|(?:customer|client|member|been with|"
        r"banked with|had (?:my|this|the) \w+)(?: \w+){0,4} (?:since|for (?:over |almost |"
        rf"nearly |more than |the past )?{_N} years)|{_N} years (?:as a|with|of)|"
        r"(?:never|not once|not ever) (?:\w+ )?(?:missed|been late|late|failed)|"
        r"always (?:paid|pay|made|been)|on time every|good standing|"
        r"(?:paid|pay|made) (?:\w+ ){0,4}on time|disrespect\w*|worthless|respect|"
        r"taken for granted|undervalued|(?:not|never) valued|treat(?:ed)? (?:a |their |"
        r"its |loyal )?(?:customer|client)s?|relied on|don't matter|stranger",
        r"(?:loyal|long[- ]?time|long[- ]?standing|faithful|valued|preferred|premier|privileged) "
        r"(?:\w+ ){0,2}(?:customer|client|member)s?|(?:i|we)(?:'ve| have)? (?:been|am|are|was|were"
        r") (?:an? |such an? )?(?:very )?"
        r"(?:good|excellent|great|outstanding|model|exemplary|responsible|faithful|loyal) "
        r"(?:customer|client|member|consumer|borrower|card ?holder)s?|(?:customer|client|member|"
        r"card ?holder)s? (?:(?:of|for|with|at) \w+ )?(?:since|for (?:over |almost |nearly |"
        rf"more than |the past )?{_N} (?:\w+ )?years)|(?:i|we)(?:'ve| have| had)? (?:never|not "
        r"once) (?:\w+ )?(?:missed|been late)|(?:i|we)(?:'ve| have)? always (?:paid|made|paying)|"
        r"(?:paid|pay|paying|made) (?:\w+ ){0,4}(?:faithfully|"
        rf"{_FOR_N_YEARS})|(?:treat\w*) (?:me|us) (?:so |very )?(?:badly|"
        r"poorly|unfairly|like)|treated like|history (?:\w+ ){0,3}(?:spanning|of) (?:a decade|"
        rf"{_N} years)|"
        r"treated (?:me )?(?:as though|like) (?:i|we) (?:was|were|am|are|don't)|"
        r"(?:i|we)(?:'ve| have| had)? (?:(?:been|was|were) (?:with|banking|an? (?:xxxx |\w+ )?"
        r"(?:customer|client|member|card ?holder)s?|(?:xxxx |\w+ )?(?:customer|client|member)s)|"
        r"had (?:(?:my|our|an?|this|the) )?(?:\w+ ){0,3}(?:account|card|loan|mortgage)s?)\b"
        rf"[^.?!]{{0,60}}\b(?:{_FOR_N_YEARS}|{_SINCE})|"
        # the company named as the customer's own for years ("which has been my bank for years")
        r"(?:has|have) been (?:my|our) (?:\w+ ){0,2}(?:bank|company|lender|servicer|provider|"
        rf"card)\b[^.?!]{{0,30}}\b(?:{_FOR_N_YEARS}|{_SINCE})|as it has been {_FOR_N_YEARS}|"
        # a record of paying, kept up ("I have been making my payments on time")
        r"(?:i|we)(?:'ve| have)? (?:been|kept|continued(?: to)?) (?:making|paying|make|pay) "
        r"(?:\w+ ){0,3}(?:on ?time|every month|each month|faithfully|without fail)|(?:i|we)"
        r"(?:'ve| have)? (?:not|never) missed (?:a |one |any |xxxx )?(?:single )?payments?|(?:made|"
        r"paid) on ?time payments|(?:reliable|dependable) (?:with|about|in) (?:my |our )?payments|"
        r"(?:never|not) (?:\w+ )?(?:been|felt) (?:so )?treated (?:like|this way|so)|lack of respec"
        r"t|"
        r"(?:should|way to|not) treat (?:a |their |its |me|us)|"
        # disrespect of the customer, not of "the laws" or "my wishes"
        r"disrespect\w* (?:me|us|(?:their|its|loyal) customers)\b|(?:with|such|total|complete|"
        r"utter) disrespect|disrespectful|(?:was|were|been|felt|feel|am|are) (?:\w+ )?"
        r"disrespected|worthless|taken for granted|undervalued|(?:(?:account|card|loan|mortgage)s?"
        r"\b[^.?!]{0,30}|(?:i|we) (?:am|are|was|were|have been|"
        r"remain|remained)\b[^.?!]{0,20})(?:in|is|been|was|remained) good (?:\w+ ){0,2}standing|"
        r"(?:i|we) (?:have )?(?:always (?:paid|made|make|pay)|(?:paid|made|make|pay)"
        r"(?! (?:a|an|one|this|that|the) ))(?: \w+){0,5} (?:on time|timely|"
        r"in a timely)|(?:i|we|my|our)\b[^.?!]{0,30}never been (?:a |any )?(?:\w+ )?late|"
        r"since (?:xxxx|\d+) (?:and|,)",
    ),
    "urgency": (
        r"immediate\w*|asap|as soon as possible|at once|urgent\w*|right away|straight "
        r"away|emergency|tomorrow|today|deadline|(?:sale|closing|close) date|scheduled "
        r"for|tight timeline|expedite|(?:purchase|buy|buying|qualify|approved|"
        r"refinanc\w*|refi)\b[^.?!]{0,50}\b(?:home|house|mortgage|refi)|can ?not "
        r"(?:refinance|refi|pay|afford)|falling (?:farther|further) behind|every day|"
        r"daily|before (?:i|we) (?:lose|suffer)|days to (?:complete|close|pay)",
        # a request for speed ("I need this removed immediately", "please ... asap")
        r"(?<!you )(?<!they )(?:want|need|demand|demanding|request|requesting|please|must|"
        r"should(?! have)|asking|"
        r"ask|expect|needs to|has to|have to|would like|i'd like|appreciate|urge|insist|crucial|"
        r"imperative|essential|importance)"
        r"\b[^.?!]{0,120}\b(?:immediately|immediate|imm\w*tly|asap|as soon as possible|at once|"
        r"right away|straight away|(?<!as of )today|promptly|quickly|expedit\w*|without "
        r"(?:further |any )?delay|(?:no|any) further delays?)|"
        # an order to act now, opening the sentence ("Remove this immediately!")
        r"^(?:please )?(?:remove|delete|correct|fix|stop|resolve|credit|refund|respond|reply|"
        r"return|release|reverse)\b[^.?!]{0,80}\b(?:immediately|asap|as soon as possible|at once|"
        r"right away|without (?:further |any )?delay)|"
        # harm under way now: eviction, homelessness, a foreclosure hearing, time running out
        r"(?:about to be|will be|being|facing|face) (?:\w+ )?(?:evicted|eviction|homeless\w*|on "
        r"the street|foreclosure)|running out of time|(?:\w+ )?days? left (?:until|before|to)|"
        r"(?:foreclosure|court) (?:hearing|sale) (?:is )?(?:on|set|scheduled)|(?:sale|closing|"
        r"auction|hearing) (?:is )?scheduled for|(?:this|it) (?:is )?an? urgent (?:issue|matter|"
        r"situation|problem)|"
        # a home purchase, loan or refinance blocked now by this
        r"(?:preventing|stopping|keeping|holding up|blocking) (?:me|us|my \w+)\b[^.?!]{0,40}\b"
        r"(?:home|house|mortgage|refinanc\w*|refi|pre-?approv\w*|loan)|(?:can ?not|can't|unable "
        r"to|not able to) (?:even )?pay (?:my |our |the )?(?:\w+ )?bills|"
        # the customer's home purchase or refinance blocked or under way now
        r"applying for (?:a |the )?(?:\w+ )?mortgage|denied (?:a |an |the )?(?:\w+ )?mortgage|"
        r"(?:charging|charged|accru\w*)[^.?!]{0,30}(?:daily|every day|each day)|falling "
        r"(?:farther|further) behind|(?:trying|in the process of) (?:to )?refinanc\w*|before "
        r"(?:\w+ ){0,6}(?:default|delinquen\w*|foreclos\w*|late payment)|urgent(?:ly)? "
        r"(?:need|request|matter|attention|help|assistance)|(?:this|it) is urgent|\burgency\b|"
        r"foreclos\w* (?:\w+ ){0,3}(?:tomorrow|scheduled)|(?:sale|closing|foreclosure|auction|"
        r"eviction)\b[^.?!]{0,30}\btomorrow|"
        # a dated sale or closing of the customer's own property, not one merely mentioned
        r"(?:(?:i|we) (?:now )?(?:have|got|received)|my|our)\b[^.?!]{0,40}\b(?:sale|closing|"
        r"close|auction) date|(?:sale|closing|close) date (?:of|for|on|is|set for|scheduled "
        r"for|this) (?:xxxx|\d|my|our|next|this|tomorrow|today|monday|tuesday|wednesday|thursday|"
        r"friday|saturday|sunday)|auction date (?:is |this |of )?(?:tomorrow|today|this|next|monda"
        r"y|"
        r"tuesday|wednesday|thursday|friday|saturday|sunday)|(?:scheduled|set|served me) (?:a |the"
        r" |my |our )?(?:\w+ )?"
        r"(?:foreclosure |trustee'?s? |sheriff'?s? )?(?:sale|auction)\b[^.?!]{0,10}\b(?:for|on|"
        r"dated) (?:xxxx|\d)|^(?:foreclosure |auction |trustee'?s? |sheriff'?s? )+sale:? (?:on )?"
        r"(?:xxxx|\d)|(?:i|we) (?:\w+ )?(?:received|got) (?:a |the )?(?:note|notice) of "
        r"(?:the )?(?:trustee'?s? |sheriff'?s? )?sale|tight timeline|(?:so|before) (?:that )?"
        r"(?:i|we) can (?:purchase|buy|close|refinance|complete (?:the |my )?(?:\w+ )?"
        r"(?:refinanc\w*|purchase|closing)|(?:continue to )?pay (?:my |our )?bills)|"
        r"(?<!was )(?<!were )(?:can ?not|can't|unable to|not able to|could not|couldn't) "
        r"(?:\w+ ){0,2}(?:refinance|refi|be approved|get approved|qualify|purchase|"
        r"buy)\b|(?<!was )(?<!were )(?:can ?not|can't|unable to|not able to|difficulty|trouble) "
        r"(?:\w+ ){0,2}(?:obtain\w*|get\w*|secur\w*|proceed with|clos\w* on) (?:a |an |the |my |"
        r"our |another )?(?:\w+ ){0,2}(?:mortgage|home|house|refinanc\w*|refi)\b|"
        r"(?:refinanc\w*|refi|mortgage application|purchase of (?:my|our|the) home)\b[^.?!]{0,30}"
        r"\b(?:is |are )?(?:on hold|in jeopardy|at risk)|jeopardi[sz]\w* (?:\w+ ){0,3}(?:mortgage|"
        r"refinanc\w*|refi|home|closing)|(?:still )?(?:have not|haven't|not yet) closed on (?:my|"
        r"our|the) (?:\w+ )?(?:refinanc\w*|refi|loan|home|house|mortgage)|(?:refinanc\w*|refi|"
        r"closing|loan) deadline|(?:i|we)(?: \w+)? (?:am|are) (?:now )?(?:refinanc\w*|closing|"
        r"buying|purchasing)\b[^.?!]{0,30}\bclosing (?:\w+ ){0,3}(?:xxxx|tomorrow|next)|"
        r"(?:on|under) a (?:time limit|deadline)|time limit[^.?!]{0,60}\b(?:expire|run out)|"
        r"(?:can ?not|can't|unable to|not able to|won't be able to|will not be able to) (?:even )?"
        r"(?:access|use|get to|touch) (?:my|our) (?:own )?(?:money|funds|account|paycheck)|"
        r"(?<!was )(?<!were )(?:can ?not|can't|unable to|not able to) (?:even )?"
        r"(?:pay|make|feed) (?:my |our |the )?(?:\w+ )?(?:rent|electric\w*|utilit\w*|bills?|"
        r"payments?|mortgage|famil\w+|kids|children)|(?:no ?where|nowhere|no place) to (?:go|live|"
        r"stay)|out of a place to live|(?:will|going to) be homeless|(?:payment|rent|mortgage)\b"
        r"[^.?!]{0,20}\bis due (?:tomorrow|today)|(?:i|we)(?:'m|'re| am| are| have been)? (?:curre"
        r"ntly |now |just )?(?:trying|"
        r"looking|planning|hoping|attempting|about|ready|preparing|applying) to (?:\w+ ){0,2}"
        r"(?:purchase|buy|qualify|close on|get approved)|(?:currently|now) (?:trying|looking|"
        r"planning|attempting) to (?:purchase|buy)|(?:in the process of|final process of|trying "
        r"to) (?:\w+ )?(?:getting|get|refinanc\w*|buying|purchasing|purchase|buy)\b[^.?!]{0,40}"
        r"\b(?:home|house|mortgage|refi)|days to (?:complete|close)",
    ),
}

_NEGATOR = (
    r"\b(?:not|no|never|nothing|neither|nor|without|cannot|don't|doesn't|didn't|won't|"
    r"wouldn't|can't|isn't|wasn't|aren't|weren't|haven't|hasn't|shouldn't)\b"
)
_NEGATED = re.compile(rf"{_NEGATOR}(?:\W+\w+){{0,4}}\W*$")
_REPORTED = re.compile(
    r"\b(?:they|them|he|she|it|rep|reps|agent|representative|supervisor|manager|bank|company|"
    r"lender|servicer|collector|caller|someone|staff|advisor|customer service|csr|associate|"
    r"specialist|operator|lady|gentleman)\b"
    r"[^.?!]{0,60}\b(?:said|say|says|told|tell|stated|states|advised|promised|assured|"
    r"offered|agreed|claimed|informed|indicated|confirmed|responded|replied|wrote|saying|"
    r"asking|demanding|demanded|threaten\w*|insisted|stating|telling|claiming|claims)\b|"
    r"\b(?:was|were|been|am|are|being) (?:\w+ )?(?:told|advised|informed|assured|promised|"
    r"offered|asked)\b|\b(?:letters?|notices?|e-?mails?|messages?|statements?|voice ?mails?)\b"
    r"[^.?!]{0,40}\b(?:stating|saying|says|said|stated|that said)\b"
)
_POLICY_QUESTION = re.compile(
    r"^\W*(?:why|what|is|are|does|do|did|was|were|when|where|who|which|isn't|shouldn't|"
    r"should|has|have)\b[^?]*\?\W*$"
)
_IF_CLAUSE = re.compile(r"\b(?:if|whether|unless|had i|would have)\b[^,;:]*$")
# The subject of a cue right after "if": "... agreed to lower the rate if I paid on time".
_IF_SUBJECT = re.compile(r"\b(?:if|whether|unless)\W*$")
# A clause opened by these continues the sentence before it (a report stays a report):
# "the rep said it was posted because | I was such a good customer".
_SUBORDINATE = re.compile(r"\b(?:because|that|as|since|when|while|so that)\W*$")
_FIRST_PERSON = re.compile(r"\b(?:i|we|me|my|our|us)\b")
_ASK = re.compile(
    r"\b(?:i|we)(?: \w+){0,2} (?:want|would like|wish|need|expect|demand|request|"
    r"am requesting|am asking|ask|asked|deserve|seek|insist)\b|\bplease\b|\bi'd like\b"
)
# A card cancelled over fraud, loss or a replacement is no wish to leave.
_CARD_TROUBLE = re.compile(
    r"\b(?:fraud\w*|stolen|lost|compromised|replac\w*|new card|unauthori[sz]ed|identity theft)\b"
)
# A sale already held is no deadline ahead: "they sold the house at the sale on XX/XX/XXXX".
_PAST_SALE = re.compile(
    r"\b(?:sold|was held|were held|took place|went through|was conducted|was completed)\b"
    r"[^.?!]{0,60}\b(?:sale|auction)\b|\b(?:sale|auction)\b[^.?!]{0,40}\b(?:was held|took "
    r"place|went through|happened|occurred|was completed)\b"
)
_AHEAD = re.compile(
    r"\b(?:tomorrow|next|upcoming|again|will|going to|now scheduled|rescheduled|scheduling|"
    r"another)\b"
)
# "I paid on time until I lost my job": the record ends in the lapse the letter is about.
_LAPSE = re.compile(r"\b(?:on ?time|timely)\b(?:\W+\w+){0,3}?\W+(?:up )?until\b")
_FORMULA = re.compile(
    r"(?:thank|thanks|appreciate)[^.?!]{0,60}(?:(?:immediate|prompt|quick|timely) "
    r"(?:attention|response|consideration)|(?:attention|consideration) to this (?:urgent|"
    r"important) matter)"
)

# A gap word inside a cue ("I ... want", "get the ... fees reversed") is never a negator:
# "I did not ask to waive it" holds no voiced cue.
_GAP_WORD = r"(?!(?:not|never|no|don't|didn't|won't|wouldn't|cannot|can't)\b)[\w']+"


def _with_guarded_gaps(pattern: str) -> str:
    return pattern.replace(r"(?: \w+)", rf"(?: {_GAP_WORD})").replace(
        r"(?:\w+ )", rf"(?:{_GAP_WORD} )"
    )


_COMPILED = {
    intent: (re.compile(_with_guarded_gaps(cue)), re.compile(_with_guarded_gaps(strong)))
    for intent, (cue, strong) in _CUES.items()
}

#: Per intent, its broad vocabulary: the words any voicing of it is likely to use, however
#: worded ("I disputed the charge", "I want out", "20 years a customer", "closing is on
#: XXXX"). Unlike a cue it says nothing by itself; in a letter it lets a span be heard at a
#: higher probability than a strong cue needs (the detector's ``with_vocab`` tier), where no
#: guard cancels it. Each intent's cue (above) counts as its vocabulary too.
_VOCABULARY: dict[str, str] = {
    "compensation": (
        r"refund\w*|reimburs\w*|credit\w*|money|funds|owe[ds]?\b|owing|waiv\w*|fees?\b|"
        r"charges?\b|charged|disput\w*|charge ?backs?|revers\w*|compensat\w*|back\b"
    ),
    "leaving": (
        r"clos(?:e|ed|ing|ure)\b|cancel\w*|switch\w*|another|different|elsewhere|\bout\b|"
        r"leav(?:e|ing)\b|never again|anymore|any more|no longer|business with|move[ds]?\b|"
        r"moving|transfer\w*|refinanc\w*"
    ),
    "recognition": (
        r"years?\b|customer|member|client|loyal\w*|never (?:\w+ )?(?:late|missed?)|on ?time|"
        r"always|history|standing|since (?:xxxx|(?:19|20)\d\d)|respect\w*"
    ),
    "urgency": (
        r"dates?\b|deadline|closing|clos(?:e|ed) on|eviction|evict\w*|foreclos\w*|"
        r"immediate\w*|asap|as soon as possible|soon|urgent\w*|emergency|tomorrow|today|"
        r"days?\b|weeks?\b|right away|time|expire\w*|sale|auction|purchas\w*|buy\w*|"
        r"refinanc\w*|homeless"
    ),
}
_VOCABULARY_COMPILED = {
    intent: re.compile(rf"\b(?:{_VOCABULARY[intent]})|{_with_guarded_gaps(_CUES[intent][0])}")
    for intent in INTENTS
}

#: Columns of :func:`voicing_features`.
VOICING_FEATURE_NAMES = (
    *(
        f"{intent}_{kind}"
        for intent in INTENTS
        for kind in ("cue", "voiced", "strong", "voiced_ask", "voiced_first_person")
    ),
    "first_person",
    "ask",
    "negated_any",
    "reported_any",
    "policy_question",
)

_CONTRACTION = re.compile(r"(\w) +(n't|'m|'ve|'s|'re|'d|'ll)\b")
_MASK = re.compile(r"\bx{2,}(?:/x{2,})*\b|\{\$[\d.,]+\}")


def normalise(text: str) -> str:
    """Lower case, straight quotes, joined contractions ("do n't" -> "don't"), masks
    (``XXXX``, ``XX/XX/XXXX``, ``{$12.00}``) reduced to ``xxxx``, spaces collapsed."""
    s = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    s = _CONTRACTION.sub(r"\1\2", s)
    s = _MASK.sub("xxxx", s)
    return " ".join(s.split())


def _guarded(s: str, start: int) -> tuple[bool, bool, bool]:
    """(negated, reported, hypothetical) for a cue starting at ``start`` of ``s``.

    A cue that opens with its own first-person subject ("I'm cancelling ...") starts a
    main clause: a negation or an ``if`` before it belongs to another clause ("If this
    isn't fixed by Friday I'm cancelling"); negations inside such a cue are excluded by
    the cue itself (its gap words are never negators)."""
    before = s[:start]
    main_clause = s.startswith(("i ", "i'", "we ", "we'"), start)
    return (
        not main_clause and _NEGATED.search(before) is not None,
        _REPORTED.search(before) is not None,
        _IF_SUBJECT.search(before) is not None
        or (not main_clause and _IF_CLAUSE.search(before) is not None),
    )


def _unguarded(pattern: re.Pattern[str], s: str) -> bool:
    """Whether ``pattern`` matches the normalised span ``s`` at least once where no guard
    (:func:`_guarded`: negation, reported speech, ``if``) cancels it."""
    return any(not any(_guarded(s, m.start())) for m in pattern.finditer(s))


def cancelled_by_context(before: str, clause: str) -> bool:
    """Whether the words of a sentence ``before`` one of its clauses cancel the clause's
    cues, which the clause scored alone cannot see: the clause is the body of an ``if``
    ("... agreed to lower the rate if | I paid the first two years on time"), or the
    sentence reported someone else's words before it and the clause does not start a main
    clause of the customer's own ("the agent said the payment would not count and | my
    account was in good standing"; "the rep said it posted because | I was a good
    customer"; but "they said it was fixed, but | I want my money back" stands)."""
    b, c = normalise(before), normalise(clause)
    if _IF_SUBJECT.search(b) is not None:
        return True
    if c.startswith(("i ", "i'", "we ", "we'")) and _SUBORDINATE.search(b) is None:
        return False
    return _REPORTED.search(b) is not None


def _vetoed(s: str, intent: str) -> bool:
    """Whether the normalised span's context rules the intent out whatever its cues:
    a formulaic closing for urgency, card trouble (fraud, loss) for leaving, a record of
    paying on time that ran "until" a lapse for recognition."""
    if intent == "urgency":
        return _FORMULA.search(s) is not None or (
            _PAST_SALE.search(s) is not None and _AHEAD.search(s) is None
        )
    if intent == "leaving":
        return _CARD_TROUBLE.search(s) is not None
    if intent == "recognition":
        return _LAPSE.search(s) is not None
    return False


# A dispute or claim whose object is not named as money or a charge: "I filed a dispute"
# may be a credit-report dispute (not compensation) as well as a card dispute (compensation).
_DISPUTE = re.compile(r"\bdisput\w*|\bclaims?\b")
_MONEY_OBJECT = re.compile(
    r"\b(?:refund\w*|reimburs\w*|money|funds|charges?|charged|transactions?|withdrawals?|fees?|"
    r"purchases?|merchant|payments?|deposit|cost|amount|back|credit(?:ed)? (?:back|my|me|to))\b|\$"
)


def ambiguous(spans: Sequence[str]) -> np.ndarray:
    """(len(spans), len(INTENTS)) booleans: the span's words for the intent are too open to
    be heard without a strong cue. Compensation: a dispute or claim that names no money or
    charge ("I filed a dispute" may be a credit-report dispute). The detector's probability
    arm may not claim such a span (a strong cue still may)."""
    out = np.zeros((len(spans), len(INTENTS)), dtype=bool)
    j = INTENTS.index("compensation")
    for k, span in enumerate(spans):
        s = normalise(span)
        if _DISPUTE.search(s) is not None and _MONEY_OBJECT.search(span.lower()) is None:
            out[k, j] = True
    return out


def vocabulary_voiced(spans: Sequence[str]) -> np.ndarray:
    """(len(spans), len(INTENTS)) booleans: the intent's vocabulary (:data:`_VOCABULARY` or
    its cue) occurs in the span at least once where no guard cancels it (negation, reported
    speech, ``if``), the span is no policy question and its context does not rule the intent
    out (:func:`_vetoed`)."""
    out = np.zeros((len(spans), len(INTENTS)), dtype=bool)
    for k, span in enumerate(spans):
        s = normalise(span)
        if _POLICY_QUESTION.search(s) is not None:
            continue
        for j, intent in enumerate(INTENTS):
            out[k, j] = not _vetoed(s, intent) and _unguarded(_VOCABULARY_COMPILED[intent], s)
    return out


def voiced(span: str, intent: str) -> bool:
    """Whether ``span`` holds a strong cue of ``intent`` that no guard cancels."""
    s = normalise(span)
    if _POLICY_QUESTION.search(s) or _vetoed(s, intent):
        return False
    return _unguarded(_COMPILED[intent][1], s)


def _row(span: str) -> list[float]:
    s = normalise(span)
    question = _POLICY_QUESTION.search(s) is not None
    first_person = _FIRST_PERSON.search(s) is not None
    ask = _ASK.search(s) is not None
    row: list[float] = []
    negated_any = reported_any = False
    for intent in INTENTS:
        cue_re, strong_re = _COMPILED[intent]
        cue = voiced_cue = strong = False
        for m in cue_re.finditer(s):
            cue = True
            negated, reported, hypothetical = _guarded(s, m.start())
            negated_any |= negated
            reported_any |= reported
            voiced_cue |= not (negated or reported or hypothetical)
        if not question:
            strong = _unguarded(strong_re, s)
        voiced_cue = (voiced_cue and not question) or strong
        if _vetoed(s, intent):
            voiced_cue = strong = False
        row += [
            float(cue),
            float(voiced_cue),
            float(strong),
            float(voiced_cue and ask),
            float(voiced_cue and first_person),
        ]
    return row + [
        float(first_person),
        float(ask),
        float(negated_any),
        float(reported_any),
        float(question),
    ]


def voicing_features(spans: Sequence[str]) -> np.ndarray:
    """(len(spans), len(VOICING_FEATURE_NAMES)) 0/1 features of each span.

    Per intent: ``cue`` (its vocabulary appears), ``voiced`` (a cue no guard cancels),
    ``strong`` (a strong cue no guard cancels), and ``voiced`` together with a request
    frame ("I want", "please") or a first-person word; then the span's ``first_person``,
    ``ask``, ``negated_any``, ``reported_any`` and ``policy_question`` flags.
    """
    if not spans:
        return np.zeros((0, len(VOICING_FEATURE_NAMES)))
    return np.asarray([_row(x) for x in spans], dtype=np.float64)


def signature() -> str:
    """A string that changes whenever a cue or guard pattern changes (a cache key)."""
    patterns = [c for pair in _CUES.values() for c in pair]
    patterns += [
        p.pattern
        for p in (
            _NEGATED,
            _REPORTED,
            _POLICY_QUESTION,
            _IF_CLAUSE,
            _IF_SUBJECT,
            _SUBORDINATE,
            _ASK,
        )
    ]
    return "\n".join(
        [
            *patterns,
            _FORMULA.pattern,
            _CARD_TROUBLE.pattern,
            _LAPSE.pattern,
            _PAST_SALE.pattern,
            _AHEAD.pattern,
            _DISPUTE.pattern,
            _MONEY_OBJECT.pattern,
            *VOICING_FEATURE_NAMES,
            *_VOCABULARY.values(),
        ]
    )
