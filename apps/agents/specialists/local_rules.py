"""The rules every specialist's offline behaviour applies first (`handle_common`).

A person, a ticket, anger, thanks, a yes with nothing waiting, a general
question for the help center, and the results of those tools: answered the same
way whichever specialist has the conversation.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo

from apps.agents.confirmation import extract_confirmation
from apps.agents.routing.person import asks_how_to_reach
from apps.agents.specialists.help_center_local import behaviour_steps
from apps.agents.specialists.local_common import (
    Turn,
    call,
    confirm_question,
    failure_reply,
    hand_back_if_foreign,
    read_turn,
    say,
    ticket_args,
)
from apps.agents.specialists.local_phrases import is_angry, is_general_question, is_thanks, wants_human, wants_ticket
from apps.agents.understanding.amounts import amounts_in
from apps.agents.understanding.confirmation import Confirmation, classify_confirmation
from apps.agents.understanding.cues import names_a_product, text_words
from apps.agents.understanding.local_intents import (
    GENERAL,
    OWN_DATA_INTENTS,
    POLICY_INTENTS,
    is_policy_question,
    learned_intent,
    names_own_order,
    offered_intent,
)


def open_turn(
    t: Turn,
    *,
    route: str,
    topic: str,
    foreign: re.Pattern[str],
    first: Callable[[Turn], ModelResponse | None] | None = None,
) -> tuple[ModelResponse | None, str | None]:
    """How a specialist's offline behaviour starts: `(reply, None)` when a shared rule answers, else `(None, intent)`.

    `handle_common` first (`topic` as the replies name it, `route` as the ticket category), then the
    specialist's own `first` rule, a general question for the help center, and a message plainly about
    another specialist's topic (`foreign`) handed back to the router. `intent` is the specialist's
    learned intent, None when unsure.
    """
    common = handle_common(t, topic=topic, category=route)
    if common is None and first is not None:
        common = first(t)
    if common is not None:
        return common, None
    intent = t.intent(route)
    if intent == GENERAL and "search_knowledge" in t.tools:
        return behaviour_steps(t), None  # "how long does shipping take?": the help center answers it
    intent = None if intent == GENERAL else intent
    return hand_back_if_foreign(t, route, intent, foreign), intent


def handle_common(t: Turn, *, topic: str, category: str) -> ModelResponse | None:
    """Requests every specialist answers the same way: a person, a ticket, anger, thanks, tool results of those."""
    if t.outcomes and t.outcomes[0].tool == "search_knowledge":
        # A general question this turn: the help-center flow owns the rest of it.
        return behaviour_steps(t)
    esc = t.outcome("escalate_to_human")
    if esc is not None:
        if esc.data and esc.data.get("escalated"):
            return say(
                "I've passed this conversation to a person from our team. They will reply here as soon as they can; "
                "you don't need to repeat anything."
            )
        return say(failure_reply())
    ticket = t.outcome("create_ticket")
    if ticket is not None:
        if ticket.awaiting:
            return say(confirm_question(ticket.awaiting))
        if ticket.refused:
            return say(ticket.refused[1])
        return say(failure_reply())
    back = t.outcome("hand_back_to_router")
    if back is not None:
        return say(
            f"That's a question for another part of our team than {topic}. "
            "Could you ask it once more, in a sentence or two? I'll make sure it reaches the right place."
        )
    if t.outcomes:
        return None
    if wants_human(t.text) and "escalate_to_human" in t.tools and not asks_how_to_reach(t.text):
        # ("are you open on sundays? i might need to talk to someone then" asks when people work, not for one now)
        return call(("escalate_to_human", {"reason_code": "customer_request", "note": t.text[:500]}))
    if is_angry(t.text) and "escalate_to_human" in t.tools and t.intent(specialist_of(topic)) in (None, GENERAL):
        # Anger with nothing else to answer goes to a person at once; anger with a request of ours ("WHERE IS
        # IT") gets the answer first, then the person (`answer_then_escalate`).
        return call(("escalate_to_human", {"reason_code": "negative_sentiment", "note": t.text[:500]}))
    if wants_ticket(t.text) and "create_ticket" in t.tools:
        return call(("create_ticket", ticket_args(t, category=category)))
    specialist = specialist_of(topic)
    confirmed = extract_confirmation(t.text)
    if confirmed is True:
        if t.answering_us and offered_intent(specialist, t.last_reply):
            # A yes ("ok yes") to an offer of ours ("Would you like to start a return?") is a request for what
            # was offered: the specialist runs it (never "you're welcome").
            return None
        # A "yes" with nothing waiting for it (it expired, was refused, or was never asked).
        return say("There's nothing waiting for your confirmation right now. What would you like me to do?")
    if (
        confirmed is False
        and t.answering_us
        and classify_confirmation(t.text) is Confirmation.NO
        and offered_intent(specialist, t.last_reply)
    ):
        # A plain no ("no thanks, keep it") to an offer of ours ("Would you like to start a return?"): nothing is
        # started. ("no, i want an exchange instead" asks for something else: the specialist answers that.)
        return say("All right, I won't start anything. Is there anything else I can help you with?")
    if is_thanks(t.text):
        return say("You're welcome! Is there anything else I can help you with?")
    if "search_knowledge" in t.tools and (_policy_question(t, specialist) or _general_question(t, specialist)):
        return behaviour_steps(t)
    return None


# handle_common's `topic` (as the replies name it) -> the specialist whose intent classifier reads the message
_SPECIALIST_OF_TOPIC = {"orders": "order", "returns": "returns", "billing": "billing", "faq": "faq"}


def specialist_of(topic: str) -> str:
    return _SPECIALIST_OF_TOPIC.get(topic, topic)


Behaviour = Callable[[list[ModelMessage], AgentInfo], ModelResponse]
_ANGER_NOTE = (
    "I'm sorry this has been so frustrating. I've also passed this conversation to a person from our team; they "
    "will reply here as soon as they can, and you don't need to repeat anything."
)


def answer_then_escalate(behaviour: Behaviour) -> Behaviour:
    """An angry customer with a request the specialist answers gets the answer and a person: the behaviour's
    answer is held while `escalate_to_human(negative_sentiment)` runs, then both are said (the behaviour is a
    pure function of the messages, so the answer is read again from the messages before the escalation)."""

    def run(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        t = read_turn(messages, info)
        held = (
            t.called
            and t.called[-1][0] == "escalate_to_human"
            and t.called[-1][1].get("reason_code") == "negative_sentiment"
            and len(t.outcomes) > 1
        )
        if held:
            answer = _text(behaviour(messages[:-2], info))
            esc = t.outcome("escalate_to_human")
            if answer and esc is not None and esc.data and esc.data.get("escalated"):
                return say(answer, _ANGER_NOTE)
        response = behaviour(messages, info)
        if (
            _text(response)
            and t.outcomes
            and not t.was_called("escalate_to_human")
            and "escalate_to_human" in t.tools
            and is_angry(t.text)
        ):
            return call(("escalate_to_human", {"reason_code": "negative_sentiment", "note": t.text[:500]}))
        return response

    return run


def _text(response: ModelResponse) -> str:
    if any(isinstance(p, ToolCallPart) for p in response.parts):
        return ""
    return "".join(p.content for p in response.parts if isinstance(p, TextPart))


def _policy_question(t: Turn, specialist: str) -> bool:
    """A question about the shop, not one of this customer's orders, even "i bought a kettle, is there a warranty?".

    A short answer to our own question ("the jacket") is never one: it keeps the topic it answers.
    """
    if t.answering_us and len(t.text.split()) <= 6:
        return False
    return is_policy_question(specialist, t.text)


# A question asked in the past ("how much was", "what did i pay", "what did it cost me"): about something that
# happened, a purchase of the customer's, not the shop's rules.
_PAST_RE = re.compile(r"\b(?:was|were|did|paid|cost me|charged)\b", re.IGNORECASE)
_HOW_TO_RE = re.compile(r"^\W*(?:how|what|when|where|which|why|who)\b", re.IGNORECASE)


def _general_question(t: Turn, specialist: str) -> bool:
    """A question worded about no order of the customer's ("can I ...?", "how do ...?") that the specialist's
    classifier does not read as one of its own requests: "can I get a refund?" from a customer is a request for
    one, and their orders answer it, not the help center."""
    if not is_general_question(t) or names_own_order(t.text):
        return False  # "why hasn't the mug shipped?" asks about their mug, not the shop
    prediction = learned_intent(specialist, t.text)
    intent = prediction.intent if prediction is not None else None
    if (specialist, intent or "") in OWN_DATA_INTENTS and (t.signed_in or t.guest_order):
        return False  # "what can i still return?": their own orders answer it
    if intent is not None and (specialist, intent) not in POLICY_INTENTS and amounts_in(t.text):
        # "what was the $237.30 charge?", "what happened with the order of 700,92 dollars?": a request of ours naming
        # an amount is about the customer's own orders and invoices, found by that amount
        return not (t.signed_in or t.guest_order)
    if (
        intent is not None
        and (specialist, intent) not in POLICY_INTENTS
        and _PAST_RE.search(t.text)
        and names_a_product(text_words(t.text))
        and (t.signed_in or t.guest_order)
    ):
        # "how much was each pack of socks before tax?": a request of ours asked in the past about a product is about
        # the one the customer bought, and their orders answer it
        return False
    if _HOW_TO_RE.match(t.text):
        return True  # "how do i send the return back?", "where do i drop it off?": instructions, not an action
    if intent is None:
        return True
    return (specialist, intent) in POLICY_INTENTS
