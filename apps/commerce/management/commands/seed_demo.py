import time
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.commerce.demo import seed as seeding
from apps.commerce.demo.generator import SeedConflict


class Command(BaseCommand):
    help = "Load the deterministic demo shop (customers, orders, demo log-ins). Idempotent; DEBUG only unless --force."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=seeding.DEFAULT_SEED)
        parser.add_argument(
            "--base-date",
            type=date.fromisoformat,
            default=None,
            help="YYYY-MM-DD the demo's 'today' (default: today, so 'delivered 5 days ago' stays true).",
        )
        parser.add_argument("--customers", type=int, default=seeding.DEFAULT_CUSTOMERS)
        parser.add_argument("--orders", type=int, default=seeding.DEFAULT_ORDERS)
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off (never on real data).")

    def handle(
        self,
        *args: object,
        seed: int,
        base_date: date | None,
        customers: int,
        orders: int,
        force: bool,
        **options: object,
    ) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates demo log-ins with a published password: DEBUG is off, use --force.")
        if customers < 1 or orders < 0:
            raise CommandError("--customers must be at least 1 and --orders at least 0.")
        started = time.monotonic()
        try:
            result = seeding.seed_demo(
                seed=seed, base_date=base_date or timezone.localdate(), customers=customers, orders=orders
            )
        except SeedConflict as exc:
            raise CommandError(f"seed_demo: {exc}") from None
        elapsed = time.monotonic() - started
        if result is None:
            self.stdout.write(f"seed_demo: demo data already present, nothing to do ({elapsed:.2f}s).")
            return
        summary = ", ".join(f"{count} {name}" for name, count in result.items())
        self.stdout.write(f"seed_demo: created {summary} in {elapsed:.1f}s.")
