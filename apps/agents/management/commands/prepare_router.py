import time

from django.core.management.base import BaseCommand

from apps.agents.routing.classifier import cache_path, get_classifier
from apps.agents.understanding import intents


class Command(BaseCommand):
    help = (
        "Train the local route classifier and the intent classifiers on the repository's examples and cache "
        "them in var/, so the first customer message does not wait for them and a turn worker never imports "
        "scikit-learn to train. Instant when the caches are current."
    )

    def handle(self, *args: object, **options: object) -> None:
        path = cache_path()
        if path.exists():
            self.stdout.write(f"route classifier up to date ({path.name})")
        else:
            started = time.perf_counter()
            report = get_classifier().report
            self.stdout.write(f"route classifier trained in {time.perf_counter() - started:.1f}s: {report}")
        for examples in sorted(intents.EXAMPLES_DIR.glob("*.yaml")):
            cached = intents.cache_path(examples)
            if cached.exists():
                self.stdout.write(f"intent classifier up to date ({cached.name})")
                continue
            started = time.perf_counter()
            report = intents.get_intent_classifier(examples.stem).report
            self.stdout.write(f"intent classifier trained in {time.perf_counter() - started:.1f}s: {report}")
