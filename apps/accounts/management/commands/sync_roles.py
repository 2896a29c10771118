from django.core.management.base import BaseCommand

from apps.accounts.roles import sync_roles


class Command(BaseCommand):
    help = "Create the staff role groups and (re)assign their permissions."

    def handle(self, *args: object, **options: object) -> None:
        for role, count in sync_roles().items():
            self.stdout.write(f"{role}: {count} permissions")
