"""A little support-desk activity on top of the demo shop, so `make run` shows a working queue.

Uses the real services (the agent raises the requests), so everything is audited
and consistent. Idempotent: a marker ticket says it ran.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.demo import DEMO_CUSTOMERS
from apps.commerce.models import Customer, Order, OrderItem, OrderStatus, PaymentStatus, ReturnReason
from apps.conversations.models import Conversation, MessageRole
from apps.conversations.services import message_create
from apps.support.models import RefundApproval, Ticket
from apps.support.services import escalation_create, refund_approval_request, ticket_create

MARKER = "demo:support"


def _first_eligible_item(order: Order) -> tuple[OrderItem, Decimal] | None:
    """An item the return policy would refund today (in the window, not final sale) if it arrived damaged,
    and that refund."""
    from apps.commerce.services import ReturnLine, return_check_eligibility

    for item in order.items.all():
        if item.final_sale:
            continue
        verdict = return_check_eligibility(
            order=order, items=[ReturnLine(order_item_id=item.pk, quantity=1)], reason=ReturnReason.DAMAGED
        )
        if verdict.eligible and verdict.refundable_amount > 0:
            return item, verdict.refundable_amount
    return None


def _candidate_orders(limit: int) -> tuple[list[Order], Order | None]:
    """Delivered, paid orders of the generated shoppers (newest numbers first), one customer each, and
    one more whose refund the policy allows, so the queue's first request is a normal approval.

    The demo log-ins (alice, bob, carmen) and the low order numbers are left alone:
    the evaluation scenarios play against them and must find them untouched.
    """
    orders = (
        Order.objects.filter(status=OrderStatus.DELIVERED, payments__status=PaymentStatus.CAPTURED)
        .exclude(customer__email__in=[c[1] for c in DEMO_CUSTOMERS])
        .exclude(refund_approvals__isnull=False)
        .select_related("customer")
        .prefetch_related("items")
        .order_by("-number")
        .distinct()
    )
    picked: list[Order] = []
    eligible: Order | None = None
    spare: Order | None = None
    customers: set[int] = set()
    for order in orders[: limit * 40]:
        if order.customer_id in customers:
            continue
        if eligible is None and _first_eligible_item(order) is not None:
            eligible = order
        elif len(picked) < limit - 1:
            picked.append(order)
        elif spare is None:
            spare = order
        else:
            continue
        customers.add(order.customer_id)
        if len(picked) == limit - 1 and eligible is not None:
            break
    last = eligible or spare
    return ([*picked, last] if last is not None else picked), eligible


def _chat(customer: Customer, lines: list[tuple[str, str]]) -> Conversation:
    conversation = Conversation.objects.create(customer=customer)
    for role, text in lines:
        message_create(
            conversation=conversation,
            role=role,
            text=text,
            agent="returns" if role == MessageRole.ASSISTANT else "",
            status="answered" if role == MessageRole.CUSTOMER else "",
        )
    return conversation


def seed_support_demo() -> dict[str, int] | None:
    """Add demo refund requests, a ticket and an escalation. None when already seeded or no demo shop."""
    if Ticket.objects.filter(created_by_label=MARKER).exists():
        return None
    orders, eligible = _candidate_orders(limit=5)
    if len(orders) < 5:
        return None
    threshold = Decimal(settings.REFUND_SECOND_APPROVER_THRESHOLD)
    # The largest order is refunded whole: above the threshold it needs two approvers.
    big = max((o for o in orders if o is not eligible), key=lambda o: o.total)
    rest = sorted((o for o in orders if o.pk != big.pk), key=lambda o: o is not eligible)
    # The oldest request (first in the queue) is one the policy allows: a newcomer's first approval is a
    # normal one; the others show what "NOT eligible" looks like.
    with transaction.atomic():
        made = 0
        for index, order in enumerate(rest[:3]):
            allowed = _first_eligible_item(order) if order is eligible else None
            # The eligible one asks for what the policy refunds; the others for the item's price.
            item, amount = allowed or (order.items.all()[0], min(order.items.all()[0].unit_price, order.total))
            conversation = _chat(
                order.customer,
                [
                    (MessageRole.CUSTOMER, f"My {item.product_name} from order {order.number} arrived broken."),
                    (
                        MessageRole.ASSISTANT,
                        f"I'm sorry about that. I've asked for a refund of {amount} {order.currency}; "
                        "a member of our team will review it shortly.",
                    ),
                ],
            )
            approval = refund_approval_request(
                order=order,
                customer=order.customer,
                amount=amount,
                reason="Arrived damaged (customer report in chat).",
                items=[{"order_item_id": item.pk, "quantity": 1}],
                conversation=conversation,
                return_reason=ReturnReason.DAMAGED,
            )
            made += 1
            if index == 0:
                # Waiting longer than the escalation limit: the next sweep tells the leads.
                hours = settings.REFUND_APPROVAL_ESCALATE_AFTER_HOURS + 2
                RefundApproval.objects.filter(pk=approval.pk).update(created_at=timezone.now() - timedelta(hours=hours))
        refund_approval_request(
            order=big,
            customer=big.customer,
            amount=big.total,
            reason="Whole order returned: wrong size throughout."
            + (" Needs a second approver." if big.total > threshold else ""),
            items=[],
        )
        made += 1
        ticket_create(
            subject="Parcel marked delivered but not received",
            description="The tracking page says delivered yesterday; nothing arrived and the neighbours have nothing.",
            category="shipping",
            priority="high",
            customer=rest[3].customer,
            orders=[rest[3]],
            created_by_label=MARKER,
        )
        waiting = _chat(
            rest[3].customer,
            [
                (MessageRole.CUSTOMER, "I've asked three times now. Can I please talk to a person?"),
                (MessageRole.ASSISTANT, "Of course. I'm passing you to a member of our team now."),
            ],
        )
        escalation_create(conversation=waiting, reason_code="customer_request", note="Asked for a human.")
    return {"refund_requests": made, "tickets": 1, "escalations": 1}
