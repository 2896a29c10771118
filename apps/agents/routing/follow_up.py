"""What a message is to the conversation so far: a follow-up that only continues the current topic, an answer to
the question the bot just asked, or a short reference back ("what about the other one?"). Read by the router
(`router.route_message`) before and beside the classifier.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from apps.agents.confirmation import extract_confirmation
from apps.agents.offline.slots import extract_emails, extract_order_numbers, extract_quantity
from apps.agents.routes import HistoryTurn

MAX_HISTORY_TURNS = 6


# --- follow-up detection ----------------------------------------------------

_TOKEN_RE = re.compile(r"[a-z0-9']+")
_ACK_WORDS = frozenset(
    [
        "ok",
        "okay",
        "k",
        "kk",
        "thanks",
        "thank",
        "you",
        "thx",
        "ty",
        "cheers",
        "great",
        "cool",
        "perfect",
        "nice",
        "awesome",
        "got",
        "it",
        "alright",
        "right",
        "understood",
        "noted",
        "fine",
        "good",
        "sounds",
        "lovely",
        "brilliant",
    ]
)
_SLOT_FILLER = frozenset(
    [
        "it's",
        "its",
        "it",
        "is",
        "my",
        "the",
        "order",
        "number",
        "no",
        "nr",
        "num",
        "email",
        "e-mail",
        "mail",
        "address",
        "here",
        "this",
        "that",
        "is",
        "was",
        "and",
        "for",
        "of",
        "a",
        "an",
        "both",
        "all",
        "them",
    ]
)
# Words and phrases that point back at what was just discussed.
_ANAPHORA_RE = re.compile(
    r"\b(?:it|that|them|those|these|they|same|the other|another one|this one|that one|"
    r"what about|how about|and the|ones?)\b"
)


def _tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text.lower().replace("’", "'"))


def follow_up_kind(text: str) -> str | None:
    """Why `text` only continues the current topic ("confirmation", "acknowledgement", "slot"), or None."""
    tokens = _tokens(text)
    # "no, I want a person" is a new request, not an answer: only a short yes/no is a pure follow-up.
    if len(tokens) <= 4 and extract_confirmation(text) is not None:
        return "confirmation"
    if tokens and len(tokens) <= 5 and all(t in _ACK_WORDS for t in tokens):
        return "acknowledgement"
    stripped = text
    for number in extract_order_numbers(text):
        stripped = re.sub(re.escape(number[3:]), " ", stripped)
    for email in extract_emails(text):
        stripped = re.sub(re.escape(email), " ", stripped, flags=re.IGNORECASE)
    rest = [t for t in _tokens(stripped) if t not in _SLOT_FILLER and t != "tw"]
    if (extract_order_numbers(text) or extract_emails(text)) and not rest:
        return "slot"
    if extract_quantity(text) is not None and len(tokens) <= 3:
        return "slot"
    return None


# Below this, an out_of_scope verdict on a reply to the bot's own question is more likely an
# answer the examples never saw ("I changed my mind", a bare street address) than a new topic;
# genuinely unrelated requests ("play some jazz") score 0.99+.
ANSWER_OUT_OF_SCOPE_CEILING = 0.97


_LISTED_CHOICES_RE = re.compile(r"(?:\n\s*(?:[-*•]|\d+[.)])\s[^\n]*)+\s*$")


def bot_just_asked(history: Sequence[Any] | None) -> bool:
    """The last reply's last paragraph asks something, before the choices it lists ("Which order is it for? These
    can still be returned:\n- TW-1...") or how to answer it."""
    turns = coerce_history(history)
    if not turns or turns[-1].role not in {"assistant", "staff"}:
        return False
    asked = _LISTED_CHOICES_RE.sub("", turns[-1].text.rstrip()).rstrip()
    # "Which order is it for? These can still be returned:" introduces the choices of its question; "What's the new
    # address? Please write it as: ..." says how to answer it.
    return "?" in asked.rsplit("\n", 1)[-1]


def is_short_anaphoric(text: str) -> bool:
    tokens = _tokens(text)
    return 0 < len(tokens) <= 7 and _ANAPHORA_RE.search(" ".join(tokens)) is not None


# --- history ----------------------------------------------------------------


def coerce_history(history: Sequence[Any] | None) -> tuple[HistoryTurn, ...]:
    """Accept HistoryTurn, mappings {role, text|content} or (role, text) pairs."""
    turns: list[HistoryTurn] = []
    for item in history or ():
        if isinstance(item, HistoryTurn):
            turns.append(item)
        elif isinstance(item, Mapping):
            turns.append(HistoryTurn(str(item.get("role", "")), str(item.get("text", item.get("content", "")))))
        elif isinstance(item, tuple) and len(item) == 2:
            turns.append(HistoryTurn(str(item[0]), str(item[1])))
        else:
            turns.append(HistoryTurn(str(getattr(item, "role", "")), str(getattr(item, "text", ""))))
    return tuple(turns[-MAX_HISTORY_TURNS:])
