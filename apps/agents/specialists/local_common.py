"""What every specialist's local behaviour shares: reading the turn, and talking about tool results.

The local model is a pure function of the conversation it is shown (the
runtime's `LocalBehaviour`): the customer's message, earlier messages, the
tool results of this turn, and the session (`current_deps()`: who the customer
is, nothing else is read from it). It never touches the database: everything it
knows about orders comes back through its own tool calls, exactly like an LLM.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo

from apps.agents.local import current_deps
from apps.agents.offline.slots import extract_order_numbers
from apps.agents.specialists.local_phrases import TICKET_RE
from apps.agents.specialists.results import day, money
from apps.agents.tool_results import ErrorCode, ToolResult, ToolStatus
from apps.agents.understanding.cues import names_a_product, relative_order, text_words
from apps.agents.understanding.described import describes_order
from apps.agents.understanding.turn_plan import PLAN_EARLIER

# How far back earlier customer messages count for slots (order number, item, reason).
SLOT_LOOKBACK = 4


@dataclass
class ToolOutcome:
    """One tool call's result as a local behaviour reads it (from the typed `ToolResult`)."""

    tool: str
    data: dict[str, Any] | None = None  # an ok result's data
    refused: tuple[ErrorCode, str] | None = None  # (code, message)
    awaiting: str = ""  # the summary of a write waiting for the customer's yes
    failed: bool = False
    other: str = ""  # a plain-text ok result, or the retry prompt of an invalid call

    @classmethod
    def of(cls, result: ToolResult) -> ToolOutcome:
        if result.status == ToolStatus.OK:
            return cls(tool=result.tool, data=result.data, other=result.text)
        if result.status == ToolStatus.REFUSED:
            return cls(tool=result.tool, refused=(result.code or ErrorCode.OTHER, result.message))
        if result.status == ToolStatus.AWAITING_CONFIRMATION:
            return cls(tool=result.tool, awaiting=result.summary)
        return cls(tool=result.tool, failed=True)


@dataclass
class Turn:
    """One step of the local model inside a turn."""

    text: str  # the customer's current message
    earlier: list[str]  # earlier customer messages, oldest first
    last_reply: str  # the assistant's previous reply ("" if none)
    replies: list[str]  # every earlier reply of the assistant, oldest first
    outcomes: list[ToolOutcome]  # tool results received since the customer's message, oldest first
    called: list[tuple[str, dict[str, Any]]]  # tool calls already made in this turn
    tools: set[str]
    guest_order: str = ""  # a verified guest's order number
    signed_in: bool = False
    facts: dict[str, Any] = field(default_factory=dict)

    # -- what was said ------------------------------------------------------------------
    @property
    def answering_us(self) -> bool:
        """The previous reply asked the customer something: this message probably answers it."""
        return "?" in self.last_reply

    def recent_texts(self) -> list[str]:
        """The current message, then earlier ones (newest first), within the slot look-back."""
        return [self.text, *reversed(self.earlier[-SLOT_LOOKBACK:])]

    def request_texts(self, specialist: str) -> list[str]:
        """The messages of the request being served, newest first: the earlier ones count while the customer answers
        our questions; after a reply that asked nothing (a refusal, a result), a message that says what it wants
        starts afresh ("can I get a refund?" after the final-sale answer about the jacket is not about the jacket)."""
        if self.earlier and not self.answering_us and self.intent(specialist) is not None:
            return [self.text]
        return self.recent_texts()[:3]

    def intent(self, specialist: str) -> str | None:
        """The learned intent of this message in the specialist's local names (understanding.turn_intent): a
        short answer to our question keeps the topic of the message before, a yes to our own offer requests it."""
        from apps.agents.understanding.local_intents import turn_intent

        return turn_intent(
            specialist, self.text, earlier=self.earlier, last_reply=self.last_reply, replies=self.replies
        )

    def order_number(self) -> str | None:
        """The order the customer means: named now, else named recently, else the guest's verified order."""
        for text in [self.text, *reversed(self.earlier[-SLOT_LOOKBACK:])]:
            numbers = extract_order_numbers(text)
            if numbers:
                return numbers[0]
        # The previous reply names the order only if it names exactly one (a list of orders is a question).
        in_reply = extract_order_numbers(self.last_reply)
        if len(in_reply) == 1:
            return in_reply[0]
        if len(in_reply) > 1 and self.answering_us:
            picked = pick_from_list(self.text, self.last_reply)
            if picked:
                return picked
        return self.guest_order or None

    def order_to_act_on(self) -> str | None:
        """The order a request acts on without asking: named now, else the conversation's order unless this
        message names a product ("the jacket from my last order" after a reply about the trail runners' order is
        about a jacket, to be found in the customer's orders) or describes an order by its amount or payment ("the
        forty dollar order", `described.describes_order`)."""
        named = self.named_order_now()
        if named:
            return named
        if (
            names_a_product(text_words(self.text))
            or relative_order(self.text) is not None
            or describes_order(self.text)
        ):
            return None  # "the order before that one": found from the conversation's order, `anchor_order`
        return self.order_number()

    def anchor_order(self) -> str | None:
        """The order the conversation is on, for "the one before that" (`cues.relative_order`)."""
        return self.order_number() if relative_order(self.text) is not None else None

    def named_order_now(self) -> str | None:
        numbers = extract_order_numbers(self.text)
        return numbers[0] if numbers else None

    # -- tool results -------------------------------------------------------------------
    def result(self, tool: str) -> dict[str, Any] | None:
        for outcome in reversed(self.outcomes):
            if outcome.tool == tool and outcome.data is not None:
                return outcome.data
        return None

    def outcome(self, tool: str) -> ToolOutcome | None:
        for outcome in reversed(self.outcomes):
            if outcome.tool == tool:
                return outcome
        return None

    def was_called(self, tool: str) -> bool:
        return any(name == tool for name, _ in self.called)


