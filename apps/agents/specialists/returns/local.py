"""The returns specialist, offline: eligibility, returns (write), refund requests (approval), refund status.

A return or refund needs three things: the order, the item(s), the reason.
Whatever is missing is asked for, one question at a time; nothing is assumed
except the obvious (an order with a single returnable item is that item).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo

from apps.agents.confirmation import extract_confirmation
from apps.agents.offline.slots import ALL, extract_quantity, match_items
from apps.agents.specialists.local_common import (
    Turn,
    ask,
    bullet,
    call,
    confirm_question,
    failure_reply,
    no_orders_reply,
    not_found_reply,
    order_line,
    read_turn,
    say,
)
from apps.agents.specialists.local_rules import answer_then_escalate, open_turn
from apps.agents.specialists.results import day, money
from apps.agents.specialists.returns.answers import (
    another_product_answer,
    exchange_choice,
    obstacle_answer,
    policy_answer,
    reason_question,
)
from apps.agents.specialists.returns.exchange import pick_variant, step_variant
from apps.agents.specialists.returns.refusals import (
    exception_offer,
    item_refusals,
    order_refusal,
    other_candidates,
    still_returnable,
    why_not,
)
from apps.agents.specialists.returns.status import returnable_reply, status_reply
from apps.agents.specialists.said_back import said_back
from apps.agents.tool_results import ErrorCode
from apps.agents.understanding.amounts import amounts_in
from apps.agents.understanding.choice import choose_order, not_bought_lead
from apps.agents.understanding.exchanges import product_instead, wanted_instead, without_wanted
from apps.agents.understanding.local_intents import learned_intent
from apps.agents.understanding.reasons import PACKAGING_ONLY, asks_what_if, return_obstacle, return_reason
from apps.agents.understanding.references import ResolutionKind

_NOT_FOUND = "I couldn't find that item in your recent orders. Which order is it? Your recent orders:"
_EXCEPTION_RE = re.compile(r"\b(?:make an exception|an exception|special case|exception for me|bend the rules)\b", re.I)


# What clearly belongs to another specialist: handed back to the router when none of ours matches.
FOREIGN = re.compile(r"\b(?:cancel|track(?:ing)?|invoices?|receipts?|payment methods?|cards?)\b", re.I)


def _behaviour(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    t = read_turn(messages, info)
    # A general question ("is there a warranty?", "what is your return policy?") goes to the help center.
    opened, intent = open_turn(t, route="returns", topic="returns", foreign=FOREIGN, first=_exception_request)
    if opened is not None:
        return opened
    intent = intent or ("policy" if t.named_order_now() else "return")
    if intent == "status":
        return status_reply(t)
    if intent == "returnable" and not t.named_order_now():
        return returnable_reply(t)
    if (
        intent in ("exchange", "return", "policy")
        and extract_confirmation(t.text) is not True  # a yes to our offer is the return offered, not the swap again
        and any(map(product_instead, t.request_texts("returns")))
    ):
        return _another_product(t)
    if intent == "exchange" and _asks_exchange(t):
        return _exchange(t)
    if intent == "exchange":  # the variant is named ("swap it for a small"), or it leans to a return
        intent = "return"
    return _return_or_refund(t, "policy" if intent == "returnable" else intent)


behaviour = answer_then_escalate(said_back(_behaviour, listing="list_returnable_orders"))


def _exception_request(t: Turn) -> ModelResponse | None:
    """ "Can you make an exception?": a person decides that, not the policy."""
    if _EXCEPTION_RE.search(t.text) and "escalate_to_human" in t.tools:
        return call(("escalate_to_human", {"reason_code": "policy_exception", "note": t.text[:500]}))
    return None


# -- which order -------------------------------------------------------------------------------
def _eligible_order(
    t: Turn, intent: str, action: str, texts: list[str] | None = None
) -> tuple[dict[str, Any], None] | tuple[None, ModelResponse]:
    """The return eligibility of the order the customer means; else what to answer first: the outcome of an action
    already taken, the question which order, the call that checks it, or why it cannot be checked."""
    final = _final_outcome(t, intent)
    if final is not None:
        return None, final
    number, response = _pick(t, " for", action, texts)
    if response is not None:
        return None, response
    check = t.outcome("check_return_eligibility")
    if check is None:
        return None, call(("check_return_eligibility", {"order_number": number}))
    if check.refused:
        code, message = check.refused
        return None, say(not_found_reply(number, t) if code == ErrorCode.NOT_FOUND else message)
    if check.data is None:
        return None, say(failure_reply())
    return check.data, None


def _pick(
    t: Turn, purpose: str, action: str = "return", texts: list[str] | None = None
) -> tuple[str | None, ModelResponse | None]:
    """The order to act on, found by number or by what the customer says about it; else a question."""
    number = t.order_to_act_on()
    if number:
        return number, None
    listed = t.result("list_returnable_orders")
    if listed is None:
        return None, call(("list_returnable_orders", {}))
    orders = listed.get("orders") or []
    if not orders:
        return None, say(
            no_orders_reply(t, "I don't see any orders on your account, so there's nothing to return yet.")
        )
    choice = choose_order(
        texts or t.request_texts("returns"),
        orders,
        action=action,
        tiers=(lambda row: bool(row["returnable"]),),
        anchor=t.anchor_order(),
        described_too=True,
    )
    if choice.kind is ResolutionKind.UNIQUE:
        return choice.number, None
    if choice.kind is ResolutionKind.NONE:
        return None, say(
            not_bought_lead(choice, _NOT_FOUND),
            bullet(order_line(o) for o in orders[:5]),
        )
    if not choice.fitting:
        return None, say(
            "None of your recent orders can be returned right now:",
            bullet(f"{order_line(o)}: {why_not(o)}" for o in choice.candidates[:5]),
            "If one of them needs an exception, I can connect you with a person from our team.",
        )
    return None, say(
        f"Which order is it{purpose}? These can still be returned:",
        bullet(f"{order_line(o)}, returnable until {day(o['window_ends_on'])}" for o in choice.candidates[:5]),
    )


# -- which items ------------------------------------------------------------------------------
def _choose_items(t: Turn, verdict: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, str]:
    """Items as {order_item_id, quantity}, or None and the question to ask."""
    items = verdict["order_items"]
    texts = t.request_texts("returns")
    wanted: list[dict[str, Any]] = []
    named_text = ""
    for text in texts:
        # "the socks from the hoodie order": the hoodie names the order, the socks the item to return.
        # "everything that's left from the socks and mugs order": the items only name the order.
        own = named_items(_ORDER_NAMED_RE.sub(" ", text), items)
        wanted = own or ([] if _EVERYTHING_RE.search(text) else named_items(text, items))
        if wanted:
            named_text = text
            break
    if not wanted:
        for text in texts:
            if _EVERYTHING_RE.search(text):
                # "everything that's left": what can still go back, not what was returned already
                left_of = {v["order_item_id"]: v["returnable_quantity"] for v in verdict["items"]}
                wanted = [i for i in items if not i["final_sale"] and left_of.get(i["order_item_id"], 1) > 0]
                named_text = text
                break
    if not wanted:
        if len(items) == 1:
            wanted = items
        else:
            listing = bullet(
                f"{i['quantity']} x {i['name']}" + (" (final sale)" if i["final_sale"] else "") for i in items
            )
            return None, f"Which item(s) from order {verdict['order_number']}?\n\n{listing}"
    left = {v["order_item_id"]: v["returnable_quantity"] for v in verdict["items"]}
    chosen = []
    for item in wanted:
        quantity: Any = extract_quantity(named_text) if named_text else None
        can_return = left.get(item["order_item_id"], item["quantity"])
        if quantity is None and len(wanted) == 1 and item["quantity"] > 1 and can_return == 1:
            quantity = 1  # "the other mug": one of them is left to return
        if quantity is None and len(wanted) == 1 and _names_plural(named_text, item["product_name"]):
            quantity = can_return  # "the socks", "the mugs": every one still returnable
        if quantity == ALL or quantity is None or len(wanted) > 1:
            if quantity is None and item["quantity"] > 1 and len(wanted) == 1:
                still = f", and {can_return} of them can still be returned" if 0 < can_return < item["quantity"] else ""
                return None, (
                    f"You bought {item['quantity']} x {item['name']}{still}. How many of them would you like to return?"
                )
            quantity = can_return if 0 < can_return < item["quantity"] else item["quantity"]
        chosen.append({"order_item_id": item["order_item_id"], "quantity": min(int(quantity), item["quantity"])})
    return chosen, ""


# Words that name an item without asking to return it: "from the hoodie order" names the order, "keeping the
# hoodie" / "not the hoodie" an item that stays.
_ORDER_NAMED_RE = re.compile(
    r"\b(?:from|in|of|on)\s+(?:the|my|that)\s+(?:[a-z'-]+\s+){1,4}order\b"
    r"|\b(?:keep|keeping|except|not)\s+(?:the|my)\s+[^,.;!?]*",
    re.I,
)


_EVERYTHING_RE = re.compile(r"\b(?:everything|all of (?:it|them)|the whole order|all items|both)\b", re.I)


def _names_plural(text: str, product_name: str) -> bool:
    """Whether the text names the product in the plural ("return the mugs", "the socks"), not one of them."""
    product = set(re.findall(r"[a-z]+", product_name.lower().replace("-", "")))
    said = re.findall(r"[a-z]+", text.lower().replace("-", ""))
    return any(
        len(w) > 3 and w.endswith("s") and (w in product or w[:-1] in product or w[:-2] in product) for w in said
    )


def _amount(t: Turn) -> str | None:
    """An amount the customer names ("$40", "40 dollars"); the tool refuses one above the policy's."""
    amounts = amounts_in(t.text)
    return str(amounts[0]) if amounts else None


