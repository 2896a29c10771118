from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.core.errors import ApplicationError
from apps.knowledge.fitting import retrieval_profile_fit
from apps.knowledge.models import Document
from apps.knowledge.services import document_index


class Command(BaseCommand):
    help = (
        "Re-chunk and re-embed documents from their stored content, in this process "
        "(after changing the embedding backend or chunk settings). The admin action does the same in Celery."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", action="append", default=[], help="only this source (repeatable)")
        parser.add_argument("--stale-only", action="store_true", help="skip documents already indexed this way")

    def handle(self, *args: object, source: list[str], stale_only: bool, **options: object) -> None:
        documents = Document.objects.all()
        if source:
            documents = documents.filter(source__name__in=source)
        ids = list(documents.values_list("pk", flat=True))
        failed = chunks = 0
        for document_id in tqdm(ids, unit="doc", file=self.stderr):
            try:
                chunks += document_index(document_id=document_id, force=not stale_only) or 0
            except ApplicationError as exc:
                failed += 1
                self.stderr.write(f"failed: document {document_id}: {exc.message}")
        if chunks:
            retrieval_profile_fit()
        self.stdout.write(f"{len(ids)} documents checked, {failed} failed; {chunks} chunks written")
        if failed:
            raise CommandError(f"{failed} document(s) failed")
