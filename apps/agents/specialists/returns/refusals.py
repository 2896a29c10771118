"""What the returns specialist says when the policy refuses: a whole order, or some of its items."""

from __future__ import annotations

from typing import Any

from apps.agents.specialists.results import day
from apps.agents.tool_results import ErrorCode
from apps.agents.understanding.cues import HEAD_NOUN_SCORE, match_item, text_words
from apps.agents.understanding.order_facts import facts_from_data


def why_not(order: dict[str, Any]) -> str:
    codes = order.get("refusals") or []
    if ErrorCode.WINDOW_CLOSED in codes:
        return f"the return window closed on {day(order['window_ends_on'])}"
    if ErrorCode.NOT_DELIVERED in codes:
        return "not delivered yet"
    if ErrorCode.RETURN_IN_PROGRESS in codes:
        return "a return is already in progress"
    if ErrorCode.ALREADY_RETURNED in codes:
        return "already returned"
    return "nothing on it can be returned"


def exception_offer(code: str) -> str:
    if code in (
        ErrorCode.WINDOW_CLOSED,
        ErrorCode.FINAL_SALE,
        ErrorCode.NOT_DELIVERED,
        ErrorCode.ALREADY_RETURNED,
        ErrorCode.RETURN_IN_PROGRESS,
    ):
        return "If you believe this needs an exception, I can connect you with a person from our team."
    return ""


def order_refusal(verdict: dict[str, Any], intent: str, reason: str | None = None) -> str:
    refusal = verdict["refusals"][0]
    message = refusal["message"]
    code = refusal["code"]
    if code == ErrorCode.WINDOW_CLOSED and reason == "damaged" and verdict.get("warranty_ends_on"):
        # A defect after the window is not a return, but the warranty may still cover it.
        return (
            f"{message} so order {verdict['order_number']} can't be returned any more. A defect is still covered "
            f"by our {verdict['warranty_months']}-month warranty against manufacturing defects, which for this order "
            f"runs until **{day(verdict['warranty_ends_on'])}**: if the claim is accepted, the item is repaired, "
            "replaced or refunded, and you don't pay for shipping. I can connect you with a person from our team "
            "to start the warranty claim; have a photo of the problem ready."
        )
    if code == ErrorCode.WINDOW_CLOSED:
        return (
            f"I'm sorry: {message} Our policy allows returns and refunds within {verdict['window_days']} days of "
            f"delivery, so I can't start one for order {verdict['order_number']}. If there's a special reason, "
            "I can connect you with a person from our team."
        )
    if code == ErrorCode.NOT_DELIVERED:
        return f"{message} If you no longer want it, the order team can check whether it can still be cancelled."
    if code == ErrorCode.RETURN_IN_PROGRESS:
        return f"{message} Ask me for the status of your refund or return to see where it stands."
    return message


def item_refusals(
    verdict: dict[str, Any], items: list[dict[str, Any]], instead: tuple[str, ...] = (), *, exchange: bool = False
) -> str:
    """Why these items cannot go back, then `instead` (what can), then the question; "" when they all can."""
    by_id = {i["order_item_id"]: i for i in verdict["order_items"]}
    eligible = {v["order_item_id"]: v for v in verdict["items"]}
    problems = []
    for line in items:
        item = by_id[line["order_item_id"]]
        if item["final_sale"]:
            problems.append(
                f"{item['name']} from order {verdict['order_number']} was a final-sale item, and final-sale items "
                + ("can't be exchanged or returned." if exchange else "can't be returned or refunded.")
            )
        elif (
            line["order_item_id"] in eligible
            and line["quantity"] > eligible[line["order_item_id"]]["returnable_quantity"]
        ):
            left = eligible[line["order_item_id"]]["returnable_quantity"]
            # The order is named: "just the one then" goes on with it.
            problems.append(f"Only {left} x {item['name']} from order {verdict['order_number']} can still be returned.")
        elif line["order_item_id"] not in eligible:
            problems.append(f"{item['name']} can no longer be returned (it is already in a return).")
    if problems:
        said = "\n\n".join((" ".join(problems), *instead))
        return (
            said + f" If there's another item you'd like to {'exchange' if exchange else 'return'}, tell me which one."
        )
    return ""


def other_candidates(texts: list[str], listed: list[dict[str, Any]], picked: str, window_days: int) -> str:
    """The customer's items in their other orders that the request names as well, each with whether it can go back:
    "the jacket" is the final-sale denim jacket, and also the rain jacket that has not been delivered yet.

    `listed` is what `list_returnable_orders` returned (their own orders); `picked` the order the answer is about.
    """
    rows = {o["number"]: o for o in listed}
    lines: list[str] = []
    for text in texts:
        words = text_words(text)
        for order in facts_from_data(listed):
            if order.number == picked:
                continue
            for item in order.items:
                if match_item(text, words, item).score < HEAD_NOUN_SCORE:
                    continue
                row = rows[order.number]
                name = f"{item.product} ({item.variant})" if item.variant else item.product
                if row.get("returnable"):
                    until = day(row["window_ends_on"])
                    lines.append(f"{name} from order {order.number} can be returned until {until}.")
                elif ErrorCode.NOT_DELIVERED in (row.get("refusals") or []):
                    lines.append(
                        f"{name} from order {order.number} hasn't been delivered yet ({row['status_label'].lower()}): "
                        f"once it arrives you can return it within {window_days} days."
                    )
                else:
                    lines.append(f"{name} from order {order.number} can't be returned: {why_not(row)}.")
        if lines:
            break
    return " ".join(lines)


def still_returnable(verdict: dict[str, Any], chosen: set[int]) -> str:
    """What else in the same order can still go back ("the tote"), when what was asked for cannot."""
    names = [v["name"] for v in verdict["items"] if v["eligible"] and v["order_item_id"] not in chosen]
    if not names or not verdict.get("window_ends_on"):
        return ""
    return (
        f"From order {verdict['order_number']} you can still return {', '.join(names)}, until "
        f"{day(verdict['window_ends_on'])}."
    )