def named_items(text: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The order's items the text names ("the socks", "hoodie and mug"): every clear match, best first."""
    names = [i["product_name"] for i in items]
    matches = match_items(text, names, cutoff=0.2)
    if not matches:
        return []
    best = matches[0].score
    chosen = {m.candidate for m in matches if m.score >= max(0.2, best - 0.05)}
    return [i for i in items if i["product_name"] in chosen]


def _obstacle(t: Turn) -> str | None:
    return next(filter(None, map(return_obstacle, t.request_texts("returns"))), None)


def _reason(t: Turn) -> str | None:
    for text in t.request_texts("returns"):
        reason = return_reason(text)
        if reason:
            return reason
    return None


# -- return / refund -------------------------------------------------------------------------------
def _return_or_refund(t: Turn, intent: str) -> ModelResponse:
    verdict, response = _eligible_order(t, intent, "refund" if intent == "refund" else "return")
    if response is not None:
        return response
    if _obstacle(t) == PACKAGING_ONLY:  # only the box is damaged: no return to start, whatever the reason words say
        return say(obstacle_answer(PACKAGING_ONLY, verdict, _named(t, verdict)))
    if any(r["code"] == "return_in_progress" for r in verdict["refusals"]):
        # "when you get the khakis back how much do i get?": the return open on the order answers, with its refund due
        lead = f"Order {verdict['order_number']} already has a return open, so there's no second one to start."
        return status_reply(t, number=verdict["order_number"], lead=lead, labels=False)
    if verdict["refusals"]:
        return say(order_refusal(verdict, intent, _reason(t)), *_alternatives(t, verdict, set()))
    if _obstacle(t):  # washed, worn or damaged by the customer: the policy, after the order's own refusals
        return say(obstacle_answer(_obstacle(t), verdict, _named(t, verdict)))
    if (intent == "policy" and _reason(t) is None) or (
        extract_confirmation(t.text) is not True and asks_what_if(t.text)
    ):
        # "can i return the tote?" is a question; "can i return the tote? changed my mind" asks for the return; "would
        # i pay the fee if the tote doesnt suit me?" asks what would happen: the facts, the return only offered.
        return say(policy_answer(verdict, _named(t, verdict)))
    items, question = _choose_items(t, verdict)
    if items is None:
        return ask(t, question)
    wanted = next((w for w in map(wanted_instead, t.request_texts("returns")) if w), "")
    if wanted:  # "swap the denim jacket for a large": an exchange, refused as one
        blocked = item_refusals(verdict, items, exchange=True)
    else:
        blocked = item_refusals(verdict, items, tuple(_alternatives(t, verdict, {i["order_item_id"] for i in items})))
    if blocked:
        return say(blocked)
    reason = _reason(t)
    if reason is None:
        return ask(t, reason_question(verdict, items, refund=intent == "refund"))
    if intent == "refund":
        args: dict[str, Any] = {"order_number": verdict["order_number"], "reason": reason, "items": items}
        amount = _amount(t)
        if amount:
            args["amount"] = amount
        return call(("request_refund", args))
    args = {"order_number": verdict["order_number"], "items": items, "reason": reason}
    if wanted:
        args["exchange_for"] = wanted  # "can i swap it for a small": an exchange, not a refund
    return call(("create_return", args))


def _alternatives(t: Turn, verdict: dict[str, Any], chosen: set[int]) -> list[str]:
    """What the customer can do instead when what they named cannot go back: the same words naming items of their
    other orders (each with whether and when it can), and what else the order still lets them return."""
    listed = t.result("list_returnable_orders")
    others = (
        other_candidates(
            t.request_texts("returns"), listed.get("orders") or [], verdict["order_number"], verdict["window_days"]
        )
        if listed
        else ""
    )
    return [part for part in (others, still_returnable(verdict, chosen) if chosen else "") if part]


def _final_outcome(t: Turn, intent: str) -> ModelResponse | None:
    for tool in ("create_return", "request_refund"):
        outcome = t.outcome(tool)
        if outcome is None:
            continue
        if outcome.awaiting:
            return say(confirm_question(outcome.awaiting))
        if outcome.refused:
            code, message = outcome.refused
            if code == ErrorCode.NOT_FOUND:
                return say(not_found_reply(t.order_number(), t))
            return say(message, exception_offer(code))
        if outcome.data and tool == "request_refund":
            d = outcome.data
            return say(
                f"I've sent a refund request for {money(d['amount'], d['currency'])} on order {d['order_number']} "
                f"({', '.join(d['items'])}) to our team for review, reference {d['request_reference']}. "
                "It is **pending review**: no money has moved yet. You'll hear from us here or by email once it's "
                "decided; after approval the refund reaches your original payment method within a few business days."
            )
        return say(failure_reply())
    return None


def _named(t: Turn, verdict: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's items the request names ("can i return the tote from TW-100006?"), none when it names none."""
    for text in t.request_texts("returns"):
        found = named_items(text, verdict["order_items"])
        if found:
            return found
    return []


# -- exchange ------------------------------------------------------------------------------------
# The exchange flow asks which size or colour; a message that is only likelier an exchange than a return (a fit
# complaint, "it's too small") goes the way of a return, which names its own exchange when a variant is said.
_SURE_EXCHANGE = 0.9


def _asks_exchange(t: Turn) -> bool:
    """The request surely asks for an exchange and names no variant the return flow could take ("exchange the
    hoodie", "can i swap the tote for another colour")."""
    texts = t.request_texts("returns")
    if any(map(wanted_instead, texts)):
        return False
    return any(
        (p := learned_intent("returns", text)) is not None and p.probabilities.get("exchange", 0.0) >= _SURE_EXCHANGE
        for text in texts
    )


def _exchange(t: Turn) -> ModelResponse:
    """Another size or colour of the same product (the exchanges policy): a return that ships the replacement, with
    no fee and no refund. The variant wanted must be one the product has in stock; when the customer names none, or
    one that is sold out, the options are listed and asked about. Never a refund request."""
    verdict, response = _eligible_order(t, "exchange", "exchange")
    if response is not None:
        return response
    if _obstacle(t):
        return say(obstacle_answer(_obstacle(t), verdict, _named(t, verdict)))
    if verdict["refusals"]:
        return say(order_refusal(verdict, "exchange"), "Exchanges follow the same rules as returns.")
    items, question = _choose_items(t, verdict)
    if items is None:
        return ask(t, question.replace("Which item(s)", "Which item would you like to exchange"))
    blocked = item_refusals(verdict, items, exchange=True)
    if blocked:
        return say(blocked)
    options = t.result("list_exchange_options")
    if options is None:
        return call(("list_exchange_options", {"order_number": verdict["order_number"]}))
    chosen = {i["order_item_id"] for i in items}
    offered = [o for o in options.get("items") or [] if o["order_item_id"] in chosen]
    wanted = _wanted_variant(t, offered)
    if wanted is None or not wanted[1]["in_stock"]:
        return ask(t, exchange_choice(verdict, offered, sold_out=wanted[1]["variant"] if wanted else ""))
    reason = _reason(t) or ("size" if _size_changes(offered, wanted[1]["variant"]) else "changed_mind")
    args = {"order_number": verdict["order_number"], "items": items, "reason": reason}
    return call(("create_return", {**args, "exchange_for": wanted[1]["variant"]}))


def _another_product(t: Turn) -> ModelResponse:
    """ "exchange the bedding set for the wool throw": another product is no exchange (the exchanges page), so the item
    named is looked up without the product wanted, and the answer is the return for a refund and a new order."""
    texts = [without_wanted(text) for text in t.request_texts("returns")]
    verdict, response = _eligible_order(t, "exchange", "exchange", texts)
    if response is not None:
        return response
    if verdict["refusals"]:
        return say(order_refusal(verdict, "exchange"), "Exchanges follow the same rules as returns.")
    named = next((found for found in (named_items(text, verdict["order_items"]) for text in texts) if found), [])
    items = [i for i in named or verdict["order_items"] if not i["final_sale"]] or named or verdict["order_items"]
    wanted = next(w for w in map(product_instead, t.request_texts("returns")) if w)
    return say(another_product_answer(verdict, items, wanted))


# An answer to our "which one would you like?" this short is the variant, whole ("L / Navy", "large please").
_ANSWER_WORDS = 5


def _wanted_variant(t: Turn, offered: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(item, option) the customer wants instead: the variant their words name ("for a large", "in navy"; a short
    answer to our question, "L / Navy" or "large please", whole, leaving out the words of the variant they have)."""
    if len(offered) != 1:
        return None
    item = offered[0]
    names = [o["variant"] for o in item["options"]]
    current = {p.strip().lower() for p in item["current_variant"].split("/")}
    for text in t.request_texts("returns"):
        phrase = wanted_instead(text)
        if not phrase and text == t.text and t.answering_us and len(text.split()) <= _ANSWER_WORDS:
            phrase = " ".join(w for w in re.findall(r"[\w/']+", text) if w.lower() not in current)
        index = pick_variant(item["current_variant"], names, phrase)
        if index is None:  # "for a bigger size": the next size up, in the same colour
            index = step_variant(item["current_variant"], names, text)
        if index is not None:
            return item, item["options"][index]
    return None


def _size_changes(offered: list[dict[str, Any]], variant: str) -> bool:
    """Whether the variant wanted is another size (the first part of a variant name is its size, when it has two)."""
    current = offered[0]["current_variant"].split("/")
    return len(current) > 1 and current[0].strip() != variant.split("/")[0].strip()
