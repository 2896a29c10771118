"""Seed the demo shop once: detect an existing seed, else generate and write it in one transaction."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from apps.accounts.roles import sync_roles
from apps.commerce.models import Order

from .generator import DEFAULT_SEED, generate, write

DEFAULT_CUSTOMERS = 200
DEFAULT_ORDERS = 1000
# The first demo order: present means a seed already ran (the seed commits all or nothing).
MARKER_ORDER = "TW-100001"

__all__ = ["DEFAULT_CUSTOMERS", "DEFAULT_ORDERS", "DEFAULT_SEED", "is_seeded", "seed_demo"]


def is_seeded() -> bool:
    return Order.objects.filter(number=MARKER_ORDER).exists()


def seed_demo(
    *, seed: int = DEFAULT_SEED, base_date: date, customers: int = DEFAULT_CUSTOMERS, orders: int = DEFAULT_ORDERS
) -> dict[str, int] | None:
    """Write the demo data unless it is already there. Returns row counts, or None when nothing was done."""
    if is_seeded():
        return None
    with transaction.atomic():
        # Serialise concurrent seeders (two `make run`s): the loser finds the marker and stops.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('switchboard.seed_demo'))")
        if is_seeded():
            return None
        sync_roles()  # the staff users join these groups
        return write(generate(seed=seed, base_date=base_date, customers=customers, orders=orders))
