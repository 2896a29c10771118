"""The one yes/no classifier: the pending write actions, the router and the local model read answers with it.

Deterministic (never the model's word). `classify_confirmation` decides whether a
held `write` runs: the message is split into short clauses ("Yes, please go
ahead." -> "yes", "please go ahead"), fillers ("thanks") are dropped, and every
clause must agree. A "yes" next to anything else ("yes but change the address")
is unclear, and an unclear answer never runs an action. The one exception is a
yes that restates the pending action's own verb, as the write tool declares it
(`write_tool(confirm_verbs=...)`): "yes, cancel it" confirms `cancel_order` but
not `change_shipping_address`.

`extract_confirmation` is the same reading as a polarity for the router's
"is this just an answer?" check and the local model: True for a yes, False for a
no or any message that starts with one (declining is always safe), else None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Any


class Confirmation(StrEnum):
    YES = "yes"
    NO = "no"
    UNCLEAR = "unclear"


_YES_PHRASES = (
    r"y|yes|yeah|yea|yep|yup|ya|sure|ok|okay|k|confirm|confirmed|i confirm|correct|right|please do|do it|"
    r"go ahead|go for it|proceed|absolutely|definitely|of course|please|that'?s right|that is right|that'?s correct|"
    r"sounds good|affirmative|approved?|i do|let'?s do it|that'?s fine|fine|alright|all right"
)
_NO_PHRASES = (
    r"n|no|nope|nah|no thanks|no thank you|cancel|cancel it|don'?t|don'?t do it|do not|stop|never ?mind|wait|"
    r"hold on|not now|not yet|abort|negative|forget it|leave it"
)
# One or more phrases in a row: "yes please do it", "no don't".
_YES = re.compile(rf"^(?:{_YES_PHRASES})(?: (?:{_YES_PHRASES}))*$")
_NO = re.compile(rf"^(?:{_NO_PHRASES})(?: (?:{_NO_PHRASES}))*$")
_NEGATION = re.compile(r"\b(?:no|not|don'?t|do not|never|cancel|stop|wait)\b")
_FILLER = {"thanks", "thank you", "thx", "please", "pls", "ty"}
_EMOJI = {"👍": " yes ", "👎": " no "}
_MAX_CLAUSES = 4
# Answer words with two adjacent letters typed in the wrong order ("yse", "yaeh", "suer", "npoe") are
# still that word: the commonest slip of a fast thumb. Only words of three letters or more, so "on" stays "on".
_TRANSPOSABLE = ("yes", "yeah", "yep", "yup", "sure", "okay", "nope", "confirm", "proceed")


def _transpositions(word: str) -> set[str]:
    return {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1) if word[i] != word[i + 1]}


_UNTRANSPOSED = {typo: word for word in _TRANSPOSABLE for typo in _transpositions(word)}


def _untranspose(clause: str) -> str:
    return " ".join(_UNTRANSPOSED.get(word, word) for word in clause.split(" "))


def _clauses(text: str) -> list[str]:
    cleaned = text.lower().replace("’", "'")
    for emoji, word in _EMOJI.items():
        cleaned = cleaned.replace(emoji, word)
    clauses = [re.sub(r"[^a-z' ]+", " ", c) for c in re.split(r"[.,!?;:\n]+|\s+-\s+", cleaned)]
    clauses = [_untranspose(re.sub(r"\s+", " ", c).strip()) for c in clauses]
    clauses = [re.sub(r"(?: (?:thanks|thank you|thx|ty))+$", "", c) for c in clauses]
    return [c for c in clauses if c and c not in _FILLER]


def _restatement(verbs: Sequence[str]) -> re.Pattern[str] | None:
    if not verbs:
        return None
    alternatives = "|".join(re.escape(v) for v in verbs)
    obj = r"(?: (?:it|that(?: one)?|this(?: one)?|them|both|(?:the|my) [a-z']+(?: [a-z']+)?))?"
    return re.compile(rf"^(?:please )?(?:{alternatives}){obj}(?: (?:now|please|then))?$")


def _is_yes(clause: str) -> bool:
    return bool(_YES.match(clause)) and not _NEGATION.search(clause)


def _yes_then_restated(clause: str, restated: re.Pattern[str]) -> bool:
    """One clause like "yes cancel it": a yes followed by the pending action's own verb."""
    words = clause.split(" ")
    return any(_is_yes(" ".join(words[:i])) and restated.match(" ".join(words[i:])) for i in range(1, len(words)))


# "yes to both", "both please", "do all of them": a yes to every action of a set held together.
_ALL_OF_THEM = re.compile(
    rf"^(?:(?:{_YES_PHRASES}) )?(?:to |do |for )?(?:both|all|all of them|both of them|them all|all three|"
    r"everything|the lot)(?: of them)?(?: please| thanks)?$"
)


