"""`manage.py embedding_server`: run the embedding model once for every worker process of this machine.

    manage.py embedding_server                      # at SWITCHBOARD_EMBEDDING_SERVER
    manage.py embedding_server --address 127.0.0.1:8765

Workers with `SWITCHBOARD_EMBEDDING_SERVER` set send their texts here (apps.agents.offline.model_server)
and never load torch. Requests that arrive while the model is busy are embedded in one batch.
"""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.agents.offline import embedder
from apps.agents.offline.model_server import make_server


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
        embedder.serve_here()
        server = make_server(address, embedder.embed_for_clients)
        # Listening before the model loads: a worker starting at the same time waits for its first answer
        # instead of finding no server and loading a model of its own.
        threading.Thread(target=server.serve_forever, name="embedding-server", daemon=True).start()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        embedder.embed(["warm up"])
        self.stdout.write(f"embedding server listening at {address}")
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()
            server.server_close()
