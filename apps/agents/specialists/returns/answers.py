"""What the returns specialist answers from a verdict of the policy: can it go back, until when, for how much."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.agents.specialists.results import day, money
from apps.agents.understanding.reasons import CUSTOMER_DAMAGE

REASON_QUESTION = (
    "What's the reason? For example: it arrived damaged, it's the wrong item, it's not as described, "
    "the size doesn't fit, or you changed your mind."
)


def policy_answer(verdict: dict[str, Any], named: list[dict[str, Any]] | None = None) -> str:
    """Can this order (or the items named) go back: until when, what it refunds, and the fee."""
    cur = verdict["currency"]
    fee = money(verdict["return_shipping_fee"] or "0", cur)
    wanted = {i["order_item_id"] for i in named or []}
    eligible = [v for v in verdict["items"] if v["eligible"] and (not wanted or v["order_item_id"] in wanted)]
    final = [
        i["name"] for i in verdict["order_items"] if i["final_sale"] and (not wanted or i["order_item_id"] in wanted)
    ]
    if not eligible:
        names = ", ".join(final) or "that item"
        return f"{names} can't be returned: final-sale items can't be returned or refunded."
    returnable = ", ".join(
        f"{v['returnable_quantity']} x {v['name']} ({money(v['refundable_amount'], cur)})" for v in eligible
    )
    text = (
        f"Yes: order {verdict['order_number']} can be returned until **{day(verdict['window_ends_on'])}** "
        f"({verdict['window_days']} days from delivery). Returnable: {returnable}."
    )
    if final:
        text += f" Not returnable (final sale): {', '.join(final)}."
    if len(eligible) == 1 and Decimal(verdict["return_shipping_fee"] or "0") > 0:
        back = Decimal(eligible[0]["refundable_amount"]) - Decimal(verdict["return_shipping_fee"])
        text += (
            f" If you changed your mind or the size doesn't fit, the {fee} return shipping fee is deducted, so "
            f"{money(max(back, Decimal('0')), cur)} comes back; if it arrived damaged, wrong or not as described, "
            "there's no fee."
        )
    else:
        text += (
            f" Return shipping is free if the item arrived damaged, wrong or not as described; otherwise {fee} is "
            "deducted from the refund."
        )
    return text + " Would you like to start a return?"


def reason_question(verdict: dict[str, Any], items: list[dict[str, Any]], *, refund: bool = False) -> str:
    """The reason question, naming the items and order; for a return, also what the reason changes (the fee)."""
    by_id = {i["order_item_id"]: i for i in verdict["order_items"]}
    what = ", ".join(f"{i['quantity']} x {by_id[i['order_item_id']]['name']}" for i in items)
    question = f"For {what} from order {verdict['order_number']}: {REASON_QUESTION[0].lower()}{REASON_QUESTION[1:]}"
    verdicts = {v["order_item_id"]: v for v in verdict["items"]}
    whole = [verdicts.get(i["order_item_id"]) for i in items]
    fee = Decimal(verdict.get("return_shipping_fee") or "0")
    if (
        refund
        or fee <= 0
        or any(v is None or v["returnable_quantity"] != i["quantity"] for v, i in zip(whole, items, strict=True))
    ):
        return question
    back = sum((Decimal(v["refundable_amount"]) for v in whole if v), Decimal("0")) - fee
    cur = verdict["currency"]
    return (
        f"{question} If it arrived damaged, wrong or not as described there's no return fee; if the size doesn't fit "
        f"or you changed your mind, the {money(fee, cur)} return shipping fee is deducted and "
        f"{money(max(back, Decimal('0')), cur)} comes back."
    )


def exchange_choice(verdict: dict[str, Any], offered: list[dict[str, Any]], *, sold_out: str = "") -> str:
    """The exchanges policy for the item, and what it can be exchanged for: the sizes and colours in stock."""
    rules = (
        "An exchange is for another size or colour of the same product: there's no return shipping fee, and we ship "
        "the replacement at no extra cost once your return is checked."
    )
    if len(offered) != 1:
        return f"{rules} Which item from order {verdict['order_number']} would you like to exchange?"
    item = offered[0]
    in_stock = [o["variant"] for o in item["options"] if o["in_stock"]]
    gone = f"{sold_out} is sold out at the moment. " if sold_out else ""
    if not in_stock:
        return (
            f"{gone}{item['name']} from order {verdict['order_number']} has no other size or colour in stock, so it "
            f"can't be exchanged right now. You can return it for a refund instead (the usual return rules and fee "
            f"apply, until {day(verdict['window_ends_on'])}) and order again when it's back. Would you like to start "
            "a return?"
        )
    return (
        f"{gone}{rules} {item['name']} from order {verdict['order_number']} is in stock in: {', '.join(in_stock)}. "
        "Which one would you like? (For a different product, return this one for a refund and place a new order.)"
    )


def obstacle_answer(obstacle: str | None, verdict: dict[str, Any], named: list[dict[str, Any]]) -> str:
    """Why no return is started (`reasons.return_obstacle`): only the box is damaged, or the customer damaged it."""
    if obstacle == CUSTOMER_DAMAGE:
        return customer_damage_answer(verdict, named)
    return packaging_answer(verdict, named)


def customer_damage_answer(verdict: dict[str, Any], named: list[dict[str, Any]]) -> str:
    """Washed, worn, damaged after it arrived or its packaging gone (the returns policy, as it says it: items must be
    unused, unwashed and in their original condition, with tags and original packaging): no return to start; a fault
    the customer sees in it is a person's call, offered."""
    what = ", ".join(i["name"] for i in (named or verdict["order_items"]))
    return (
        f"I'm sorry about the {what} from order {verdict['order_number']}. Our return policy only takes back items "
        "that are unused, unwashed and in their original condition, with tags and original packaging, so I can't "
        "start a return for it. If you think "
        "it's a fault rather than wear or washing (for example it shrank although you followed the care label), a "
        "person from our team can take a look: just ask and I'll connect you."
    )


