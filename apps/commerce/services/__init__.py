"""Every write to the shop's data. Each state change checks its transition table and writes an `AuditEvent`."""

from ._common import (
    INVOICE_TRANSITIONS,
    ORDER_TRANSITIONS,
    PAYMENT_TRANSITIONS,
    RETURN_TRANSITIONS,
    SHIPMENT_TRANSITIONS,
    can_transition,
)
from .invoices import invoice_send_copy
from .orders import (
    ShippingAddress,
    order_cancel,
    order_change_shipping_address,
    order_mark_delivered,
    order_mark_processing,
    order_ship,
)
from .refunds import refund_execute
from .return_policy import (
    ItemVerdict,
    Refusal,
    ReturnEligibility,
    ReturnLine,
    return_check_eligibility,
    return_window_end,
)
from .returns import return_cancel, return_create, return_mark_received

__all__ = [
    "INVOICE_TRANSITIONS",
    "ORDER_TRANSITIONS",
    "PAYMENT_TRANSITIONS",
    "RETURN_TRANSITIONS",
    "SHIPMENT_TRANSITIONS",
    "ItemVerdict",
    "Refusal",
    "ReturnEligibility",
    "ReturnLine",
    "ShippingAddress",
    "can_transition",
    "invoice_send_copy",
    "order_cancel",
    "order_change_shipping_address",
    "order_mark_delivered",
    "order_mark_processing",
    "order_ship",
    "refund_execute",
    "return_cancel",
    "return_check_eligibility",
    "return_create",
    "return_mark_received",
    "return_window_end",
]
