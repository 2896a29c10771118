"""Admin for the shop's records: read-only views; state changes only through admin actions that call services.

Nobody edits a status or an amount in a form. Actions are offered to users with
the model's `change` permission (superusers by default; the staff roles only
view) and record `staff:<username>` in the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from apps.commerce import services
from apps.commerce.models import (
    Address,
    AuditEvent,
    Customer,
    Invoice,
    Order,
    OrderItem,
    Payment,
    PaymentMethod,
    Product,
    ProductVariant,
    Refund,
    ReturnItem,
    ReturnRequest,
    Shipment,
    TrackingEvent,
)
from apps.core.admin import ReadOnlyAdminMixin
from apps.core.errors import ApplicationError


def _actor(request: HttpRequest) -> dict[str, Any]:
    return {"actor_label": f"staff:{request.user.get_username()}", "actor": request.user}


def _run_each(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    objects: QuerySet[Any],
    verb: str,
    call: Callable[[Any], object],
) -> None:
    """Apply a service to each selected row; report successes and each refusal with its reason."""
    done = 0
    for obj in objects:
        try:
            call(obj)
            done += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", level=messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{verb}: {done}.", level=messages.SUCCESS)


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Everything visible, nothing editable or deletable; actions need `change` (see has_act_permission)."""

    def has_act_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


# --- customers and catalogue -----------------------------------------------------


class AddressInline(ReadOnlyInline):
    model = Address
    fields = ("full_name", "line1", "line2", "city", "region", "postal_code", "country", "is_default")


class PaymentMethodInline(ReadOnlyInline):
    model = PaymentMethod
    fields = ("kind", "masked", "exp_month", "exp_year", "is_default")
    readonly_fields = ("masked",)


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("email", "first_name", "last_name", "user", "created_at")
    search_fields = ("email", "first_name", "last_name", "orders__number")
    list_select_related = ("user",)
    inlines = (AddressInline, PaymentMethodInline)


class VariantInline(ReadOnlyInline):
    model = ProductVariant
    fields = ("sku", "name", "price", "currency", "stock")


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ("sku", "name", "category", "final_sale", "is_active")
    list_filter = ("category", "final_sale", "is_active")
    search_fields = ("sku", "name", "variants__sku")
    inlines = (VariantInline,)


# --- orders ----------------------------------------------------------------------


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = ("sku", "product_name", "variant_name", "quantity", "unit_price", "final_sale")
    show_change_link = False


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = ("carrier", "tracking_number", "status", "shipped_at", "estimated_delivery", "delivered_at")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("amount", "currency", "status", "refunded_amount", "method", "failure_code", "created_at")
    readonly_fields = ("created_at",)


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ("amount", "method", "status", "reason", "idempotency_key", "processed_at")


class ReturnRequestInline(ReadOnlyInline):
    model = ReturnRequest
    fields = ("status", "is_exchange", "reason", "label_reference", "return_shipping_fee", "created_at")
    readonly_fields = ("created_at",)


class AuditEventInline(ReadOnlyInline):
    model = AuditEvent
    fields = ("created_at", "subject_type", "action", "from_state", "to_state", "actor_label")
    readonly_fields = ("created_at",)
    show_change_link = False
    ordering = ("created_at", "id")