def packaging_answer(verdict: dict[str, Any], named: list[dict[str, Any]]) -> str:
    """Only the box is damaged, the item fine (`reasons.return_obstacle`): nothing to send back (the damaged-items page:
    keep the packaging, note it with the carrier), and a fault found later is a damaged item within the window."""
    what = ", ".join(i["name"] for i in (named or verdict["order_items"]))
    until = f" by {day(verdict['window_ends_on'])}" if verdict.get("window_ends_on") else ""
    return (
        f"Sorry the box arrived damaged. As the {what} from order {verdict['order_number']} itself is fine, there's "
        "nothing you need to send back: please keep the packaging until you're sure, and note the damage with the "
        f"carrier if you can. If you find any damage or fault later, tell us{until} with a photo of the item and the "
        "packaging, and we'll offer a replacement or a refund with no return fee."
    )


def another_product_answer(verdict: dict[str, Any], items: list[dict[str, Any]], wanted: str) -> str:
    """An exchange asked for another product: the policy (another size or colour of the same product only), then what
    is possible: a return of the item for a refund (until when, and for how much) and a new order for the product."""
    cur = verdict["currency"]
    by_id = {v["order_item_id"]: v for v in verdict["items"]}
    chosen = [by_id[i["order_item_id"]] for i in items if i["order_item_id"] in by_id]
    what = ", ".join(v["name"] for v in chosen) or "the item"
    refund = sum((Decimal(v["refundable_amount"]) for v in chosen), Decimal("0"))
    fee = Decimal(verdict.get("return_shipping_fee") or "0")
    back = money(max(refund - fee, Decimal("0")), cur)
    return (
        f"An exchange is only for another size or colour of the same product, so I can't swap the {what} from order "
        f"{verdict['order_number']} for {wanted}. What you can do instead: return it for a refund (possible until "
        f"**{day(verdict['window_ends_on'])}**; {money(refund, cur)} back if it arrived damaged, wrong or not as "
        f"described, or {back} after the {money(fee, cur)} return shipping fee otherwise) and place a new order for "
        f"{wanted}. Would you like to start a return?"
    )
