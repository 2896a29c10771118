"""An answer to a pending write that is neither yes nor no, and says nothing else either.

"y e s", "hmm ok?", "oki doki", "maybe" to "Just to confirm: I will email ...": a support desk asks again, once,
naming the action and the answer it needs, rather than dropping the customer's request and starting over. Whether
the answer carries anything of its own is read with what the turn already has, never a list of fillers:

- a question (`understanding.confirmation.asks_something`) or a request after a no (`request_after_decline`);
- a number (an order, an amount, a size, a date) or one of the session's own items (`customer_items`);
- what the router's classifier reads: like a shop request (the nearest in-scope example at least as similar as the
  classifier's own line for "unlike any shop request"), a request for a person (its learned `human` intents), or a
  task the shop does not do;
- more than a short answer's few words.

Any of these and the pending action lapses, the message is answered as a new one (apps.agents.pending). Asking again
never runs anything: only a later clear yes does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from apps.agents.confirmation import request_after_decline
from apps.agents.models import PendingAction
from apps.agents.routing import classify_text, get_classifier
from apps.agents.routing.customer_items import named_customer_item
from apps.agents.understanding.confirmation import asks_something

# A short answer: longer than this, the customer is saying something of their own.
SHORT_ANSWER_WORDS = 6
_WORD_RE = re.compile(r"\w+")
# A yes or a no never needs a number.
_DIGIT_RE = re.compile(r"\d")


def carries_nothing_of_its_own(text: str, *, conversation: Any) -> bool:
    """Whether an answer the yes/no reader could not read holds nothing to act on: asked again, not answered anew."""
    words = _WORD_RE.findall(text)
    if not words:
        return True  # "🤔", "...": nothing to read at all
    if len(words) > SHORT_ANSWER_WORDS:
        return False
    if asks_something(text) or request_after_decline(text) or _DIGIT_RE.search(text):
        return False
    if named_customer_item(text, conversation):
        return False
    prediction = classify_text(text)
    if prediction.asks_for_person or prediction.task:
        return False
    return prediction.similarity < get_classifier().similarity_threshold


def reask_question(actions: Sequence[PendingAction]) -> str:
    """The one short question asked again: the action(s) and the answer expected."""
    return (
        f"Sorry, I didn't catch that. Shall I {_what(actions)}? Please answer **yes** to go ahead or **no** to leave "
        "it as it is."
    )


def lapsed_reply(actions: Sequence[PendingAction]) -> str:
    """What a second answer that is neither yes nor no is told: nothing was done."""
    return (
        f"I still couldn't tell whether you want me to {_what(actions)}, so I have not done it and nothing was "
        "changed. Ask me again whenever you want it."
    )


def _what(actions: Sequence[PendingAction]) -> str:
    if len(actions) == 1:
        return actions[0].summary
    return f"make these {len(actions)} changes ({'; '.join(a.summary for a in actions)})"
