import time

from django.core.management.base import BaseCommand

from apps.agents.routing.classifier import cache_path, get_classifier


class Command(BaseCommand):
    help = (
        "Train the local route classifier on the repository's examples and cache it in var/routing, "
        "so the first customer message does not wait for it. Instant when the cache is current."
    )

    def handle(self, *args: object, **options: object) -> None:
        path = cache_path()
        if path.exists():
            self.stdout.write(f"route classifier up to date ({path.name})")
            return
        started = time.perf_counter()
        report = get_classifier().report
        self.stdout.write(f"route classifier trained in {time.perf_counter() - started:.1f}s: {report}")
