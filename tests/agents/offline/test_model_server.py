"""One embedding model per machine: the socket server, its client, and what a worker does when it is down."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from apps.agents.offline import embedder
from apps.agents.offline.model_server import (
    DIMENSIONS,
    EmbeddingClient,
    EmbeddingServerError,
    EmbeddingServerUnavailable,
    make_server,
)


def _rows(texts: list[str]) -> np.ndarray:
    return np.array([[float(len(t))] * DIMENSIONS for t in texts], dtype=np.float32)


@pytest.fixture
def serving(tmp_path):  # type: ignore[no-untyped-def]
    """Start a server on a Unix socket with a given embed function; stopped at the end."""
    servers = []

    def start(embed, address: str = ""):  # type: ignore[no-untyped-def]
        server = make_server(address or str(tmp_path / "embedder.sock"), embed)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class _Model:
    """A stand-in for the in-process model that records what it encoded."""

    def __init__(self) -> None:
        self.encoded: list[list[str]] = []

    def encode(self, texts: list[str], **kwargs: object) -> np.ndarray:
        self.encoded.append(list(texts))
        return _rows(texts)


def test_the_client_gets_the_servers_vectors_for_its_texts_in_order(serving, tmp_path):
    # given a server answering with a vector per text
    seen: list[tuple[list[str], int]] = []

    def embed(texts: list[str], batch_size: int) -> np.ndarray:
        seen.append((texts, batch_size))
        return _rows(texts)

    serving(embed)
    client = EmbeddingClient(str(tmp_path / "embedder.sock"))
    # when a worker thread embeds two texts, then one more on the same connection
    first = client.embed(["where is my order", "hi"], batch_size=8)
    second = client.embed(["refund"])
    # then each answer has the server's rows in the order asked, and the batch size reached the server
    assert first.shape == (2, DIMENSIONS)
    assert first[:, 0].tolist() == [17.0, 2.0]
    assert second[:, 0].tolist() == [6.0]
    assert seen == [(["where is my order", "hi"], 8), (["refund"], 64)]


def test_a_server_over_tcp_on_loopback_answers_the_same(serving):
    # given a server on a loopback TCP port
    server = serving(lambda texts, batch_size: _rows(texts), address="127.0.0.1:0")
    host, port = server.server_address
    # when a client embeds through host:port
    vectors = EmbeddingClient(f"{host}:{port}").embed(["abc"])
    # then it gets the server's vector
    assert vectors[:, 0].tolist() == [3.0]


def test_no_server_listening_is_a_clear_unavailable_error(tmp_path):
    # given no server at the address
    address = str(tmp_path / "nobody.sock")
    # when a client embeds
    with pytest.raises(EmbeddingServerUnavailable) as raised:
        EmbeddingClient(address).embed(["hello"])
    # then the error names the address
    assert str(raised.value).startswith(f"embedding server at {address}: ")


def test_a_model_error_reaches_the_client_and_the_server_keeps_serving(serving, tmp_path):
    # given a server whose model fails on one text
    def embed(texts: list[str], batch_size: int) -> np.ndarray:
        if "boom" in texts:
            raise ValueError("bad input")
        return _rows(texts)

    serving(embed)
    client = EmbeddingClient(str(tmp_path / "embedder.sock"))
    # when one request fails and the next one follows on the same connection
    with pytest.raises(EmbeddingServerError) as raised:
        client.embed(["boom"])
    after = client.embed(["ok"])
    # then the client saw the model's error and the next request was answered
    assert str(raised.value) == "ValueError: bad input"
    assert after[:, 0].tolist() == [2.0]


def test_a_restarted_server_is_reached_again_on_the_next_call(serving, tmp_path):
    # given a client whose kept connection belongs to a server that has since been replaced
    address = str(tmp_path / "embedder.sock")
    first = serving(lambda texts, batch_size: _rows(texts))
    client = EmbeddingClient(address)
    client.embed(["a"])
    first.shutdown()
    first.server_close()
    client._local.sock.shutdown(2)  # the old server's side of the connection is gone
    serving(lambda texts, batch_size: _rows(texts) + 1)
    # when the client embeds again
    vectors = client.embed(["abcd"])
    # then it reconnected to the new server
    assert vectors[:, 0].tolist() == [5.0]


def test_embed_uses_the_server_and_never_loads_a_model_in_the_worker(serving, settings, tmp_path, monkeypatch):
    # given a server and a worker configured to use it, with no model loaded here
    address = str(tmp_path / "embedder.sock")
    serving(lambda texts, batch_size: _rows(texts))
    settings.SWITCHBOARD_EMBEDDING_SERVER = address
    model = _Model()
    monkeypatch.setattr(embedder, "_model", model)
    monkeypatch.setattr(embedder, "_recent", embedder.OrderedDict())
    monkeypatch.setattr(embedder, "_clients", {})
    # when the worker embeds
    vectors = embedder.embed(["where is TW-100234"])
    # then the vector came from the server and the local model was not asked
    assert vectors[:, 0].tolist() == [18.0]
    assert model.encoded == []


def test_embed_falls_back_to_the_local_model_when_the_server_is_down(settings, tmp_path, monkeypatch, caplog):
    # given a worker configured for a server that is not running, with fallback on
    settings.SWITCHBOARD_EMBEDDING_SERVER = str(tmp_path / "down.sock")
    settings.SWITCHBOARD_EMBEDDING_SERVER_FALLBACK = True
    model = _Model()
    monkeypatch.setattr(embedder, "_model", model)
    monkeypatch.setattr(embedder, "_recent", embedder.OrderedDict())
    monkeypatch.setattr(embedder, "_clients", {})
    monkeypatch.setattr(embedder, "_last_fallback_warning", 0.0)
    # when the worker embeds
    with caplog.at_level("WARNING", logger="apps.agents.offline.embedder"):
        vectors = embedder.embed(["refund please"])
    # then the local model answered and the fallback was logged
    assert model.encoded == [["refund please"]]
    assert vectors[:, 0].tolist() == [13.0]
    assert [r.getMessage() for r in caplog.records] == [
        f"embedding server at {tmp_path / 'down.sock'} unreachable: embedding in this process (loads the model here)"
    ]


def test_without_fallback_a_down_server_raises_and_no_model_is_loaded(settings, tmp_path, monkeypatch):
    # given a worker configured for a server that is not running, with fallback off
    settings.SWITCHBOARD_EMBEDDING_SERVER = str(tmp_path / "down.sock")
    settings.SWITCHBOARD_EMBEDDING_SERVER_FALLBACK = False
    loads: list[str] = []
    monkeypatch.setattr(embedder, "get_embedder", lambda: loads.append("loaded"))
    monkeypatch.setattr(embedder, "_recent", embedder.OrderedDict())
    monkeypatch.setattr(embedder, "_clients", {})
    # when the worker embeds
    with pytest.raises(EmbeddingServerUnavailable):
        embedder.embed(["refund please"])
    # then nothing was loaded here and nothing was remembered
    assert loads == []
    assert "refund please" not in embedder._recent


def test_the_servers_answer_for_default_batches_shares_encodes_across_clients(monkeypatch):
    # given the server's embed function, with the coalescer and a plain path told apart
    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(embedder, "embed_coalesced", lambda texts: calls.append(("coalesced", texts)) or _rows(texts))
    monkeypatch.setattr(
        embedder, "embed", lambda texts, *, batch_size=64: calls.append((f"batch {batch_size}", texts)) or _rows(texts)
    )
    # when a default-size request and a small-batch request (the detector's views) arrive
    embedder.embed_for_clients(["a"], 64)
    embedder.embed_for_clients(["b", "c"], 8)
    # then the first joins the shared batches and the second keeps its batch size
    assert calls == [("coalesced", ["a"]), ("batch 8", ["b", "c"])]
