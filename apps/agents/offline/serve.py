"""The embedding server's process, without Django: `python -m apps.agents.offline.serve [--address A]`.

    python -m apps.agents.offline.serve                         # at SWITCHBOARD_EMBEDDING_SERVER
    python -m apps.agents.offline.serve --address 0.0.0.0:8765  # compose

It runs the packaged model for every worker process of the machine (apps.agents.offline.model_server has the
wire format and the client). The model needs nothing of Django, and `django.setup()` with every app cost this
process 43 MiB and its settings 9 MiB more, so it reads its two settings from the environment as the settings
module would: `SWITCHBOARD_EMBEDDING_SERVER` (the address) and `SWITCHBOARD_EMBEDDING_THREADS` (torch threads,
default 1; 0: torch's default). `manage.py embedding_server` runs the same server inside Django.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

from apps.agents.offline import embedder
from apps.agents.offline.model_server import make_server

logger = logging.getLogger(__name__)


def serve(address: str, *, threads: int | None = None, ready: Callable[[str], None] | None = None) -> None:
    """Serve at `address` until SIGTERM (or Ctrl-C); `ready` is told once the model answers."""
    embedder.serve_here(threads=threads)
    server = make_server(address, embedder.embed_for_clients)
    # Listening before the model loads: a worker starting at the same time waits for its first answer
    # instead of finding no server and loading a model of its own.
    threading.Thread(target=server.serve_forever, name="embedding-server", daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        embedder.embed(["warm up"])
        if ready is not None:
            ready(f"embedding server listening at {address}")
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()  # a pipe (the devstack, a test) is told at once


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the packaged embedding model to this machine's workers.")
    parser.add_argument(
        "--address",
        default=os.environ.get("SWITCHBOARD_EMBEDDING_SERVER", ""),
        help="Unix socket path or host:port (default: SWITCHBOARD_EMBEDDING_SERVER)",
    )
    args = parser.parse_args(argv)
    if not args.address:
        parser.error("no address: pass --address or set SWITCHBOARD_EMBEDDING_SERVER")
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    threads = int(os.environ.get("SWITCHBOARD_EMBEDDING_THREADS") or 1)
    serve(args.address, threads=threads, ready=_say)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
