"""Test doubles for the knowledge tests: a bag-of-words embedding backend and a
loopback server speaking the OpenAI embeddings wire format."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from apps.knowledge.embeddings import EmbeddingError


def bag_of_words(text: str, dimensions: int = 384) -> np.ndarray:
    vector = np.zeros(dimensions, dtype=np.float32)
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % dimensions] += 1.0  # noqa: S324 - not security
    norm = np.linalg.norm(vector)
    return vector / norm if norm else vector


class BagOfWordsBackend:
    """Deterministic, instant, records every call; `fail_when` makes it raise for matching texts."""

    name = "test:bag-of-words"
    dimensions = 384

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.calls: list[list[str]] = []
        self.fail_when: str | None = None

    @property
    def embedded(self) -> list[str]:
        return [text for call in self.calls for text in call]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        if self.fail_when and any(self.fail_when in t for t in texts):
            raise EmbeddingError("the fake backend was told to fail")
        return np.stack([bag_of_words(t, self.dimensions) for t in texts])


class OtherBagOfWordsBackend(BagOfWordsBackend):
    """Another vector space, as if the operator switched models."""

    name = "test:other-bag-of-words"


class FakeOpenAIEmbeddings:
    """`POST /v1/embeddings` answered like OpenAI does; records each request body."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                if fake.status != 200:
                    payload = {"error": {"message": "boom", "type": "server_error", "code": None}}
                    self._send(fake.status, payload)
                    return
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                dims = body.get("dimensions", 1536)
                data = [
                    # Not normalised on purpose: the client must normalise.
                    {"object": "embedding", "index": i, "embedding": (bag_of_words(text, dims) * 3).tolist()}
                    for i, text in reversed(list(enumerate(inputs)))
                ]
                usage = {"prompt_tokens": 7 * len(inputs), "total_tokens": 7 * len(inputs)}
                self._send(200, {"object": "list", "data": data, "model": body["model"], "usage": usage})

            def _send(self, status: int, payload: dict) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAIEmbeddings:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