def classify_confirmation(
    text: str, *, tool_name: str = "", verbs: Sequence[str] | None = None, together: bool = False
) -> Confirmation:
    """A clear yes, a clear no, or unclear (see the module docstring).

    `verbs`: the pending action's own verbs; by default those the write tool `tool_name` declares. `together`:
    several actions wait for this one answer, so "yes to both" / "both please" say yes to all of them.
    """
    clauses = _clauses(text)
    if together:
        clauses = ["yes" if _ALL_OF_THEM.match(c) else c for c in clauses]
    if not clauses or len(clauses) > _MAX_CLAUSES:
        return Confirmation.UNCLEAR
    if all(_is_yes(c) for c in clauses):
        return Confirmation.YES
    write_tools = _write_tools()
    if verbs is None and tool_name:
        spec = write_tools.get(tool_name)
        verbs = spec.confirm_verbs if spec is not None else ()
    restated = _restatement(verbs or ())
    if restated is not None and (
        (_is_yes(clauses[0]) and all(_is_yes(c) or restated.match(c) for c in clauses[1:]))
        or (len(clauses) == 1 and _yes_then_restated(clauses[0], restated))
    ):
        return Confirmation.YES
    if all(_NO.match(c) for c in clauses):
        return Confirmation.NO
    # Sentence forms the phrase lists do not cover ("sure go ahead", "no, wait, keep it", "actually don't"): the
    # learned reader decides (apps.agents.understanding.confirmation); a yes with a condition, or one naming
    # another action's verb, stays unclear.
    from apps.agents.understanding.confirmation import confirm_pending

    others = tuple(v for spec in write_tools.values() for v in spec.confirm_verbs)
    return Confirmation(confirm_pending(text, own_verbs=tuple(verbs or ()), other_verbs=others).value)


# What a request after a no starts with: a question, or a verb asking for something ("no. where are my trail
# runners instead?", "no, cancel the other one"); a reason for the no ("i'll be home after all") is not one.
_REQUEST_START = re.compile(
    r"^(?:where|what|whats|when|how|why|which|who|can|could|would|will|is|are|do|does|did|please|pls|send|show|"
    r"track|check|tell|email|cancel|change|return|refund|give|list|update)\b"
)


def request_after_decline(text: str) -> str:
    """The request that follows a leading no in `text` (the clauses after the first), or "" when there is none."""
    parts = [p.strip() for p in re.split(r"(?<=[.,!?;:])\s+|\s+-\s+", text.strip()) if p.strip()]
    if len(parts) < 2 or not _NO.match(_clauses(parts[0])[0] if _clauses(parts[0]) else ""):
        return ""
    rest = " ".join(parts[1:]).strip()
    words = _clauses(rest)
    if not words or all(_NO.match(c) or _is_yes(c) for c in words):
        return ""
    return rest if rest.endswith("?") or _REQUEST_START.match(words[0]) else ""


def answer_and_request(text: str, pieces: Sequence[str]) -> tuple[str, str]:
    """A message that answers and then asks something new, cut where the request splitter cut it (`pieces`:
    `planner.split_pieces(text)`): "yes. and where are my trail runners at?" -> ("yes.", "where are my trail runners
    at?"); ("", "") when it is not cut or what follows is no request (the caller reads the first piece with its
    pending action's verbs)."""
    if len(pieces) < 2:
        return "", ""
    answer = pieces[0]
    start = text.find(pieces[1], text.find(answer) + len(answer))
    rest = text[start:].strip() if start >= 0 else " ".join(pieces[1:])
    rest = _LEADING_AND.sub("", rest)
    clauses = _clauses(rest)
    if not clauses or all(_NO.match(c) or _is_yes(c) for c in clauses):
        return "", ""
    # a condition on the answer ("yes, but only the hoodie") is no new request: the answer stays unclear
    if not (rest.endswith("?") or _REQUEST_START.match(clauses[0])):
        return "", ""
    return answer, rest


_LEADING_AND = re.compile(r"^(?:and also|and then|and|also|plus|then|but|so)\s+", re.IGNORECASE)


def extract_confirmation(text: str) -> bool | None:
    """True for a plain yes, False for a no (or a message that starts with one), None otherwise."""
    decision = classify_confirmation(text)
    if decision == Confirmation.YES:
        return True
    clauses = _clauses(text)
    if decision == Confirmation.NO or (clauses and _NO.match(clauses[0])):
        return False
    return None


def _write_tools() -> dict[str, Any]:
    """The specialists' write tools (their `confirm_verbs`), read when a message is classified: the
    specialist packages use this module, so the registry that loads them is not imported at load time."""
    from apps.agents.registry import write_tools

    return write_tools()
