from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.knowledge.demo import demo_documents
from apps.knowledge.services import ingest_documents, source_get_or_create


class Command(BaseCommand):
    help = (
        "Load the demo shop's knowledge base, rendered from the shop settings (idempotent: unchanged documents "
        "are skipped by hash before any model loads; documents no longer in demo_kb/ are removed)."
    )

    def handle(self, *args: object, **options: object) -> None:
        source = source_get_or_create(
            name=settings.KNOWLEDGE_DEMO_SOURCE, description=f"{settings.SHOP_NAME} help centre (demo)"
        )
        report = ingest_documents(source=source, items=demo_documents(), prune=True)
        for error in report.errors:
            self.stderr.write(f"failed: {error}")
        self.stdout.write(f"demo knowledge base: {report.summary()}")
        if report.failed:
            raise CommandError(f"{report.failed} demo document(s) failed")
