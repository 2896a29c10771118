import textwrap

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.errors import ApplicationError
from apps.knowledge.selectors import knowledge_search


class Command(BaseCommand):
    help = "Search the knowledge base (vector + BM25, fused) and print the ranked chunks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("query")
        parser.add_argument("-k", type=int, default=5)
        parser.add_argument("--source", action="append", default=[], help="only this source (repeatable)")
        parser.add_argument("--tag", action="append", default=[], dest="tags", help="documents with this tag")

    def handle(self, *args: object, query: str, k: int, source: list[str], tags: list[str], **options: object) -> None:
        filters = {key: value for key, value in (("source", source), ("tags", tags)) if value}
        try:
            results = knowledge_search(query=query, k=k, filters=filters or None)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if not results:
            self.stdout.write("no results")
            return
        for rank, chunk in enumerate(results, start=1):
            similarity = "-" if chunk.similarity is None else f"{chunk.similarity:.3f}"
            self.stdout.write(
                f"{rank}. score={chunk.score:.4f} similarity={similarity} bm25={chunk.lexical_score or 0:.3f} "
                f"vector#={chunk.vector_rank or '-'} bm25#={chunk.text_rank or '-'} chunk={chunk.chunk_id}"
                f"{'' if chunk.answerable else ' (below the answer threshold)'}"
            )
            self.stdout.write(f"   {chunk.citation}")
            self.stdout.write(f"   {chunk.source}")
            self.stdout.write(textwrap.indent(textwrap.shorten(chunk.text, width=400, placeholder=" ..."), "   "))
