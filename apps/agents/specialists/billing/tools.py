"""The billing specialist's tools: invoices (and a copy by email, write), payments, failures, methods, charges.

Sending an invoice copy is a `write`: it goes only to the email address on the
customer's record (the service refuses any other), but an email leaving the shop
is a side effect the customer should approve, and a hijacked model must not be
able to send mail in a loop. The confirmation costs one "yes".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from pydantic_ai import RunContext

from apps.agents.deps import SupportDeps
from apps.agents.specialists import serialize
from apps.agents.specialists.results import mask_email, money
from apps.agents.specialists.scope import actor_label, order_in_scope, owner
from apps.agents.tools import read_tool, write_tool
from apps.commerce import selectors, services
from apps.commerce.models import ShippingMethod
from apps.core.errors import ApplicationError


@read_tool
def list_invoices(ctx: RunContext[SupportDeps], limit: int = 10) -> dict[str, Any]:
    """The customer's invoices, newest first: number, order, status, date, total."""
    deps = ctx.deps
    invoices = selectors.invoice_list_for_customer(
        customer=deps.customer, only_order=deps.verified_order, limit=max(1, min(limit, 20))
    )
    return {"invoices": [serialize.invoice(i) for i in invoices]}


def _invoice(deps: SupportDeps, number: str) -> Any:
    if not (number or "").strip():
        raise ApplicationError("Which invoice? Give an invoice number (INV-...) or an order number.", code="required")
    return selectors.invoice_get_for_customer(customer=deps.customer, number=number, only_order=deps.verified_order)


@read_tool
def get_invoice(ctx: RunContext[SupportDeps], number: str) -> dict[str, Any]:
    """One invoice by its number (INV-...) or its order's number (TW-...), with the amounts."""
    return serialize.invoice(_invoice(ctx.deps, number))


def _recipient(deps: SupportDeps, invoice: Any) -> str:
    customer = owner(deps, invoice.order)
    if customer is None:
        raise ApplicationError("No email address is on file for this session.", code="no_email_on_file")
    return customer.email


def _send_summary(args: dict[str, Any], deps: SupportDeps) -> str:
    invoice = _invoice(deps, args["number"])
    _recipient(deps, invoice)
    # The address itself is not repeated in the chat: "the one on your account" is what the customer needs. The
    # invoice's total is: it tells them this is the invoice they mean before anything is sent.
    total = money(str(invoice.total), invoice.currency)
    return (
        f"email a copy of invoice {invoice.number} (order {invoice.order.number}, {total}) to the email address on "
        "your account"
    )


def _send_precheck(ctx: Any, number: str) -> None:
    _recipient(ctx.deps, _invoice(ctx.deps, number))


def _send_done(result: Any, args: dict[str, Any]) -> str:
    return f"Sent: a copy of invoice {result['number']} is on its way to the email address on your account."


@write_tool(
    summary=_send_summary, precheck=_send_precheck, done_message=_send_done, confirm_verbs=("send", "email", "resend")
)
def send_invoice_copy(ctx: RunContext[SupportDeps], number: str) -> dict[str, Any]:
    """Email a copy of an invoice to the email address on the customer's account (never another address).
    Needs the customer's confirmation."""
    deps = ctx.deps
    invoice = _invoice(deps, number)
    to_email = _recipient(deps, invoice)
    services.invoice_send_copy(invoice=invoice, to_email=to_email, actor_label=actor_label(deps, invoice.order))
    return {"number": invoice.number, "to": mask_email(to_email)}


@read_tool
def list_payments(ctx: RunContext[SupportDeps], order_number: str = "") -> dict[str, Any]:
    """Payments and their status (captured, failed, refunded...), for one order or the recent ones."""
    deps = ctx.deps
    if order_number:
        order_in_scope(deps, order_number)  # NotFound for an order outside the session
    payments = selectors.payment_list_for_customer(
        customer=deps.customer, only_order=deps.verified_order, order_number=order_number
    )
    return {"payments": [serialize.payment(p) for p in payments]}


@read_tool
def payment_failure_help(ctx: RunContext[SupportDeps], order_number: str) -> dict[str, Any]:
    """Why the order's latest payment failed, and what the customer can do about it."""
    deps = ctx.deps
    order = order_in_scope(deps, order_number)
    help_ = selectors.payment_failure_help_for_customer(
        customer=deps.customer, number=order.number, only_order=deps.verified_order
    )
    data: dict[str, Any] = {"order_number": order.number, "failed": help_ is not None}
    if help_ is not None:
        data.update(
            {
                "failure_code": help_.failure_code,
                "explanation": help_.explanation,
                "next_steps": list(help_.next_steps),
            }
        )
    else:
        latest = order.payments.order_by("-created_at", "-id").first()
        data["latest_payment_status"] = latest.status if latest else None
    return data


@read_tool
def list_payment_methods(ctx: RunContext[SupportDeps]) -> dict[str, Any]:
    """The payment methods saved on the account, masked (brand and last four digits only)."""
    deps = ctx.deps
    methods = selectors.payment_methods_for_customer(customer=deps.customer)
    return {
        "signed_in": deps.customer is not None,
        "methods": [
            {"label": m.label, "kind": m.kind, "expires": m.expires, "is_default": m.is_default} for m in methods
        ],
    }


@read_tool
def explain_charges(ctx: RunContext[SupportDeps], order_number: str) -> dict[str, Any]:
    """What the customer was charged for an order, line by line: items, shipping, tax, payments and refunds."""
    deps = ctx.deps
    order = order_in_scope(deps, order_number)
    notes = []
    if order.shipping_fee == 0:
        notes.append(f"Standard shipping is free on orders over {money(settings.SHOP_FREE_SHIPPING_THRESHOLD)}.")
    elif order.shipping_method == ShippingMethod.EXPRESS:
        notes.append(f"Express shipping costs {money(order.shipping_fee, order.currency)}.")
    else:
        notes.append(
            f"Standard shipping costs {money(order.shipping_fee, order.currency)} "
            f"(free over {money(settings.SHOP_FREE_SHIPPING_THRESHOLD)})."
        )
    if order.tax:
        notes.append("Sales tax is charged on the items at the rate of the delivery address.")
    payments = list(order.payments.select_related("method").all())
    for p in payments:
        p.order = order
    refunded = sum((p.refunded_amount for p in payments), Decimal("0.00"))
    return {
        "order_number": order.number,
        "currency": order.currency,
        "lines": [
            {
                "name": serialize.item_label(i),
                "quantity": i.quantity,
                "unit_price": str(i.unit_price),
                "amount": str(i.line_total),
            }
            for i in order.items.all()
        ],
        "subtotal": str(order.subtotal),
        "shipping_fee": str(order.shipping_fee),
        "shipping_method": order.get_shipping_method_display(),
        "tax": str(order.tax),
        "total": str(order.total),
        "payments": [serialize.payment(p) for p in payments],
        "refunded": str(refunded),
        "notes": notes,
    }


TOOLS = [
    list_invoices,
    get_invoice,
    send_invoice_copy,
    list_payments,
    payment_failure_help,
    list_payment_methods,
    explain_charges,
]
