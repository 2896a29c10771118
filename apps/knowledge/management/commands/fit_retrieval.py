from django.core.management.base import BaseCommand, CommandParser

from apps.knowledge.fitting import retrieval_profile_fit
from apps.knowledge.lexical import statistics_rebuild


class Command(BaseCommand):
    help = (
        "Fit the fusion weight and the no-answer threshold to the knowledge base's own documents "
        "(ingest does it after every change); --rebuild-statistics first recomputes BM25's statistics."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild-statistics", action="store_true", help="recompute df, N and lengths first")

    def handle(self, *args: object, rebuild_statistics: bool, **options: object) -> None:
        if rebuild_statistics:
            statistics_rebuild()
        profile = retrieval_profile_fit()
        report = profile.fit_report or {}
        self.stdout.write(
            f"{profile.chunk_count} chunks; fitted on {report.get('queries', 0)} generated queries: "
            f"vector weight {profile.vector_weight:.2f}, answer threshold {profile.answer_threshold:.3f} "
            f"({report.get('answered_rate', 0):.2f} of answerable above it, "
            f"{report.get('refused_rate', 0):.2f} of left-out questions below it)"
        )
