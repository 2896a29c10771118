"""`manage.py embedding_server`: run the embedding model once for every worker process of this machine.

    manage.py embedding_server                      # at SWITCHBOARD_EMBEDDING_SERVER
    manage.py embedding_server --address 127.0.0.1:8765

Workers with `SWITCHBOARD_EMBEDDING_SERVER` set send their texts here (apps.agents.offline.model_server)
and never load torch. Requests that arrive while the model is busy are embedded in one batch.
The same server as `python -m apps.agents.offline.serve`, which the devstack, compose and the benchmarks start:
that one runs without Django (about 50 MiB less).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.agents.offline.serve import serve


class Command(BaseCommand):
    help = "Serve the packaged embedding model to this machine's worker processes over a socket."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--address", default="", help="Unix socket path or host:port (default: SWITCHBOARD_EMBEDDING_SERVER)"
        )

    def handle(self, *args: object, address: str = "", **options: object) -> None:
        address = address or settings.SWITCHBOARD_EMBEDDING_SERVER
        if not address:
            raise CommandError("no address: pass --address or set SWITCHBOARD_EMBEDDING_SERVER")
        serve(address, threads=settings.SWITCHBOARD_EMBEDDING_THREADS, ready=self.stdout.write)
