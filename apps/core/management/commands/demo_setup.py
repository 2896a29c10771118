from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate, then run every demo loader in settings.DEMO_SETUP_COMMANDS (each idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        for name in settings.DEMO_SETUP_COMMANDS:
            call_command(name)
