"""Run one turn worker process (apps.agents.turn_worker): start one per core.

manage.py turn_worker                 # until SIGTERM / SIGINT
manage.py turn_worker --threads 2     # turns at once in this process (default SWITCHBOARD_TURN_WORKER_THREADS)
manage.py turn_worker --burst         # exit once the stream holds nothing for it (maintenance, one-off drains)
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.agents.turn_worker import serve


class Command(BaseCommand):
    help = "Answer customer messages from the turn stream (one process per core)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--threads", type=int, default=None, help="turns at once in this process")
        parser.add_argument("--burst", action="store_true", help="exit when nothing is left to do")

    def handle(self, *args: Any, threads: int | None = None, burst: bool = False, **options: Any) -> None:
        done = serve(threads=threads, burst=burst)
        if burst:
            self.stdout.write(f"{done} entries done")
