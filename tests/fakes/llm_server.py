"""A fake LLM provider for tests: a real HTTP server on a free loopback port.

It speaks the wire formats the real SDKs use, so `openai.AsyncOpenAI` and
`anthropic.AsyncAnthropic` (and pydantic-ai on top) talk to it unchanged:

- OpenAI Chat Completions: `POST /v1/chat/completions`, JSON or SSE
  (`"stream": true`) with text deltas, tool-call deltas and a usage chunk;
- Anthropic Messages: `POST /v1/messages`, JSON or the SSE event stream
  (`message_start`, `content_block_*` with `text_delta` / `input_json_delta`,
  `message_delta`, `message_stop`).

Usage is the scripted reply's `input_tokens` / `output_tokens`, unless the server
is built with `count_tokens=` (a `str -> int` tokenizer): then it reports what
was really sent and answered, counted on the request's JSON (messages, system
prompt, tool definitions) and on the reply's text and tool calls, which is how
`bench/bench_plan_tokens.py` measures tokens per turn.

Each request takes the next scripted reply from a FIFO queue (`push(...)`);
an empty queue answers with `default` (a short text). Replies:
`text(...)`, `tool_calls(...)`, `error(status, retry_after=...)`,
`hang(seconds)` (no answer until then: past a client's timeout),
`malformed_tool_args(name)`, and `cut_stream(text, after=N)` (the connection is
dropped after N events, mid-body). Every request is recorded (`requests`).

    server = FakeLLMServer().start()
    server.push(text("Hello!"), error(429, retry_after=2))
    ... OPENAI_BASE_URL=server.openai_base_url, ANTHROPIC_BASE_URL=server.anthropic_base_url
    server.stop()
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any] | str  # a str is sent as is (malformed JSON included)
    id: str = ""


@dataclass
class Reply:
    kind: str  # text | tool_calls | error | hang | cut
    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    status: int = 200
    retry_after: float | None = None
    seconds: float = 0.0
    after: int = 0
    input_tokens: int = 12
    output_tokens: int = 7
    headers: dict[str, str] = field(default_factory=dict)


def text(content: str, *, input_tokens: int = 12, output_tokens: int = 7) -> Reply:
    return Reply("text", text=content, input_tokens=input_tokens, output_tokens=output_tokens)


def tool_calls(*calls: tuple[str, dict[str, Any] | str], text: str = "") -> Reply:
    return Reply("tool_calls", text=text, calls=[ToolCall(name, args) for name, args in calls])


def malformed_tool_args(name: str) -> Reply:
    """Arguments that are not valid JSON (OpenAI) / not the declared object (Anthropic)."""
    return Reply("tool_calls", calls=[ToolCall(name, '{"number": "A1')])


def error(status: int, *, retry_after: float | None = None, message: str = "") -> Reply:
    return Reply("error", status=status, retry_after=retry_after, text=message or f"fake error {status}")


def hang(seconds: float, *, then: str = "too late") -> Reply:
    return Reply("hang", seconds=seconds, text=then)


def cut_stream(content: str, *, after: int = 2) -> Reply:
    return Reply("cut", text=content, after=after)


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float

    @property
    def api(self) -> str:
        return "anthropic" if self.path.endswith("/messages") else "openai"

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))


def _chunks(content: str, size: int = 8) -> list[str]:
    return [content[i : i + size] for i in range(0, len(content), size)] or [""]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- plumbing -------------------------------------------------------------
    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

    def _chunk(self, data: str) -> None:
        raw = data.encode()
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the connection mid-body: the client sees an incomplete chunked read."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- dispatch ---------------------------------------------------------------
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_raw": raw.decode(errors="replace")}
        fake = self.server.fake
        fake._record(RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time()))
        reply = fake._measured(fake._next(), body)
        anthropic = self.path.rstrip("/").endswith("/messages")
        if not (anthropic or self.path.rstrip("/").endswith("/chat/completions")):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        if reply.kind == "hang":
            fake._stopping.wait(reply.seconds)
            reply = text(reply.text)
        if reply.kind == "error":
            self._error(reply, anthropic=anthropic)
            return
        stream = bool(body.get("stream"))
        model = str(body.get("model", "fake"))
        if anthropic:
            self._anthropic_stream(reply, model) if stream else self._anthropic_json(reply, model)
        else:
            self._openai_stream(reply, model, body) if stream else self._openai_json(reply, model)

    def _error(self, reply: Reply, *, anthropic: bool) -> None:
        headers = dict(reply.headers)
        if reply.retry_after is not None:
            headers["Retry-After"] = f"{reply.retry_after:g}"
        # Make sure the SDKs never decide on their own to retry (they are configured with 0 anyway).
        headers["x-should-retry"] = "false"
        kind = {429: "rate_limit_error", 500: "api_error", 503: "overloaded_error", 529: "overloaded_error"}.get(
            reply.status, "invalid_request_error"
        )
        if anthropic:
            payload = {"type": "error", "error": {"type": kind, "message": reply.text}}
        else:
            code = "rate_limit_exceeded" if reply.status == 429 else "server_error"
            payload = {"error": {"message": reply.text, "type": kind, "param": None, "code": code}}
        self._json(reply.status, payload, headers)

    # -- OpenAI ---------------------------------------------------------------
    def _openai_message(self, reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.calls:
            message["tool_calls"] = [
                {
                    "id": call.id or f"call_{next(self.server.fake._ids)}",
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments),
                    },
                }
                for call in reply.calls
            ]
        return message

    @staticmethod
    def _openai_usage(reply: Reply) -> dict[str, int]:
        return {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
        }

    def _openai_json(self, reply: Reply, model: str) -> None:
        if reply.kind == "cut":
            body = '{"id": "chatcmpl-cut", "object": "chat.completion", "choices": [{"index": 0, "mes'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) * 3))
            self.end_headers()
            self.wfile.write(body.encode()[: len(body) // 2])
            self._drop()
            return
        self._json(
            200,
            {
                "id": f"chatcmpl-{next(self.server.fake._ids)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": self._openai_message(reply),
                        "finish_reason": "tool_calls" if reply.calls else "stop",
                        "logprobs": None,
                    }
                ],
                "usage": self._openai_usage(reply),
            },
        )

    def _openai_stream(self, reply: Reply, model: str, body: dict[str, Any]) -> None:
        ident = f"chatcmpl-{next(self.server.fake._ids)}"
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> str:
            payload: dict[str, Any] = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
                if usage is None
                else [],
            }
            if usage is not None:
                payload["usage"] = usage
            return f"data: {json.dumps(payload)}\n\n"

        events = [chunk({"role": "assistant", "content": ""})]
        for piece in _chunks(reply.text) if reply.text else []:
            events.append(chunk({"content": piece}))
        for index, call in enumerate(reply.calls):
            args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
            call_id = call.id or f"call_{next(self.server.fake._ids)}"
            events.append(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": index,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": call.name, "arguments": ""},
                            }
                        ]
                    }
                )
            )
            for piece in _chunks(args, 12):
                events.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
        events.append(chunk({}, finish="tool_calls" if reply.calls else "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(chunk({}, usage=self._openai_usage(reply)))
        events.append("data: [DONE]\n\n")
        self._send_events(events, reply)

    def _send_events(self, events: list[str], reply: Reply) -> None:
        self._start_sse()
        for number, event in enumerate(events):
            if reply.kind == "cut" and number >= reply.after:
                self._drop()
                return
            self._chunk(event)
        self._end_chunks()

    # -- Anthropic ---------------------------------------------------------------
    def _anthropic_content(self, reply: Reply) -> list[dict[str, Any]]:
        content: list[dict[str, Any]] = []
        if reply.text:
            content.append({"type": "text", "text": reply.text})
        for call in reply.calls:
            arguments = call.arguments
            if isinstance(arguments, str):
                # Anthropic always sends an object; "malformed" means it is not the declared one.
                try:
                    arguments = json.loads(arguments)
                except json.JSONDecodeError:
                    arguments = {"unexpected": arguments}
            content.append(
                {
                    "type": "tool_use",
                    "id": call.id or f"toolu_{next(self.server.fake._ids)}",
                    "name": call.name,
                    "input": arguments,
                }
            )
        return content

    def _anthropic_json(self, reply: Reply, model: str) -> None:
        if reply.kind == "cut":
            body = b'{"id": "msg_cut", "type": "message", "content": [{"type": "te'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) * 3))
            self.end_headers()
            self.wfile.write(body)
            self._drop()
            return
        self._json(
            200,
            {
                "id": f"msg_{next(self.server.fake._ids)}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": self._anthropic_content(reply),
                "stop_reason": "tool_use" if reply.calls else "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
            },
        )

    def _anthropic_stream(self, reply: Reply, model: str) -> None:
        def event(name: str, data: dict[str, Any]) -> str:
            return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"

        events = [
            event(
                "message_start",
                {
                    "message": {
                        "id": f"msg_{next(self.server.fake._ids)}",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": reply.input_tokens, "output_tokens": 1},
                    }
                },
            )
        ]
        index = 0
        if reply.text:
            events.append(event("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}}))
            for piece in _chunks(reply.text):
                events.append(
                    event("content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": piece}})
                )
            events.append(event("content_block_stop", {"index": index}))
            index += 1
        for call in reply.calls:
            args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
            events.append(
                event(
                    "content_block_start",
                    {
                        "index": index,
                        "content_block": {
                            "type": "tool_use",
                            "id": call.id or f"toolu_{next(self.server.fake._ids)}",
                            "name": call.name,
                            "input": {},
                        },
                    },
                )
            )
            for piece in _chunks(args, 12):
                events.append(
                    event(
                        "content_block_delta",
                        {"index": index, "delta": {"type": "input_json_delta", "partial_json": piece}},
                    )
                )
            events.append(event("content_block_stop", {"index": index}))
            index += 1
        events.append(
            event(
                "message_delta",
                {
                    "delta": {"stop_reason": "tool_use" if reply.calls else "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": reply.output_tokens},
                },
            )
        )
        events.append(event("message_stop", {}))
        self._send_events(events, reply)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeLLMServer


class FakeLLMServer:
    def __init__(self, *, default: Reply | None = None, count_tokens: Callable[[str], int] | None = None) -> None:
        self.default = default or text("This is the fake model's default answer.")
        self.count_tokens = count_tokens
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeLLMServer:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return self._server.server_address[1]

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def _next(self) -> Reply:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def _measured(self, reply: Reply, body: dict[str, Any]) -> Reply:
        """The reply with the usage counted on what was sent and answered (only with `count_tokens`)."""
        if self.count_tokens is None or reply.kind not in ("text", "tool_calls"):
            return reply
        sent = {key: body[key] for key in ("system", "messages", "tools") if key in body}
        answered = reply.text + "".join(
            call.name + (call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments))
            for call in reply.calls
        )
        return replace(
            reply,
            input_tokens=self.count_tokens(json.dumps(sent, ensure_ascii=False)),
            output_tokens=max(1, self.count_tokens(answered)),
        )

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)
