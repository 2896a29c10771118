"""One embedding model for every worker process of a machine: a small socket server and its client.

The MiniLM model with torch is about 0.6 GiB per process. With `SWITCHBOARD_EMBEDDING_SERVER` set, worker
processes never import torch: they send their texts to one `manage.py embedding_server` process, which
runs the model once for the machine. The server embeds the texts of requests that arrive while it is
busy in one batch (from any process), so a second worker process adds neither a model copy nor a
separate encode.

Wire format, on a Unix socket (a path) or TCP (`host:port`), one persistent connection per client thread:
a request is a 4-byte big-endian length and a JSON body `{"texts": [...], "batch_size": n}`; the answer
is a 4-byte length and a body that is `V` followed by the float32 vectors (row-major, little-endian) or
`E` followed by an error message (UTF-8).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

DIMENSIONS = 384
MAX_FRAME = 64 * 1024 * 1024
REQUEST_TIMEOUT = 120.0  # a long message's detector views take seconds on a busy host
_LENGTH = struct.Struct("!I")

EmbedFn = Callable[..., np.ndarray]


class EmbeddingServerUnavailable(RuntimeError):
    """The embedding server could not be reached or did not answer."""


class EmbeddingServerError(RuntimeError):
    """The embedding server answered with an error (the model failed on these texts)."""


def is_unix(address: str) -> bool:
    return "/" in address or not address.rpartition(":")[2].isdigit()


def _tcp(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


def _read_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _read_frame(sock: socket.socket) -> bytes:
    (size,) = _LENGTH.unpack(_read_exact(sock, _LENGTH.size))
    if size > MAX_FRAME:
        raise ConnectionError(f"frame of {size} bytes is over the limit")
    return _read_exact(sock, size)


def _send_frame(sock: socket.socket, body: bytes) -> None:
    sock.sendall(_LENGTH.pack(len(body)) + body)


# --- the server -----------------------------------------------------------------------------------------
class _Handler(socketserver.BaseRequestHandler):
    server: _UnixServer | _TCPServer

    def handle(self) -> None:
        while True:
            try:
                request = json.loads(_read_frame(self.request))
            except (ConnectionError, OSError, ValueError):
                return  # the client went away (or spoke something else): end this connection only
            try:
                texts = [str(t) for t in request["texts"]]
                vectors = self.server.embed(texts, int(request.get("batch_size", 64)))
                body = b"V" + np.ascontiguousarray(vectors, dtype="<f4").tobytes()
            except Exception as exc:
                logger.exception("embedding server: embedding %d texts failed", len(request.get("texts", [])))
                body = b"E" + f"{type(exc).__name__}: {exc}".encode()
            try:
                _send_frame(self.request, body)
            except OSError:
                return


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    embed: Callable[[list[str], int], np.ndarray]


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    embed: Callable[[list[str], int], np.ndarray]


def make_server(address: str, embed: Callable[[list[str], int], np.ndarray]) -> _UnixServer | _TCPServer:
    """A bound server (not yet serving) that answers with `embed(texts, batch_size)`."""
    server: _UnixServer | _TCPServer
    if is_unix(address):
        path = Path(address)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_socket():
            path.unlink()  # left by a server that was killed; binding would fail
        server = _UnixServer(str(path), _Handler)
        os.chmod(path, 0o660)
    else:
        server = _TCPServer(_tcp(address), _Handler)
    server.embed = embed
    return server


# --- the client -----------------------------------------------------------------------------------------
class EmbeddingClient:
    """Embeds through the server; one connection per thread, reconnected once when it broke."""

    def __init__(self, address: str, *, timeout: float = REQUEST_TIMEOUT) -> None:
        self.address = address
        self.timeout = timeout
        self._local = threading.local()

    def _connect(self) -> socket.socket:
        if is_unix(self.address):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: object = self.address
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            target = _tcp(self.address)
        sock.settimeout(self.timeout)
        try:
            sock.connect(target)
        except OSError:
            sock.close()
            raise
        return sock

    def _close(self) -> None:
        sock = getattr(self._local, "sock", None)
        self._local.sock = None
        if sock is not None:
            sock.close()

    def embed(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        request = json.dumps({"texts": texts, "batch_size": batch_size}).encode()
        body = b""
        for attempt in (1, 2):
            reused = getattr(self._local, "sock", None) is not None
            try:
                if not reused:
                    self._local.sock = self._connect()
                _send_frame(self._local.sock, request)
                body = _read_frame(self._local.sock)
                break
            except (OSError, ConnectionError) as exc:
                self._close()
                # A kept connection may have been closed by a restarted server: one fresh try.
                if attempt == 2 or not reused:
                    raise EmbeddingServerUnavailable(f"embedding server at {self.address}: {exc}") from exc
        if body[:1] == b"E":
            raise EmbeddingServerError(body[1:].decode(errors="replace"))
        vectors = np.frombuffer(body[1:], dtype="<f4").astype(np.float32)
        if body[:1] != b"V" or vectors.size != len(texts) * DIMENSIONS:
            self._close()
            raise EmbeddingServerUnavailable(f"embedding server at {self.address}: malformed answer")
        return vectors.reshape(len(texts), DIMENSIONS)
