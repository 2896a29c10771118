from datetime import timedelta

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from apps.knowledge.selectors import unanswered_questions_report


class Command(BaseCommand):
    help = "Questions the FAQ specialist could not answer, grouped by meaning, largest groups first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--limit", type=int, default=30)

    def handle(self, *args: object, days: int, limit: int, **options: object) -> None:
        groups = unanswered_questions_report(since=timezone.now() - timedelta(days=days), limit=limit)
        if not groups:
            self.stdout.write("no unanswered questions")
        for group in groups:
            self.stdout.write(f"{group.count:>4}  {group.question}  (last {group.last_asked:%Y-%m-%d %H:%M})")
            for example in group.examples[1:]:
                self.stdout.write(f"        {example}")
