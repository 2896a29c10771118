"""The session's scope, as every specialist tool applies it.

Tools never take a customer id or email from the model: the customer and the
guest's verified order come from `ctx.deps` (the session). Every lookup goes
through a commerce selector with that scope, so another customer's order
number is answered exactly like an unknown one (`NotFound`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from apps.commerce import selectors
from apps.commerce.models import Customer, Order
from apps.core.errors import ApplicationError, NotFound

if TYPE_CHECKING:
    from apps.agents.deps import SupportDeps


def order_in_scope(deps: SupportDeps, number: str) -> Order:
    """The order `number` if the session may see it; NotFound otherwise (unknown or not theirs)."""
    if not (number or "").strip():
        raise ApplicationError("Which order? The order number (it starts with TW-) is needed.", code="order_required")
    return selectors.order_get_for_customer(customer=deps.customer, number=number, only_order=deps.verified_order)


def orders_in_scope(deps: SupportDeps, *, limit: int = 5) -> list[Order]:
    """The session's recent orders: the customer's, or a verified guest's one order."""
    if deps.verified_order is not None:
        try:
            return [order_in_scope(deps, deps.verified_order.number)]
        except NotFound:
            return []
    return selectors.order_list_for_customer(customer=deps.customer, limit=limit)


def owner(deps: SupportDeps, order: Order | None = None) -> Customer | None:
    """Whose account this session acts for: the signed-in customer, or a verified guest's order's customer."""
    if deps.customer is not None:
        return deps.customer
    if deps.verified_order is not None and (order is None or order.pk == deps.verified_order.pk):
        return deps.verified_order.customer
    return None


def actor_label(deps: SupportDeps, order: Order | None = None) -> str:
    """Audit label for a change the customer confirmed in the chat: 'customer:<id>' (else 'agent')."""
    customer = owner(deps, order)
    return f"customer:{customer.pk}" if customer is not None else "agent"
