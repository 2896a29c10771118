"""`manage.py classify`: route messages and print one JSON object per line.

    echo "where is TW-100234" | manage.py classify
    manage.py classify --csv messages.csv        # a `text` column

Each line: {"text", "route", "confidence", "source"} (source is "local" or "llm").
The operators' tool for debugging routing and how routing quality is measured.
"""

from __future__ import annotations

import csv
import json
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.agents.routing import route_message


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # an operator's pipe tool: start fast
    help = "Route messages (one per line on stdin, or --csv FILE with a `text` column); print JSON lines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", dest="csv_path", help="CSV file with a `text` column (instead of stdin)")
        parser.add_argument("--reason", action="store_true", help="also print the router's reason")

    def handle(self, *args: object, csv_path: str | None = None, reason: bool = False, **options: object) -> None:
        for text in self._texts(csv_path):
            decision = route_message(text)
            row = {"text": text, "route": decision.route, "confidence": decision.confidence, "source": decision.source}
            if reason:
                row["reason"] = decision.reason
            self.stdout.write(json.dumps(row, ensure_ascii=False))

    def _texts(self, csv_path: str | None):
        if csv_path is None:
            for line in sys.stdin:
                text = line.rstrip("\r\n")
                if text.strip():
                    yield text
            return
        try:
            handle = open(csv_path, newline="", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CommandError(f"cannot read {csv_path}: {exc.strerror}") from exc
        with handle:
            reader = csv.DictReader(handle)
            if "text" not in (reader.fieldnames or []):
                raise CommandError(f"{csv_path} has no `text` column (columns: {', '.join(reader.fieldnames or [])})")
            for row in reader:
                text = (row["text"] or "").strip()
                if text:
                    yield text