_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3, "last": -1}
_LIST_STOP = frozenset(
    [
        "the",
        "one",
        "and",
        "for",
        "you",
        "yes",
        "not",
        "but",
        "that",
        "with",
        "which",
        "order",
        "orders",
        "item",
        "items",
        "please",
        "thanks",
        "want",
        "like",
        "mean",
    ]
)


def pick_from_list(text: str, listing: str) -> str | None:
    """The order a customer means by "the second one" or "the blanket one" in reply to a listed choice."""
    lines = [line for line in listing.splitlines() if extract_order_numbers(line)]
    lowered = text.lower()
    for word, index in _ORDINALS.items():
        if re.search(rf"\b{word}\b", lowered) and -len(lines) <= index < len(lines):
            return extract_order_numbers(lines[index])[0]
    words = [w for w in re.findall(r"[a-z]{3,}", lowered) if w not in _LIST_STOP]
    if not words:
        return None
    hits = [line for line in lines if any(re.search(rf"\b{re.escape(w[:5])}", line.lower()) for w in words)]
    return extract_order_numbers(hits[0])[0] if len(hits) == 1 else None


def number_or_listing(
    t: Turn, tool: str, args: dict[str, Any]
) -> tuple[str | None, dict[str, Any] | None, ModelResponse | None]:
    """The order the customer means; else `tool`'s listing to choose from; else the call that lists them."""
    number = t.order_number()
    if number:
        return number, None, None
    listed = t.result(tool)
    if listed is None:
        return None, None, call((tool, args))
    return None, listed, None


def read_turn(messages: list[ModelMessage], info: AgentInfo) -> Turn:
    # The newest request holding a user prompt is the customer's current message.
    current_index = 0
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, ModelRequest) and any(isinstance(p, UserPromptPart) for p in message.parts):
            current_index = index
            break
    text = _user_text(messages[current_index]) if messages else ""
    earlier: list[str] = []
    replies: list[str] = []
    last_reply = ""
    for message in messages[:current_index]:
        if isinstance(message, ModelRequest):
            user = _user_text(message)
            if user:
                earlier.append(user)
        elif isinstance(message, ModelResponse):
            reply = "".join(p.content for p in message.parts if isinstance(p, TextPart))
            if reply:
                last_reply = reply
                replies.append(reply)
    outcomes: list[ToolOutcome] = []
    called: list[tuple[str, dict[str, Any]]] = []
    for message in messages[current_index + 1 :]:
        if isinstance(message, ModelResponse):
            for part in message.parts:
                if isinstance(part, ToolCallPart):
                    called.append((part.tool_name, part.args_as_dict()))
        else:
            for part in message.parts:
                if isinstance(part, ToolReturnPart):
                    outcomes.append(_outcome(part))
                elif isinstance(part, RetryPromptPart) and part.tool_name:
                    outcomes.append(ToolOutcome(tool=part.tool_name, failed=True, other=str(part.content)))
    deps = current_deps()
    guest_order = ""
    signed_in = False
    facts: dict[str, Any] = {}
    if deps is not None:
        signed_in = deps.customer is not None
        if deps.verified_order is not None and deps.customer is None:
            guest_order = deps.verified_order.number
        facts = deps.facts
        text = deps.text or text
        earlier = [*earlier, *facts.get(PLAN_EARLIER, ())]  # a plan's step pointing back at the one before
    return Turn(
        text=text,
        earlier=earlier,
        last_reply=last_reply,
        replies=replies,
        outcomes=outcomes,
        called=called,
        tools={t.name for t in info.function_tools},
        guest_order=guest_order,
        signed_in=signed_in,
        facts=facts,
    )


def _user_text(message: ModelMessage) -> str:
    if not isinstance(message, ModelRequest):
        return ""
    return "\n".join(p.content for p in message.parts if isinstance(p, UserPromptPart) and isinstance(p.content, str))


def _outcome(part: ToolReturnPart) -> ToolOutcome:
    if isinstance(part.metadata, ToolResult):
        return ToolOutcome.of(part.metadata)
    # Not one of our tools' results (pydantic-ai's own notices): nothing a behaviour acts on.
    return ToolOutcome(tool=part.tool_name, other=part.model_response_str())


