"""Message rate limits shared by the HTTP API and the chat socket.

Both go through django-ratelimit's counters in the Redis cache with the same
group, key and rate, so a customer who spreads messages over tabs, sockets and
the API still meets one limit. The socket has no request object: it passes a
minimal stand-in that carries only what django-ratelimit reads (the method).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

GROUP_CUSTOMER = "chat.messages.customer"
GROUP_CONNECTION = "chat.messages.connection"
GROUP_IP = "chat.messages.ip"
GROUP_VERIFY = "chat.verify"


@dataclass
class _SocketRequest:
    method: str = "POST"


def rate_customer(group: str, request: object) -> str:
    return settings.CHAT_RATE_PER_CUSTOMER


def rate_connection(group: str, request: object) -> str:
    return settings.CHAT_RATE_PER_CONNECTION


def rate_ip(group: str, request: object) -> str:
    return settings.CHAT_RATE_PER_IP


def rate_verify(group: str, request: object) -> str:
    return settings.CHAT_RATE_VERIFY


def hit(*, group: str, subject: str, rate: str, increment: bool = True) -> bool:
    """Count one event for `subject`; True when it is over the limit."""
    usage = get_usage(
        _SocketRequest(), group=group, key=lambda _g, _r: subject, rate=rate, method="POST", increment=increment
    )
    return bool(usage and usage["should_limit"])


def http_actor(request: HttpRequest) -> str:
    """The same subject the socket uses: the customer, else the session (set by the API views)."""
    return getattr(request, "chat_actor", "") or f"ip:{request.META.get('REMOTE_ADDR', '')}"


def http_actor_key(group: str, request: HttpRequest) -> str:
    return http_actor(request)