class ShipForm(forms.Form):
    carrier = forms.ChoiceField(choices=[(c, c) for c in ("UPS", "FedEx", "USPS", "DHL")])
    tracking_number = forms.CharField(required=False, max_length=60, help_text="Left empty: one is generated.")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "customer_email", "status", "total", "currency", "placed_at")
    list_filter = ("status", "shipping_method")
    search_fields = ("number", "customer__email", "invoice__number", "shipments__tracking_number")
    list_select_related = ("customer",)
    date_hierarchy = "placed_at"
    inlines = (OrderItemInline, ShipmentInline, PaymentInline, RefundInline, ReturnRequestInline, AuditEventInline)
    actions = ("mark_processing", "ship", "mark_delivered", "cancel")

    @admin.display(description="customer", ordering="customer__email")
    def customer_email(self, obj: Order) -> str:
        return obj.customer.email

    @admin.action(description="Start processing (captures the payment)", permissions=["act"])
    def mark_processing(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        _run_each(
            self, request, queryset, "Processing", lambda o: services.order_mark_processing(order=o, **_actor(request))
        )

    @admin.action(description="Ship", permissions=["act"])
    def ship(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        form = ShipForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            tracking = form.cleaned_data["tracking_number"]
            if tracking and queryset.count() > 1:
                self.message_user(request, "A tracking number fits one order only.", level=messages.ERROR)
                return None
            _run_each(
                self,
                request,
                queryset,
                "Shipped",
                lambda o: services.order_ship(
                    order=o, carrier=form.cleaned_data["carrier"], tracking_number=tracking, **_actor(request)
                ),
            )
            return None
        return TemplateResponse(
            request,
            "admin/commerce/order/ship.html",
            {
                **self.admin_site.each_context(request),
                "title": "Ship orders",
                "opts": self.opts,
                "orders": queryset,
                "form": form,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description="Mark delivered", permissions=["act"])
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        _run_each(
            self, request, queryset, "Delivered", lambda o: services.order_mark_delivered(order=o, **_actor(request))
        )

    @admin.action(description="Cancel (pending orders only)", permissions=["act"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        _run_each(
            self,
            request,
            queryset,
            "Cancelled",
            lambda o: services.order_cancel(order=o, reason="Cancelled by staff in admin", **_actor(request)),
        )


class TrackingEventInline(ReadOnlyInline):
    model = TrackingEvent
    fields = ("occurred_at", "status", "location", "description")
    show_change_link = False


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = ("tracking_number", "carrier", "status", "order", "shipped_at", "delivered_at")
    list_filter = ("status", "carrier")
    search_fields = ("tracking_number", "order__number", "order__customer__email")
    list_select_related = ("order",)
    inlines = (TrackingEventInline,)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("order", "amount", "currency", "status", "refunded_amount", "failure_code", "created_at")
    list_filter = ("status", "failure_code")
    search_fields = ("order__number", "order__customer__email", "processor_reference")
    list_select_related = ("order",)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("number", "order", "status", "total", "currency", "issued_at")
    list_filter = ("status",)
    search_fields = ("number", "order__number", "order__customer__email")
    list_select_related = ("order",)
    actions = ("send_copy",)

    @admin.action(description="Email a copy to the customer", permissions=["act"])
    def send_copy(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        _run_each(
            self,
            request,
            queryset.select_related("order__customer"),
            "Copies sent",
            lambda i: services.invoice_send_copy(invoice=i, to_email=i.order.customer.email, **_actor(request)),
        )


class ReturnItemInline(ReadOnlyInline):
    model = ReturnItem
    fields = ("order_item", "quantity", "exchange_variant")
    show_change_link = False


@admin.register(ReturnRequest)
class ReturnRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "order", "customer", "status", "is_exchange", "reason", "label_reference", "created_at")
    list_filter = ("status", "is_exchange", "reason")
    search_fields = ("order__number", "customer__email", "label_reference")
    list_select_related = ("order", "customer")
    inlines = (ReturnItemInline,)
    actions = ("mark_received", "reject")

    @admin.action(description="Mark received at the warehouse (restocks)", permissions=["act"])
    def mark_received(self, request: HttpRequest, queryset: QuerySet[ReturnRequest]) -> None:
        _run_each(
            self,
            request,
            queryset,
            "Received",
            lambda r: services.return_mark_received(return_request=r, **_actor(request)),
        )

    @admin.action(description="Reject (before it is received)", permissions=["act"])
    def reject(self, request: HttpRequest, queryset: QuerySet[ReturnRequest]) -> None:
        _run_each(
            self,
            request,
            queryset,
            "Rejected",
            lambda r: services.return_cancel(return_request=r, reject=True, **_actor(request)),
        )


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    """Refunds are made by the approval worker through `refund_execute`, never here."""

    list_display = ("order", "amount", "currency", "method", "status", "processed_at", "idempotency_key")
    list_filter = ("status", "method")
    search_fields = ("order__number", "order__customer__email", "idempotency_key", "processor_reference")
    list_select_related = ("order",)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "subject_type", "subject_id", "action", "from_state", "to_state", "actor_label")
    list_filter = ("subject_type", "action")
    search_fields = ("order__number", "actor_label", "action")
    list_select_related = ("order",)
    date_hierarchy = "created_at"
