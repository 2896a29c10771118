"""Build the demo shop in memory, deterministically, then write it with bulk inserts.

`generate()` draws everything from one `random.Random(seed)` and a fixed anchor
(midnight UTC of `base_date`; every timestamp is at or before it), so the same
seed, base date and sizes give the same data, byte for byte (`digest()`).
The demo customers' orders come from `scenarios.py` and keep their numbers
whatever the sizes. Nothing here reads the database; `write()` does the inserts.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import models, transaction

from apps.accounts.demo import DEMO_CUSTOMERS, DEMO_PASSWORD, DEMO_STAFF
from apps.accounts.models import User
from apps.commerce.models import (
    Address,
    Customer,
    Invoice,
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentMethod,
    Product,
    ProductVariant,
    Refund,
    ReturnItem,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
    Shipment,
    ShipmentStatus,
    ShippingMethod,
    TrackingEvent,
)

from . import catalog, scenarios
from .builder import Builder, DemoData, LineSpec, ReturnSpec

DEFAULT_SEED = 20260601
BULK_ORDER_START = 100101
# Share of generated (non-demo) orders per status; the first orders cycle through every status
# so even a tiny data set has each one.
STATUS_WEIGHTS: tuple[tuple[str, int], ...] = (
    (OrderStatus.PENDING, 7),
    (OrderStatus.PROCESSING, 7),
    (OrderStatus.SHIPPED, 12),
    (OrderStatus.DELIVERED, 48),
    (OrderStatus.CANCELLED, 8),
    (OrderStatus.RETURN_REQUESTED, 4),
    (OrderStatus.PARTIALLY_RETURNED, 4),
    (OrderStatus.RETURNED, 4),
    (OrderStatus.EXCHANGE_REQUESTED, 3),
    (OrderStatus.EXCHANGED, 3),
)

_LINE_COUNTS, _LINE_COUNT_CUM = (1, 2, 3, 4), (45, 75, 92, 100)
_QUANTITIES, _QUANTITY_CUM = (1, 2, 3), (80, 95, 100)


def _pick_lines(builder: Builder, *, returnable_only: bool, multi_variant: bool, high_value_ok: bool) -> list[LineSpec]:
    rng = builder.rng
    key = (returnable_only, multi_variant, high_value_ok)
    pool = builder.pools.get(key)
    if pool is None:  # stock does not change while generating, so each pool is built once
        pool = builder.pools[key] = [
            v
            for v in builder.data.variants
            if (not returnable_only or not v.product.final_sale)
            and (not multi_variant or any(o is not v and o.stock > 0 for o in builder.siblings[v.product.sku]))
            and (high_value_ok or v.price < 300)
            and v.stock > 0
        ]
    count = rng.choices(_LINE_COUNTS, cum_weights=_LINE_COUNT_CUM)[0]
    chosen: list[LineSpec] = []
    seen: set[str] = set()
    for variant in rng.sample(pool, k=min(count, len(pool))):
        if variant.product.sku in seen:
            continue
        seen.add(variant.product.sku)
        chosen.append(LineSpec(variant, rng.choices(_QUANTITIES, cum_weights=_QUANTITY_CUM)[0]))
    return chosen


def _generated_order(
    builder: Builder, *, seq: int, status: str, customer: Customer, address: Address, methods: list[PaymentMethod]
) -> None:
    rng, anchor = builder.rng, builder.anchor
    returnish = status in (
        OrderStatus.RETURN_REQUESTED,
        OrderStatus.PARTIALLY_RETURNED,
        OrderStatus.RETURNED,
        OrderStatus.EXCHANGE_REQUESTED,
        OrderStatus.EXCHANGED,
    )
    lines = _pick_lines(
        builder,
        returnable_only=returnish,
        multi_variant=status in (OrderStatus.EXCHANGE_REQUESTED, OrderStatus.EXCHANGED),
        high_value_ok=rng.random() < 0.3,
    )
    if status == OrderStatus.PARTIALLY_RETURNED and sum(line.quantity for line in lines) < 2:
        lines[0].quantity = 2
    method = rng.choice(methods)
    express = rng.random() < 0.15
    kwargs: dict[str, Any] = {
        "shipping_method": ShippingMethod.EXPRESS if express else ShippingMethod.STANDARD,
    }
    window = settings.SHOP_RETURN_WINDOW_DAYS
    if status == OrderStatus.PENDING:
        placed = anchor - builder.minutes(1, 36)
        if rng.random() < 0.2:
            kwargs.update(failed_payment=rng.choice(catalog.FAILURE_CODES), payment_failed_only=True)
    elif status == OrderStatus.PROCESSING:
        placed = anchor - builder.minutes(10, 72)
    elif status == OrderStatus.SHIPPED:
        placed = anchor - builder.minutes(40, 160)
        shipped = min(placed + builder.minutes(10, 30), anchor - timedelta(hours=2))
        roll = rng.random()
        kwargs.update(
            shipped_at=shipped,
            shipment_status=ShipmentStatus.EXCEPTION
            if roll < 0.06
            else ShipmentStatus.OUT_FOR_DELIVERY
            if roll < 0.25
            else ShipmentStatus.IN_TRANSIT,
        )
    elif status == OrderStatus.CANCELLED:
        placed = anchor - builder.minutes(24, 24 * 300)
        kwargs["cancelled_at"] = placed + builder.minutes(0.2, 20)
        if rng.random() < 0.3:
            kwargs.update(failed_payment=rng.choice(catalog.FAILURE_CODES), payment_failed_only=True)
    else:
        if status in (OrderStatus.RETURN_REQUESTED, OrderStatus.EXCHANGE_REQUESTED):
            delivered = anchor - builder.minutes(24 * 2, 24 * (window - 3))
        elif returnish:
            delivered = anchor - builder.minutes(24 * 25, 24 * 250)
        else:
            delivered = anchor - builder.minutes(6, 24 * 365)
        shipped = delivered - builder.minutes(24 * (1 if express else 2), 24 * (2 if express else 5))
        placed = shipped - builder.minutes(6, 40)
        kwargs.update(shipped_at=shipped, delivered_at=delivered)
        if returnish:
            kwargs["returns"] = [_return_spec(builder, status, lines, delivered)]
        elif rng.random() < 0.03:
            kwargs["goodwill_refund"] = (
                Decimal("10.00"),
                "Goodwill credit: late delivery",
                delivered + timedelta(days=2),
            )
    if status not in (OrderStatus.PENDING, OrderStatus.CANCELLED) and rng.random() < 0.05:
        kwargs["failed_payment"] = rng.choice(catalog.FAILURE_CODES)
    builder.order(
        number=f"TW-{BULK_ORDER_START + seq}",
        customer=customer,
        address=address,
        method=method,
        status=status,
        placed_at=placed,
        lines=lines,
        **kwargs,
    )


def _return_spec(builder: Builder, status: str, lines: list[LineSpec], delivered: datetime) -> ReturnSpec:
    rng, anchor = builder.rng, builder.anchor
    days_since = (anchor - delivered).days
    requested = delivered + builder.minutes(12, 24 * max(1, min(days_since - 1, 20)))
    reason = rng.choice(ReturnReason.values)
    if status in (OrderStatus.EXCHANGE_REQUESTED, OrderStatus.EXCHANGED):
        return ReturnSpec(
            lines=[(0, 1)],
            reason=ReturnReason.SIZE,
            status=ReturnStatus.LABEL_ISSUED if status == OrderStatus.EXCHANGE_REQUESTED else ReturnStatus.RECEIVED,
            requested_at=requested,
            is_exchange=True,
            received_at=None if status == OrderStatus.EXCHANGE_REQUESTED else requested + timedelta(days=5),
        )
    if status == OrderStatus.RETURN_REQUESTED:
        received = requested + timedelta(days=4) if requested + timedelta(days=4) < anchor else None
        return ReturnSpec(
            lines=[(i, line.quantity) for i, line in enumerate(lines)],
            reason=reason,
            status=ReturnStatus.RECEIVED if received else ReturnStatus.LABEL_ISSUED,
            requested_at=requested,
            received_at=received,
        )
    # returned: everything; partially returned: one unit of the first line
    chosen = [(i, line.quantity) for i, line in enumerate(lines)] if status == OrderStatus.RETURNED else [(0, 1)]
    return ReturnSpec(
        lines=chosen,
        reason=reason,
        status=ReturnStatus.REFUNDED,
        requested_at=requested,
        received_at=requested + timedelta(days=5),
        refunded_at=requested + timedelta(days=6),
    )


def generate(*, seed: int = DEFAULT_SEED, base_date: date, customers: int = 200, orders: int = 1000) -> DemoData:
    """The whole demo shop as unsaved model instances linked to each other."""
    if customers < 1 and orders > 0:
        raise ValueError("Generated orders need at least one generated customer.")
    rng = random.Random(seed)
    anchor = datetime.combine(base_date, time(0, 0), tzinfo=UTC)
    builder = Builder(rng=rng, anchor=anchor)
    builder.add_catalog()

    password = make_password(DEMO_PASSWORD, salt=hashlib.sha256(f"{seed}".encode()).hexdigest()[:22])
    for username, role, is_superuser in DEMO_STAFF:
        user = builder.user(
            username=username,
            email=f"{username}@tidewater.example",
            first=username.capitalize(),
            last="(staff)",
            is_staff=True,
            is_superuser=is_superuser,
        )
        user.password = password
        if role:
            builder.data.user_groups.append((user, role))

    # The known demo customers and their hand-written orders come first so their numbers never move.
    demo_users: dict[str, User] = {}
    for username, email, first, last in DEMO_CUSTOMERS:
        user = builder.user(username=username, email=email, first=first, last=last)
        user.password = password
        demo_users[username] = user
    scenarios.build(builder, demo_users=demo_users)

    crowd: list[tuple[Customer, Address, list[PaymentMethod]]] = []
    for n in range(customers):
        first, last = rng.choice(catalog.FIRST_NAMES), rng.choice(catalog.LAST_NAMES)
        email = f"{first.lower()}.{re.sub(r'[^a-z]', '', last.lower())}{n + 1}@example.com"
        since = anchor - timedelta(days=rng.randint(30, 900))
        crowd.append(builder.customer(email=email, first=first, last=last, since=since))

    statuses = [s for s, _ in STATUS_WEIGHTS]
    cum_weights = list(itertools.accumulate(w for _, w in STATUS_WEIGHTS))
    for seq in range(orders):
        status = statuses[seq] if seq < len(statuses) else rng.choices(statuses, cum_weights=cum_weights)[0]
        customer, address, methods = crowd[rng.randrange(len(crowd))]
        _generated_order(builder, seq=seq, status=status, customer=customer, address=address, methods=methods)

    # A customer's account is older than their first order.
    first_order: dict[int, datetime] = {}
    for order in builder.data.orders:
        key = id(order.customer)
        first_order[key] = min(first_order.get(key, order.placed_at), order.placed_at)
    builder.data.created_at = [
        (obj, min(stamp, first_order.get(id(obj), stamp) - timedelta(days=1)) if isinstance(obj, Customer) else stamp)
        for obj, stamp in builder.data.created_at
    ]
    return builder.data


# -- writing and fingerprinting ---------------------------------------------------


class SeedConflict(Exception):
    """The database already holds rows the demo would create (but not the demo itself)."""


def _adopt_existing_users(data: DemoData) -> list[str]:
    """Demo log-ins that already exist (say `admin` from createsuperuser) are kept as they are.

    Their password and groups are left alone; a demo customer is linked to an
    existing user of that name unless that user already has a shop record.
    """
    names = [u.username for u in data.users]
    emails = [u.email for u in data.users]
    taken = list(User.objects.filter(models.Q(username__in=names) | models.Q(email__in=emails)))
    if not taken:
        return []
    by_name = {u.username: u for u in taken}
    by_email = {u.email.lower(): u for u in taken}
    replaced: dict[int, User] = {}
    for user in data.users:
        existing = by_name.get(user.username) or by_email.get(user.email.lower())
        if existing is not None:
            replaced[id(user)] = existing
    data.users = [u for u in data.users if id(u) not in replaced]
    data.user_groups = [(u, role) for u, role in data.user_groups if id(u) not in replaced]
    with_customer = set(Customer.objects.filter(user__in=taken).values_list("user_id", flat=True))
    for customer in data.customers:
        if customer.user is not None and id(customer.user) in replaced:
            existing = replaced[id(customer.user)]
            customer.user = None if existing.pk in with_customer else existing
    return sorted(u.username for u in replaced.values())


def write(data: DemoData, *, batch_size: int = 1000) -> dict[str, int]:
    """Insert everything in dependency order with bulk inserts (one transaction).

    Raises SeedConflict, writing nothing, when demo customers, products or orders already exist.
    """
    with transaction.atomic():
        clashes = {
            "customers": list(
                Customer.objects.filter(email__in=[c.email for c in data.customers]).values_list("email", flat=True)[:5]
            ),
            "products": list(
                Product.objects.filter(sku__in=[p.sku for p in data.products]).values_list("sku", flat=True)[:5]
            ),
            "orders": list(
                Order.objects.filter(number__in=[o.number for o in data.orders]).values_list("number", flat=True)[:5]
            ),
        }
        clashes = {k: v for k, v in clashes.items() if v}
        if clashes:
            raise SeedConflict(
                "The database already has some of the demo's rows ("
                + "; ".join(f"{k}: {', '.join(v)}" for k, v in clashes.items())
                + "). Seed an empty database."
            )
        kept = _adopt_existing_users(data)
        for name in DemoData.TABLES:
            rows = getattr(data, name)
            if rows:
                type(rows[0]).objects.bulk_create(rows, batch_size=batch_size)
        groups = {g.name: g for g in Group.objects.filter(name__in={role for _, role in data.user_groups})}
        through = User.groups.through
        through.objects.bulk_create(
            [through(user_id=user.pk, group_id=groups[role].pk) for user, role in data.user_groups if role in groups]
        )
        by_model: dict[type[models.Model], list[models.Model]] = {}
        for obj, stamp in data.created_at:
            obj.created_at = stamp  # type: ignore[attr-defined]
            by_model.setdefault(type(obj), []).append(obj)
        for model, objs in by_model.items():
            model.objects.bulk_update(objs, ["created_at"], batch_size=batch_size)
    counts = data.counts()
    if kept:
        counts["existing users kept"] = len(kept)
    return counts


_SKIP_FIELDS = {"id", "created_at", "updated_at", "password", "last_login", "date_joined"}


def _rows(objects: Iterable[models.Model], positions: dict[tuple[str, Any], int]) -> list[list[Any]]:
    rows = []
    for obj in objects:
        row: list[Any] = []
        for f in obj._meta.concrete_fields:
            if f.name in _SKIP_FIELDS:
                continue
            if f.is_relation:
                related_id = getattr(obj, f.attname)
                label = f.related_model._meta.label
                if related_id is None:
                    related = getattr(obj, f.name)  # unsaved: the cached instance, no query
                    related_id = None if related is None else id(related)
                row.append(None if related_id is None else positions[(label, related_id)])
            else:
                value = getattr(obj, f.attname)
                row.append(value.isoformat() if isinstance(value, datetime | date) else str(value))
        rows.append(row)
    return rows


def _key(obj: models.Model) -> Any:
    return obj.pk if obj.pk is not None else id(obj)


def digest_objects(tables: dict[str, list[models.Model]]) -> str:
    """A fingerprint of the data independent of primary keys: relations become positions in their table."""
    positions: dict[tuple[str, Any], int] = {}
    for rows in tables.values():
        for index, obj in enumerate(rows):
            positions[(obj._meta.label, _key(obj))] = index
    payload = {name: _rows(rows, positions) for name, rows in tables.items()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def digest(data: DemoData) -> str:
    return digest_objects({name: list(getattr(data, name)) for name in DemoData.TABLES})


def digest_database() -> str:
    """The same fingerprint read back from the database (rows in insert order)."""
    tables = {}
    for name in DemoData.TABLES:
        model = _MODELS[name]
        tables[name] = list(model.objects.order_by("pk"))
    return digest_objects(tables)


_MODELS: dict[str, type[models.Model]] = {
    "users": User,
    "customers": Customer,
    "addresses": Address,
    "payment_methods": PaymentMethod,
    "products": Product,
    "variants": ProductVariant,
    "orders": Order,
    "items": OrderItem,
    "payments": Payment,
    "invoices": Invoice,
    "shipments": Shipment,
    "events": TrackingEvent,
    "returns": ReturnRequest,
    "return_items": ReturnItem,
    "refunds": Refund,
}
