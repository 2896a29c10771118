"""The answer to "what size / colour did I order?" from the customer's own order lines, for any specialist that lists
their orders (the order specialist's `list_orders`, the returns specialist's `list_returnable_orders`).

The router may send such a question to either ("what colour did i choose for the apron?" reads like an exchange);
the answer is the same fact from the order, never a return or a swap started.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo

from apps.agents.specialists.local_common import Turn, bullet, call, read_turn, say
from apps.agents.specialists.results import day
from apps.agents.understanding.item_questions import asks_own_attribute, items_asked_about, points_only_at
from apps.agents.understanding.order_facts import ItemFacts, facts_from_data

Behaviour = Callable[[list[ModelMessage], AgentInfo], ModelResponse]


def own_item_first(behaviour: Behaviour, *, listing: str, args: dict[str, Any]) -> Behaviour:
    """`behaviour`, unless the message asks which size or colour of their own item the customer ordered: then the
    answer from `listing`'s rows (`own_item_answer`)."""

    def run(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        answer = own_item_answer(read_turn(messages, info), listing, args)
        return answer if answer is not None else behaviour(messages, info)

    return run


def own_item_answer(t: Turn, listing: str, args: dict[str, Any]) -> ModelResponse | None:
    """The variant of the customer's item the message asks about ("what size did i order the trail runners in?":
    US 8), read from `listing`'s result (called first when it has not run); None when the message asks something
    else, another tool ran this turn, or it names none of their items (the specialist goes on as before)."""
    if any(o.tool != listing for o in t.outcomes) or not asks_own_attribute(t.text):
        return None
    listed = t.result(listing)
    if listed is None:
        return None if t.outcomes else call((listing, args))
    rows = {str(o.get("number")): o for o in listed.get("orders") or []}
    orders = facts_from_data(rows.values())
    asked = items_asked_about(t.text, orders)
    if not asked or points_only_at(t.text, [item for order in orders for item in order.items]):
        return None
    lines = [_line(item, rows[order.number]) for order, item in asked]
    if len(lines) == 1:
        return say(f"You ordered {lines[0]}.")
    return say("You ordered these:", bullet(lines))


def _line(item: ItemFacts, order: dict[str, Any]) -> str:
    which = f"the {item.product} in **{item.variant}**" if item.variant else f"the {item.product} (it has no options)"
    count = f"{item.quantity} x " if item.quantity > 1 else ""
    return (
        f"{count}{which}: order {order['number']}, placed {day(order['placed_on'])}, "
        f"{str(order['status_label']).lower()}"
    )
