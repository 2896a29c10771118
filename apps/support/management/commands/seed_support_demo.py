from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.support.demo import seed_support_demo


class Command(BaseCommand):
    help = (
        "Add demo refund requests, a ticket and an escalation to the demo shop. Idempotent; DEBUG only unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off (never on real data).")

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_support_demo writes demo data: DEBUG is off, use --force.")
        result = seed_support_demo()
        if result is None:
            self.stdout.write("support demo: already seeded (or no demo customers yet); nothing to do")
        else:
            self.stdout.write("support demo: " + ", ".join(f"{n} {what}" for what, n in result.items()))
