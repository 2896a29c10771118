"""What every specialist's offline behaviour recognises in the customer's words: a person, a ticket, anger,
thanks that close the conversation, a general question."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from apps.agents.offline.slots import extract_order_numbers

if TYPE_CHECKING:
    from apps.agents.specialists.local_common import Turn


# -- what every specialist recognises -----------------------------------------------------------
_HUMAN_RE = re.compile(
    r"\b(?:human|real person|a person|someone real|live agent|an agent|representative|operator|supervisor|manager|"
    r"speak to (?:someone|somebody)|talk to (?:someone|somebody))\b",
    re.IGNORECASE,
)
TICKET_RE = re.compile(
    r"\b(?:open|create|file|raise|log|submit|make)\s+(?:a\s+|an\s+)?(?:support\s+)?(?:ticket|case|complaint)\b"
    r"|\bticket\b",
    re.IGNORECASE,
)
_ANGER_RE = re.compile(
    r"\b(?:ridiculous|unacceptable|furious|outrageous|disgusting|pathetic|useless|scam|worst|terrible service|"
    r"fed up|sick of|angry|livid|awful service|joke of a)\b",
    re.IGNORECASE,
)
_THANKS_RE = re.compile(
    r"^\W*(?:thanks?|thank you|thx|ty|cheers|great|perfect|ok(?:ay)?|cool|got it)\b[\w\s!.,]*$", re.I
)


_QUESTION_RE = re.compile(
    r"^\W*(?:how|what|when|where|which|why|who|do|does|did|can|could|is|are|will|would|should)\b", re.IGNORECASE
)
_PERSONAL_RE = re.compile(
    r"\b(?:my|mine|me)\b|\bi(?:'ve| have)? (?:ordered|bought|paid|received|got|returned|sent)\b|"
    r"\bdo i have\b(?! to)|\bhave i\b|\bdid i\b|\bwas i\b",
    re.IGNORECASE,
)


def is_general_question(t: Turn) -> bool:
    """A question about the shop's policies, not about this customer's orders: the help center answers it."""
    return (
        bool(_QUESTION_RE.search(t.text))
        and not _PERSONAL_RE.search(t.text)
        and not extract_order_numbers(t.text)
        and not t.answering_us
    )


def wants_human(text: str) -> bool:
    return bool(_HUMAN_RE.search(text))


def wants_ticket(text: str) -> bool:
    return bool(TICKET_RE.search(text))


def is_angry(text: str) -> bool:
    """Words of anger ("ridiculous", "fed up"). Capitals alone are not: "WHERE DO I CHANGE MY PASSWORD" asks a
    question to answer, and a request for a person is an explicit one (`wants_human`), never an emotion."""
    return bool(_ANGER_RE.search(text))


# What may follow a thanks in a closing message ("thanks, that's all", "ok great thank you so much"): anything
# else ("ok and wheres the day pack") is a new request that only starts politely.
_CLOSING_WORDS = frozenset(
    [
        "thanks",
        "thank",
        "you",
        "thx",
        "ty",
        "cheers",
        "great",
        "perfect",
        "ok",
        "okay",
        "cool",
        "got",
        "it",
        "that's",
        "thats",
        "all",
        "so",
        "much",
        "very",
        "lot",
        "a",
        "for",
        "the",
        "help",
        "helping",
        "your",
        "bye",
        "goodbye",
        "have",
        "nice",
        "day",
        "good",
        "lovely",
        "brilliant",
        "awesome",
        "amazing",
        "fine",
        "sounds",
        "will",
        "do",
        "noted",
        "appreciate",
        "appreciated",
        "i",
        "understood",
        "super",
    ]
)


def is_thanks(text: str) -> bool:
    """A message that only thanks or closes the conversation."""
    if not (_THANKS_RE.match(text.strip()) and len(text) < 60):
        return False
    return all(w in _CLOSING_WORDS for w in re.findall(r"[a-z']+", text.lower().replace("’", "'")))
