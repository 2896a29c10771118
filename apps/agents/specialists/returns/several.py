"""Returns of items from several orders asked in one message ("id like to return the canvas tote and the navy
hoodie", the tote in one order, the hoodie in another): one return per order, held together for one yes.

The orders are the ones the message names each by an item of its own (`references.orders_named_apart`, as the order
specialist reads "wheres my backpack and did the earbuds ship") among the ones the listing says can be returned; each
is checked by the eligibility tool, and the returns wait together (`pending_requests.together_question`: "yes to both"
runs them). Anything else (an order named by number, a refusal, a missing reason) is left to the returns specialist's
one-order flow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo

from apps.agents.pending_requests import together_question
from apps.agents.specialists.local_common import Turn, call, confirm_question, read_turn, say
from apps.agents.specialists.returns.local import named_items
from apps.agents.understanding.order_facts import facts_from_data
from apps.agents.understanding.reasons import return_reason
from apps.agents.understanding.references import orders_named_apart

Behaviour = Callable[[list[ModelMessage], AgentInfo], ModelResponse]
_LISTING, _CHECK, _CREATE = "list_returnable_orders", "check_return_eligibility", "create_return"
_MAX_ORDERS = 4


def several_returns_first(behaviour: Behaviour) -> Behaviour:
    """`behaviour`, unless the message asks to return items of several orders (`several_returns`)."""

    def run(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        answer = several_returns(read_turn(messages, info))
        return answer if answer is not None else behaviour(messages, info)

    return run


def several_returns(t: Turn) -> ModelResponse | None:
    """The next step of returning items of several orders named in this message, or None when it is not that."""
    if t.named_order_now() or any(o.tool not in (_LISTING, _CHECK, _CREATE) for o in t.outcomes):
        return None
    if t.intent("returns") not in ("return", None):  # (unsure of a long message: the reason, below, must be said)
        return None
    listed = t.result(_LISTING)  # listed by the one-order flow, after its own first rules (a person, anger...)
    if listed is None:
        return None
    # among the orders that can go back: "the hoodie" of a delivered order and of one still on its way is the first
    returnable = [o for o in listed.get("orders") or [] if o.get("returnable")]
    apart = [o.number for o in orders_named_apart(t.text, facts_from_data(returnable))][:_MAX_ORDERS]
    if len(apart) < 2:
        return None
    created = [o for o in t.outcomes if o.tool == _CREATE]
    if created:
        held = [o.awaiting for o in created if o.awaiting]
        refused = [o.refused[1] for o in created if o.refused]
        question = (together_question(held) if len(held) > 1 else confirm_question(held[0])) if held else ""
        return say(*refused, question)
    if not t.was_called(_CHECK):
        return call(*((_CHECK, {"order_number": n}) for n in apart))
    verdicts = [o.data for o in t.outcomes if o.tool == _CHECK]
    if any(v is None or v.get("refusals") for v in verdicts):
        return None  # the one-order flow says why (it reads the first check)
    reason = return_reason(t.text)
    returns = [(v, _items(t.text, v)) for v in verdicts]
    if reason is None or any(not items for _, items in returns):
        return None  # the one-order flow asks for what is missing
    return call(
        *((_CREATE, {"order_number": v["order_number"], "items": items, "reason": reason}) for v, items in returns)
    )


def _items(text: str, verdict: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's items the text names, each with every unit still returnable."""
    left = {v["order_item_id"]: v["returnable_quantity"] for v in verdict["items"]}
    return [
        {"order_item_id": i["order_item_id"], "quantity": left.get(i["order_item_id"], i["quantity"])}
        for i in named_items(text, verdict["order_items"])
        if left.get(i["order_item_id"], i["quantity"]) > 0 and not i["final_sale"]
    ]
