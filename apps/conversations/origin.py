"""Strict WebSocket origin check: scheme, host and port, against an allow-list.

A browser sends the page's origin with every WebSocket handshake and the
session cookie of the target site with it, so a page on any other origin
(another port of the same host included) could otherwise drive a signed-in
customer's chat. Allowed are:

- the site's own origin: the handshake's Host (which must be in ALLOWED_HOSTS)
  with the socket's scheme (`ws` -> `http`, `wss` -> `https`; a TLS-terminating
  proxy's `X-Forwarded-Proto` is believed only from `CHAT_TRUSTED_PROXIES`);
- each of `CHAT_ALLOWED_ORIGINS` and the `CHAT_WIDGET_FRAME_ANCESTORS` that
  name a scheme (the shops allowed to embed the widget), compared exactly.

A handshake without an Origin header is refused (browsers always send one).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from apps.conversations import ratelimits

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(value: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin, or None when it is not an http(s) origin."""
    try:
        parts = urlsplit(value.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    if parts.username or parts.password or parts.query or parts.fragment:
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def configured_origins() -> set[tuple[str, str, int]]:
    entries = [*settings.CHAT_ALLOWED_ORIGINS, *settings.CHAT_WIDGET_FRAME_ANCESTORS]
    return {origin for origin in map(normalise_origin, entries) if origin is not None}


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def own_origin(scope: dict[str, Any]) -> tuple[str, str, int] | None:
    """The origin a page served by this site has, from the handshake's Host and scheme."""
    host = _header(scope, b"host") or ""
    domain, port = split_domain_port(host.lower())
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = ratelimits.forwarded_proto_from_scope(scope) or (
        "https" if scope.get("scheme") in ("wss", "https") else "http"
    )
    if scheme not in DEFAULT_PORTS:
        return None
    try:
        number = int(port) if port else DEFAULT_PORTS[scheme]
    except ValueError:
        return None
    return scheme, domain.strip("[]"), number


def origin_allowed(scope: dict[str, Any]) -> bool:
    raw = _header(scope, b"origin")
    if raw is None:
        return False
    origin = normalise_origin(raw)
    if origin is None:
        return False
    # urlsplit keeps IPv6 brackets out of hostname; own_origin strips them too.
    return origin == own_origin(scope) or origin in configured_origins()


class StrictOriginValidator:
    """ASGI middleware for the websocket protocol: refuse the handshake unless the origin is allowed."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("StrictOriginValidator guards WebSocket connections only.")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
