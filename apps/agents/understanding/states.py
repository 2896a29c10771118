"""States a customer names an order by instead of its number: "the one that hasn't shipped", "the cancelled one",
"the stuff i sent back", "the order where my payment failed", "the package the courier couldn't deliver"
(`references.resolve_order`). Each cue names the order states it means, or the states of the order's latest payment
or parcel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from apps.agents.understanding.order_facts import OrderFacts


@dataclass(frozen=True)
class StateCue:
    """A state the customer names an order by: the order states it means, or its latest payment's states."""

    pattern: re.Pattern[str]
    label: str
    states: frozenset[str] = frozenset()
    payment_states: frozenset[str] = frozenset()
    shipment_states: frozenset[str] = frozenset()

    def fits(self, order: OrderFacts) -> bool:
        return (
            order.status in self.states
            or order.payment_status in self.payment_states
            or order.shipment_status in self.shipment_states
        )


# Every state an order reaches once it was delivered (a return or an exchange asked for since included).
_DELIVERED = frozenset(
    {"delivered", "partially_returned", "return_requested", "exchange_requested", "returned", "exchanged"}
)
_SENT_BACK = frozenset({"return_requested", "exchange_requested", "returned", "partially_returned", "exchanged"})
_NOT = r"(?:has ?n[o']?t|have ?n[o']?t|not(?: yet)?|never|isn'?t|wasn'?t|still not|yet to)"

# First match wins: the more particular states first.
STATE_CUES: tuple[StateCue, ...] = (
    StateCue(
        re.compile(r"\b(?:my|the|a|that) pending (?:order|one|purchase)\b|\bpending order\b", re.I),
        "pending",
        frozenset({"pending"}),
    ),
    StateCue(
        re.compile(
            rf"\b{_NOT} (?:been )?(?:yet )?(?:shipped|sent|dispatched|gone out|left)\b|\bnot (?:shipped|sent) yet\b|"
            r"\bstill (?:pending|processing)\b|\b(?:pending|processing) one\b|\bunshipped\b",
            re.I,
        ),
        "not shipped yet",
        frozenset({"pending", "processing"}),
    ),
    StateCue(
        re.compile(
            # said of an order ("the one that hasn't arrived yet"), not of "it" ("where is my package? it still hasn't
            # arrived" is what a tracking question says anyway)
            rf"\b(?:that|which|one|ones|order|orders|stuff|things?) (?:still )?{_NOT} (?:been )?(?:yet )?"
            r"(?:arrived|come|delivered|shown up|turned up|got here|gotten here)\b|"
            r"\b(?:one|ones|order|orders|stuff|things?) not (?:arrived|delivered|here) yet\b",
            re.I,
        ),
        "not arrived yet",
        frozenset({"pending", "processing", "shipped"}),
    ),
    StateCue(
        re.compile(
            r"\b(?:payment|card|charge) (?:has |had |got |was )?(?:failed|declined|bounced)\b|"
            r"\bfailed (?:payment|charge)\b|\bpayment (?:didn'?t|did not) go through\b",
            re.I,
        ),
        "payment failed",
        payment_states=frozenset({"failed"}),
    ),
    StateCue(
        re.compile(
            r"\bdelivery (?:exception|problem|failed)\b|\b(?:failed|missed) delivery\b|\bheld at (?:the |a )?depot\b|"
            # not "my address is wrong": that is a change of address, of any order not shipped yet
            r"\b(?:courier|carrier|driver|ups|fedex|usps|dhl) (?:says|said|couldn'?t|could not|can'?t|cannot)\b",
            re.I,
        ),
        "delivery problem",
        shipment_states=frozenset({"exception"}),
    ),
    StateCue(
        re.compile(
            r"\b(?:on (?:its|the) way|in transit|out for delivery|(?:that|which|one|ones) (?:has |was )?shipped)\b",
            re.I,
        ),
        "on its way",
        frozenset({"shipped"}),
    ),
    StateCue(
        re.compile(
            r"\b(?:that|which|one|ones) (?:was |got |has been |were )?(?:delivered|arrived|came)\b|\bthe delivered\b",
            re.I,
        ),
        "delivered",
        _DELIVERED,
    ),
    StateCue(
        re.compile(r"\bcancel+ed (?:one|order)\b|\bthe cancel+ed\b|\b(?:then|i|was|got|been|you) cancel+ed\b", re.I),
        "cancelled",
        frozenset({"cancelled"}),
    ),
    StateCue(
        re.compile(
            r"\b(?:my|the|an|that) exchange\b(?! (?:for|it|them|this|that|policy))|\bexchanged (?:one|order)\b|"
            r"\b(?:one|order) i exchanged\b|"
            # "the one i'm swapping for a bigger size": an exchange said with its verb
            r"\b(?:one|order|thing)s? (?:that )?(?:i'?m|i am|i was|we'?re) (?:swapping|exchanging)\b",
            re.I,
        ),
        "exchange",
        frozenset({"exchange_requested", "exchanged"}),
    ),
    StateCue(
        re.compile(r"\breturn label\b", re.I), "return label", frozenset({"return_requested", "exchange_requested"})
    ),
    StateCue(
        re.compile(
            r"\b(?:the )?(?:one|order|stuff|things?|items?|parcel|package) i "
            r"(?:sent back|returned|shipped back|mailed back)\b|"
            r"\breturned (?:one|order)\b",
            re.I,
        ),
        "sent back",
        _SENT_BACK,
    ),
    StateCue(
        re.compile(
            r"\b(?:one|order|stuff|thing|purchase)s? (?:that )?(?:you|you've|you have|was|were|got|that got|has been) "
            r"(?:already )?refunded\b|\brefunded (?:one|order)\b|"
            # "the order you already gave me money back for": a refund said in other words
            r"\b(?:gave|given|paid|sent) me (?:my |the |some )?money back\b|\b(?:got|had) (?:my |some )?money back\b",
            re.I,
        ),
        "refunded",
        frozenset({"returned", "partially_returned"}),
        frozenset({"refunded", "partially_refunded"}),
    ),
)
