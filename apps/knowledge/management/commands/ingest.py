from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.core.errors import ApplicationError
from apps.knowledge.services import DocumentInput, collect_files, ingest_paths


class Command(BaseCommand):
    help = (
        "Ingest markdown, HTML and text files or folders into the knowledge base. Unchanged documents are "
        "skipped by content hash; changed ones have their chunks replaced atomically."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="files or folders (.md, .markdown, .html, .htm, .txt)")
        parser.add_argument("--source", default="files", help="knowledge source name (default: files)")
        parser.add_argument("--url", default="", help="the page's URL when a single saved file is given")
        parser.add_argument("--tag", action="append", default=[], dest="tags", help="tag every document (repeatable)")
        parser.add_argument("--force", action="store_true", help="re-chunk and re-embed even unchanged documents")
        parser.add_argument("--prune", action="store_true", help="delete the source's documents not given here")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: object, paths: list[Path], **options: object) -> None:
        try:
            total = len(collect_files(paths))
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        bar = tqdm(total=total, unit="doc", disable=bool(options["no_progress"]), file=self.stderr)

        def progress(item: DocumentInput, outcome: str) -> None:
            bar.set_postfix_str(outcome, refresh=False)
            bar.update(1)

        try:
            report = ingest_paths(
                paths=paths,
                source_name=str(options["source"]),
                url=str(options["url"]),
                tags=list(options["tags"]),  # type: ignore[call-overload]
                force=bool(options["force"]),
                prune=bool(options["prune"]),
                progress=progress,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        finally:
            bar.close()
        for error in report.errors:
            self.stderr.write(f"failed: {error}")
        self.stdout.write(report.summary())
        if report.failed:
            raise CommandError(f"{report.failed} document(s) failed")
