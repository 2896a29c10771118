"""The order specialist, offline: list, details, tracking, cancel, change the address."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo

from apps.agents.offline.slots import extract_order_numbers
from apps.agents.pending_requests import together_question
from apps.agents.specialists.help_center_local import behaviour_steps
from apps.agents.specialists.local_common import (
    Turn,
    bullet,
    call,
    confirm_question,
    failure_reply,
    no_orders_reply,
    not_found_reply,
    order_line,
    read_turn,
    refused_reply,
    result_or_call,
    say,
)
from apps.agents.specialists.local_rules import answer_then_escalate, open_turn
from apps.agents.specialists.order.addresses import amend_address, parse_address, without_address
from apps.agents.specialists.results import day, money
from apps.agents.specialists.said_back import said_back
from apps.agents.tool_results import ErrorCode
from apps.agents.understanding.choice import choose_order, every_one_meant, not_bought_lead, state_tiers
from apps.agents.understanding.cues import names_a_product, text_words
from apps.agents.understanding.local_intents import names_own_order
from apps.agents.understanding.references import (
    ResolutionKind,
    facts_from_data,
    orders_named_apart,
    resolve_in_context,
    resolve_order,
)

# What clearly belongs to another specialist: handed back to the router when none of ours matches.
FOREIGN = re.compile(
    r"\b(?:refunds?|returns?|send (?:it|them) back|invoices?|receipts?|charged|payments?|pay|paid)\b", re.I
)


def _behaviour(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    t = read_turn(messages, info)
    opened, intent = open_turn(t, route="order", topic="orders", foreign=FOREIGN)
    if opened is not None:
        return opened
    if intent != "cancel" and (parse_address(t.text) or _corrects_address(t)):
        intent = "address"  # "send TW-100003 to 9 Ocean Drive, Miami, FL 33139, US", "sorry, the zip is 04111"
    intent = intent or ("details" if t.named_order_now() else "list")
    if intent in ("details", "track", "list") and len(_numbers_now(t)) > 1:
        return _several(t, "track_shipment" if intent == "track" else "get_order")
    if intent == "cancel":
        return _cancel(t)
    if intent == "address":
        return _address(t)
    if intent == "modify":
        return _modify(t)
    if intent == "track":
        return _track(t)
    if intent == "details":
        return _details(t)
    return _list(t)


# -- several orders named at once -----------------------------------------------------------------
_MAX_ORDERS = 4
_NUMBER_RE = re.compile(r"\b(?:TW[-\s]?)?\d{5,7}\b", re.IGNORECASE)


behaviour = answer_then_escalate(said_back(_behaviour, listing="list_orders"))


def _numbers_now(t: Turn) -> list[str]:
    return list(dict.fromkeys(extract_order_numbers(t.text)))[:_MAX_ORDERS]


def _several(t: Turn, tool: str, numbers: list[str] | None = None) -> ModelResponse:
    """ "status of TW-100002 and TW-100003?", "is TW-100003 or TW-100004 the one with the socks?": each order is
    looked up; when the message names an item only one of them holds, that order is the answer. `numbers`: the
    orders named by their items instead ("wheres my backpack and did the earbuds ship")."""
    by_items = bool(numbers)
    numbers = numbers or _numbers_now(t)
    if not t.was_called(tool):
        return call(*((tool, {"order_number": n}) for n in numbers))
    found = [o.data for o in t.outcomes if o.tool == tool and o.data is not None]
    missing = sum(1 for o in t.outcomes if o.tool == tool and o.data is None)
    if not found:
        return say(not_found_reply(None, t) if missing else failure_reply())
    note = "I couldn't find one of those orders on your account." if missing else ""
    if tool == "get_order" and len(found) > 1 and not by_items:
        # What the message says besides the numbers ("the one with the socks") picks among the orders named.
        words = _NUMBER_RE.sub(" ", t.text)
        picked = resolve_order(words, facts_from_data(found))
        if picked.kind is ResolutionKind.UNIQUE and picked.order is not None and "item" in picked.cues:
            order = next(o for o in found if o["number"] == picked.order.number)
            items = ", ".join(i.product for i in picked.items) or "item you mean"
            others = ", ".join(o["number"] for o in found if o is not order)
            return say(f"It's order {order['number']}: it has the {items} ({others} doesn't).", _describe(order), note)
    if tool == "get_order":
        return say(*(_describe(o) for o in found), note)
    return say(*(_tracking_text(o) for o in found), note)


# -- choosing the order ---------------------------------------------------------------------------
# What the orders a request can apply to are, said before listing them.
_FITTING = {
    "cancel": "These can still be cancelled:",
    "change_address": "These can still be sent to another address:",
}


def _pick(
    t: Turn,
    *,
    prefer: tuple[str, ...],
    purpose: str,
    action: str | None = None,
    texts: list[str] | None = None,
    every: Callable[[list[str]], ModelResponse] | None = None,
) -> tuple[str | None, ModelResponse | None]:
    """The order number to act on, or a response (a list_orders call, or a question) to get it.

    Without a number, the order is found by what the customer says about it, then by the state the request prefers
    (understanding.choose_order: items, dates, states, amounts, the action itself). `every`: the response when the
    customer asks for all the orders that fit ("cancel both", `choice.every_one_meant`).
    """
    number = t.order_to_act_on()
    if number:
        return number, None
    listed = t.result("list_orders")
    if listed is None:
        return None, call(("list_orders", {"limit": 10}))
    orders = listed.get("orders") or []
    if not orders:
        return None, say(
            no_orders_reply(t, "I don't see any orders on your account yet. Is there anything else I can help with?")
        )
    choice = choose_order(
        texts or t.recent_texts()[:3],
        orders,
        action=action,
        tiers=state_tiers(*prefer),
        anchor=t.anchor_order(),
        single_decides=True,
    )
    if choice.kind is ResolutionKind.UNIQUE:
        return choice.number, None
    if choice.kind is ResolutionKind.NONE:
        # what they said fits nothing of theirs: said so, then the orders the request can apply to ("cancel the $40
        # order": the ones still pending), else their recent orders
        fitting = [o for o in orders if action in _FITTING and any(fits(o) for fits in state_tiers(*prefer))]
        return None, say(
            not_bought_lead(choice, "I couldn't find that in your recent orders. Which order do you mean?"),
            _FITTING[action] if fitting and action else "",
            bullet(order_line(o) for o in (fitting or orders)[:5]),
        )
    meant = every_one_meant(t.text, choice) if every is not None else ()
    if every is not None and meant:
        return None, every(list(meant))
    return None, say(
        f"Which order would you like {purpose}? Your recent orders:",
        bullet(order_line(o) for o in choice.candidates[:5]),
    )


def _not_found(t: Turn, tool: str) -> ModelResponse | None:
    outcome = t.outcome(tool)
    if outcome is None:
        return None
    if outcome.failed:
        return say(failure_reply())
    if outcome.refused:
        number = (t.called[-1][1].get("order_number") if t.called else None) or t.order_number()
        return say(refused_reply(outcome, not_found=not_found_reply(number, t)))
    return None


def _order_data(t: Turn, tool: str, number: str) -> dict[str, Any] | ModelResponse:
    """What `tool` said about order `number`, or the reply to give instead: the call, or why it has no answer."""
    return result_or_call(t, tool, {"order_number": number}, _not_found(t, tool))


# -- intents -------------------------------------------------------------------------------------
def _list(t: Turn) -> ModelResponse:
    listed = t.result("list_orders")
    if listed is None:
        if t.outcome("list_orders"):
            return say(failure_reply())
        return call(("list_orders", {"limit": 5}))
    orders = listed.get("orders") or []
    if not orders:
        return say(no_orders_reply(t, "I don't see any orders on your account yet."))
    return say(
        "Here are your most recent orders:",
        bullet(order_line(o) for o in orders),
        "Would you like the details or tracking for one of them?",
    )


def _details(t: Turn) -> ModelResponse:
    apart = _named_apart(t)
    if apart:
        return _several(t, "get_order", apart)
    number, response = _pick(t, prefer=("pending", "processing", "shipped"), purpose="the details of")
    order = response or _order_data(t, "get_order", str(number))
    return order if isinstance(order, ModelResponse) else say(_describe(order))


def _describe(order: dict[str, Any]) -> str:
    cur = order["currency"]
    lines = [
        f"{i['quantity']} x {i['name']}: {money(i['line_total'], cur)}" + (" (final sale)" if i["final_sale"] else "")
        for i in order["items"]
    ]
    totals = (
        f"Subtotal {money(order['subtotal'], cur)}, shipping {money(order['shipping_fee'], cur)}, "
        f"tax {money(order['tax'], cur)}: total {money(order['total'], cur)}."
    )
    status = f"Order {order['number']}, placed {day(order['placed_on'])}, is **{order['status_label'].lower()}**."
    problem = order.get("payment_problem")
    if problem:  # why it is still pending
        status += f" Its payment didn't go through: {problem['explanation']} {' '.join(problem['next_steps'])}"
    if order.get("delivered_on"):
        status += f" It was delivered on {day(order['delivered_on'])}."
    elif order.get("cancelled_on"):
        status += f" It was cancelled on {day(order['cancelled_on'])}."
    return "\n\n".join(
        [status, bullet(lines), totals, f"Shipping to: {order['ship_to']} ({order['shipping_method']})."]
    )


def _named_apart(t: Turn) -> list[str]:
    """The orders this message names each by an item of its own, when it names several (after `list_orders`)."""
    listed = t.result("list_orders")
    if listed is None or t.named_order_now():
        return []
    return [o.number for o in orders_named_apart(t.text, facts_from_data(listed.get("orders") or []))][:_MAX_ORDERS]


def _track(t: Turn) -> ModelResponse:
    apart = _named_apart(t)
    if apart:
        return _several(t, "track_shipment", apart)
    number, response = _pick(t, prefer=("shipped", "processing", "pending"), purpose="me to track", action="track")
    data = response or _order_data(t, "track_shipment", str(number))
    return data if isinstance(data, ModelResponse) else say(_tracking_text(data), _also_on_the_way(t, str(number)))


def _also_on_the_way(t: Turn, tracked: str) -> str:
    """ "where's my order?" naming nothing, with several orders not yet arrived: the one tracked is the most
    advanced, and the others are named too, so the customer sees the one they meant."""
    listed = t.result("list_orders")
    if listed is None or t.order_to_act_on():
        return ""
    orders = listed.get("orders") or []
    if resolve_in_context(t.recent_texts()[:1], facts_from_data(orders)).cues:
        return ""  # the customer said which (an item, a date, a state)
    others = [o for o in orders if o["number"] != tracked and o["status"] in ("pending", "processing", "shipped")]
    if not others:
        return ""
    return "Your other orders that haven't arrived yet:\n" + bullet(order_line(o) for o in others[:4])


def _tracking_text(data: dict[str, Any]) -> str:
    number, status = data["number"], data["status"]
    if status == "cancelled":
        return f"Order {number} was cancelled, so it won't be shipped."
    if data.get("delivered_on") and not any(s["status"] != "delivered" for s in data["shipments"]):
        ship = data["shipments"][0] if data["shipments"] else None
        via = f" by {ship['carrier']} (tracking {ship['tracking_number']})" if ship else ""
        return f"Order {number} was delivered on {day(data['delivered_on'])}{via}."
    if not data["shipments"]:
        if status in ("pending", "processing"):
            return (
                f"Order {number} is {status} and hasn't shipped yet. Once it ships you'll get a tracking number; "
                f"{data['shipping_method'].lower()} delivery applies from then."
            )
        return f"Order {number} is {data['status_label'].lower()}; I don't have shipment details for it."
    parts = []
    for ship in data["shipments"]:
        text = (
            f"Order {number} is with {ship['carrier']}, tracking number {ship['tracking_number']}: "
            f"**{ship['status_label'].lower()}**"
        )
        if ship.get("shipped_on"):
            text += f", shipped {day(ship['shipped_on'])}"
        text += "."
        last = ship.get("last_event")
        if last:
            where = f" in {last['location']}" if last.get("location") else ""
            text += f" Latest update ({day(last['when'])}{where}): {last['description']}."
        if ship.get("delivered_on"):
            text += f" Delivered on {day(ship['delivered_on'])}."
        elif ship.get("estimated_delivery"):
            text += f" Expected delivery: **{day(ship['estimated_delivery'])}**."
        if ship["status"] == "exception":
            text += " The carrier reported a delivery problem; if it isn't resolved soon I can open a ticket for you."
        parts.append(text)
    return "\n\n".join(parts)


def _cancel(t: Turn) -> ModelResponse:
    outcome = t.outcome("cancel_order")
    if outcome is not None:
        held = [o.awaiting for o in t.outcomes if o.tool == "cancel_order" and o.awaiting]
        if held:  # several, when the customer asked for every order that fits: one question for all of them
            return say(together_question(held) if len(held) > 1 else confirm_question(held[0]))
        if outcome.refused:
            code, message = outcome.refused
            number = t.called[-1][1].get("order_number") if t.called else t.order_number()
            if code == ErrorCode.NOT_FOUND:
                return say(not_found_reply(number, t))
            if code == ErrorCode.NOT_CANCELLABLE:
                return say(
                    message,
                    "Once an order is being prepared or on its way it can't be cancelled, but after it arrives you "
                    "can return it within our return window. I can help with that then.",
                )
            if code == ErrorCode.PAYMENT_CAPTURED:
                return say(message, "I can open a ticket for our team to look at it, if you like.")
            return say(message)
        return say(failure_reply())
    reason = t.text[:300]
    number, response = _pick(
        t,
        prefer=("pending",),
        purpose="to cancel",
        action="cancel",
        every=lambda numbers: call(*(("cancel_order", {"order_number": n, "reason": reason}) for n in numbers)),
    )
    if response is not None:
        return response
    return call(("cancel_order", {"order_number": number, "reason": t.text[:300]}))


def _address(t: Turn) -> ModelResponse:
    outcome = t.outcome("change_shipping_address")
    if outcome is not None:
        if outcome.awaiting:
            return say(confirm_question(outcome.awaiting))
        if outcome.refused:
            code, message = outcome.refused
            if code == ErrorCode.NOT_FOUND:
                return say(not_found_reply(t.order_number(), t))
            if code == ErrorCode.ALREADY_SHIPPED:
                return say(
                    message,
                    "If it can't be delivered, the carrier will return it to us; I can open a ticket so our team "
                    "can follow up with the carrier.",
                )
            return say(
                message,
                "Please send the full new address as: street, city, postal code, country "
                "(e.g. 12 Harbor Street, Portland, OR 97201, US).",
            )
        return say(failure_reply())
    number, response = _pick(
        t,
        prefer=("pending", "processing"),
        purpose="to change the address of",
        action="change_address",
        texts=[without_address(text) for text in t.recent_texts()[:3]],
    )
    if response is not None:
        return response
    address = _address_said(t)
    if address is None:
        order = _order_data(t, "get_order", str(number))
        if isinstance(order, ModelResponse):
            return order
        if not order["can_change_address"]:
            return say(
                f"Order {order['number']} is {order['status_label'].lower()}, so its address can no longer be "
                "changed: that's only possible before an order ships.",
            )
        return say(
            f"Order {order['number']} currently ships to {order['ship_to']}. What's the new address? "
            "Please write it as: street, city, postal code, country (e.g. 12 Harbor Street, Portland, OR 97201, US)."
        )
    return call(("change_shipping_address", {"order_number": number, **address}))


def _modify(t: Turn) -> ModelResponse:
    """ "take the mug off my order", "can i change the size?": items of a placed order are not edited (the changing-an-
    order page). The order the customer names gets its state and the way that fits it: while pending, cancel and
    order again (the cancel offered, never done without their yes); after that, an exchange or a return once it has
    arrived. A question naming no order of theirs is the help center's."""
    names_one = t.order_to_act_on() or names_own_order(t.text) or names_a_product(text_words(t.text))
    if not names_one and "search_knowledge" in t.tools:
        return behaviour_steps(t)
    number, response = _pick(t, prefer=("pending", "processing", "shipped"), purpose="to change")
    order = response or _order_data(t, "get_order", str(number))
    if isinstance(order, ModelResponse):
        return order
    num, status = order["number"], order["status"]
    if status == "pending":
        way = (
            f"It's still pending, so it can change, but I can't edit the items of an order: the way is to cancel order "
            f"{num} and place a new one with just the items you want. Nothing has been changed yet. Would you like me "
            f"to cancel order {num}?"
        )
    elif status == "cancelled":
        way = "There's nothing left to change on it."
    else:
        after = "It has arrived, so" if status == "delivered" else "Once it arrives"
        way = (
            "Its items can no longer be changed: that's only possible while an order is pending. "
            f"{after} you can exchange an item for another size or colour of the same product, or return it within our "
            "return window."
        )
    return say(_describe(order), way)


def _corrects_address(t: Turn) -> bool:
    """The message corrects the address the customer's message before gave ("actually it's 02111 not 02110")."""
    before = parse_address(t.earlier[-1]) if t.earlier else None
    return before is not None and amend_address(before, t.text) not in (None, before)


def _address_said(t: Turn) -> dict[str, str] | None:
    """The new address the customer gave in this request: the latest one written out, with the corrections their
    later messages make to it ("oh wait, the zip is 04111 not 04101")."""
    texts = t.recent_texts()[:2]
    for index, text in enumerate(texts):
        address = parse_address(text)
        if address is None:
            continue
        for newer in reversed(texts[:index]):
            address = amend_address(address, newer) or address
        return address
    return None