# -- responses --------------------------------------------------------------------------------
def say(*paragraphs: str) -> ModelResponse:
    return ModelResponse(parts=[TextPart(content="\n\n".join(p for p in paragraphs if p))])


def call(*calls: tuple[str, dict[str, Any]]) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart(tool_name=name, args=args) for name, args in calls])


def result_or_call(
    t: Turn, tool: str, args: dict[str, Any], refusal: ModelResponse | None
) -> dict[str, Any] | ModelResponse:
    """What `tool` returned this turn, or the reply instead: `refusal` (why it has no answer), else the call."""
    data = t.result(tool) if refusal is None else None
    return refusal or (call((tool, args)) if data is None else data)


def bullet(lines: Iterable[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def order_line(order: dict[str, Any]) -> str:
    items = ", ".join(order.get("items") or [])
    return (
        f"{order['number']}: {order['status_label'].lower()}, placed {day(order['placed_on'])}, "
        f"{money(order['total'], order['currency'])}" + (f" ({items})" if items else "")
    )


def ask(t: Turn, question: str) -> ModelResponse:
    """Ask for what is missing; asked twice already without an answer that helps, hand over to a person."""
    if (
        len(t.replies) >= 2
        and t.replies[-1] == question
        and t.replies[-2] == question
        and "escalate_to_human" in t.tools
    ):
        return call(
            ("escalate_to_human", {"reason_code": "repeated_failure", "note": f"Asked three times: {question[:300]}"})
        )
    return say(question)


def confirm_question(summary: str) -> str:
    """The wording of every confirmation request: what will happen, and how to answer."""
    return f"Just to confirm: I will {summary}. Reply **yes** to go ahead or **no** to leave it as it is."


def refused_reply(outcome: ToolOutcome, *, not_found: str) -> str:
    code, message = outcome.refused or ("", "")
    if code == ErrorCode.NOT_FOUND:
        return not_found
    if code == ErrorCode.ORDER_REQUIRED:
        return "Which order is it about? The order number starts with TW- and is in your confirmation email."
    return message


def not_found_reply(number: str | None, t: Turn) -> str:
    if t.guest_order:
        return (
            f"I can only see order {t.guest_order} in this chat, the one you verified. "
            "For another order, please sign in or verify that order instead."
        )
    # The number is not repeated: it may be someone else's, and the reply must not confirm or echo it.
    return (
        "I couldn't find that order on your account. Could you check the number? "
        "It starts with TW- and is in your order confirmation email."
    )


VERIFY_FIRST_REPLY = (
    "To look up an order here, please verify it first: enter the order number (it starts with TW- and is in "
    "your confirmation email) and the email address you ordered with in the form above the chat, or sign in "
    "to your account."
)


def no_orders_reply(t: Turn, reply: str) -> str:
    """`reply` for a signed-in customer or verified guest; a guest who has not verified is told how to."""
    return reply if t.signed_in or t.guest_order else VERIFY_FIRST_REPLY


def failure_reply() -> str:
    return (
        "Sorry, something went wrong on our side and I couldn't complete that. Nothing was changed. "
        "I can open a ticket for our team, or connect you with a person: just say which."
    )


def hand_back_if_foreign(t: Turn, topic: str, own_intent: str | None, foreign: re.Pattern[str]) -> ModelResponse | None:
    """Hand the conversation back when the message is plainly about another specialist's topic.

    `foreign` (each specialist's own `FOREIGN`) matches what clearly belongs to another specialist: a
    message matching none of this specialist's own intents but this is handed back to the router
    rather than answered badly.
    """
    pattern = foreign
    if own_intent or t.outcomes or "hand_back_to_router" not in t.tools:
        return None
    match = pattern.search(t.text)
    if match is None:
        return None
    return call(("hand_back_to_router", {"reason": f"about {match.group(0).lower()}, not {topic}"}))


def ticket_args(t: Turn, *, category: str) -> dict[str, Any]:
    context = [x for x in [*t.earlier[-3:], t.text] if x.strip()]
    subject = _subject(t)
    args: dict[str, Any] = {
        "subject": subject,
        "description": "\n".join(f"Customer: {x}" for x in context),
        "category": category,
        "priority": "normal",
    }
    number = t.order_number()
    if number:
        args["order_number"] = number
    return args


def _subject(t: Turn) -> str:
    for text in [t.text, *reversed(t.earlier[-3:])]:
        cleaned = re.sub(TICKET_RE, " ", text)
        cleaned = re.sub(
            r"\b(?:please|can you|could you|i want to|i'd like to|i would like to)\b", " ", cleaned, flags=re.I
        )
        cleaned = " ".join(cleaned.split()).strip(" .,!?:;-")
        if len(cleaned.split()) >= 3:
            return cleaned[:120]
    return "Customer request from chat"


def first(values: Iterable[Any]) -> Any:
    for value in values:
        return value
    return None
