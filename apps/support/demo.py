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
from apps.commerce.models import Customer, Order, OrderStatus, PaymentStatus
from apps.conversations.models import Conversation, MessageRole
from apps.conversations.services import message_create
from apps.support.models import RefundApproval, Ticket
from apps.support.services import escalation_create, refund_approval_request, ticket_create

MARKER = "demo:support"


def _refundable_orders(customer: Customer) -> list[Order]:
    return list(
        Order.objects.filter(customer=customer, status=OrderStatus.DELIVERED, payments__status=PaymentStatus.CAPTURED)
        .exclude(refund_approvals__isnull=False)
        .prefetch_related("items")
        .order_by("-placed_at")
        .distinct()[:5]
    )


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
    customers = list(Customer.objects.filter(email__in=[c[1] for c in DEMO_CUSTOMERS]).order_by("email"))
    if not customers:
        return None
    with transaction.atomic():
        made = 0
        threshold = Decimal(settings.REFUND_SECOND_APPROVER_THRESHOLD)
        for index, customer in enumerate(customers):
            orders = _refundable_orders(customer)
            if not orders:
                continue
            order = orders[0]
            item = order.items.all()[0]
            amount = min(item.unit_price, order.total)
            conversation = _chat(
                customer,
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
                customer=customer,
                amount=amount,
                reason="Arrived damaged (customer report in chat).",
                items=[{"order_item_id": item.pk, "quantity": 1}],
                conversation=conversation,
            )
            made += 1
            if index == 0:
                # Waiting longer than the escalation limit: the next sweep tells the leads.
                hours = settings.REFUND_APPROVAL_ESCALATE_AFTER_HOURS + 2
                RefundApproval.objects.filter(pk=approval.pk).update(created_at=timezone.now() - timedelta(hours=hours))
            big = next((o for o in orders[1:] if o.total > threshold), None)
            if big is not None:
                refund_approval_request(
                    order=big,
                    customer=customer,
                    amount=big.total,
                    reason="Whole order returned: wrong size throughout.",
                    items=[],
                )
                made += 1
        first = customers[0]
        ticket_orders = _refundable_orders(first)[:1]
        ticket_create(
            subject="Parcel marked delivered but not received",
            description="The tracking page says delivered yesterday; nothing arrived and the neighbours have nothing.",
            category="shipping",
            priority="high",
            customer=first,
            orders=ticket_orders,
            created_by_label=MARKER,
        )
        waiting = _chat(
            customers[-1],
            [
                (MessageRole.CUSTOMER, "I've asked three times now. Can I please talk to a person?"),
                (MessageRole.ASSISTANT, "Of course. I'm passing you to a member of our team now."),
            ],
        )
        escalation_create(conversation=waiting, reason_code="customer_request", note="Asked for a human.")
    return {"refund_requests": made, "tickets": 1, "escalations": 1}
