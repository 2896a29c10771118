from django.core.management.base import BaseCommand, CommandParser

from apps.accounts.demo import DEMO_CUSTOMERS, DEMO_PASSWORD, DEMO_STAFF


class Command(BaseCommand):
    help = "Print the local URLs and the demo log-ins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args: object, base_url: str, **options: object) -> None:
        w = self.stdout.write
        w("")
        w(f"  Customer chat     {base_url}/chat/")
        w(f"  Admin             {base_url}/admin/")
        w(f"  Staff console     {base_url}/console/")
        w(f"  Health            {base_url}/healthz   {base_url}/readyz")
        w("")
        w(f"  Demo log-ins (password for all: {DEMO_PASSWORD})")
        for username, email, first, last in DEMO_CUSTOMERS:
            w(f"    customer        {username:<10} {first} {last} <{email}>")
        for username, role, is_superuser in DEMO_STAFF:
            w(f"    staff           {username:<10} {'superuser' if is_superuser else role}")
        w("")
