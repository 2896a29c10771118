"""Abuse limits shared by the HTTP API and the chat socket (docs/security.md).

Every counter lives in Redis, so a client that spreads its traffic over tabs,
sockets, processes and the API still meets one limit:

- message and event rates go through django-ratelimit's counters in the Redis
  cache (fixed windows, one group per limit). The socket has no request
  object: it passes a minimal stand-in that carries only what django-ratelimit
  reads (the method). A customer message's three limits are counted on the
  same keys by one Lua script (`hits`), one round trip instead of up to nine;
- open sockets per client address are a sorted set of socket names scored by
  the time they were last seen, so a process that dies without closing its
  sockets stops counting them after `SOCKET_SLOT_TTL_SECONDS`.

The client address is the TCP peer (`REMOTE_ADDR`, the ASGI scope's `client`);
`X-Forwarded-For` is believed only when that peer is one of
`CHAT_TRUSTED_PROXIES`, and then only up to the first address that is not a
trusted proxy (the right-most hop a client cannot forge).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from django_ratelimit.core import EXPIRATION_FUDGE, _get_window, _make_cache_key, _split_rate, get_usage

from apps.core.errors import ApplicationError

GROUP_CUSTOMER = "chat.messages.customer"
GROUP_CONNECTION = "chat.messages.connection"
GROUP_IP = "chat.messages.ip"
GROUP_VERIFY = "chat.verify"
GROUP_VERIFY_IP = "chat.verify.ip"
GROUP_VERIFY_ORDER = "chat.verify.order"
GROUP_VERIFY_EMAIL = "chat.verify.email"
GROUP_SOCKETS_IP = "chat.sockets.ip"
GROUP_CONVERSATIONS_IP = "chat.conversations.ip"

SOCKET_SLOT_TTL_SECONDS = 3600
_SOCKETS_PREFIX = "switchboard:chat:sockets:"

TOO_FAST = "You are sending messages too fast. Wait a moment."
TOO_MANY_ATTEMPTS = "Too many attempts. Try again later."
TOO_MANY_CONVERSATIONS = "Too many new conversations from your network. Try again later."


@dataclass
class _SocketRequest:
    method: str = "POST"


def rate_ip(group: str, request: object) -> str:
    return settings.CHAT_RATE_PER_IP


def hit(*, group: str, subject: str, rate: str, increment: bool = True) -> bool:
    """Count one event for `subject`; True when it is over the limit."""
    usage = get_usage(
        _SocketRequest(), group=group, key=lambda _g, _r: subject, rate=rate, method="POST", increment=increment
    )
    return bool(usage and usage["should_limit"])


# Each counter in turn, as django-ratelimit's `get_usage(increment=True)` counts it (SET NX with the window's
# expiry, else INCR); stops at the first one over its limit, whose position (1-based) it returns, else 0.
_HITS_LUA = """
for i, key in ipairs(KEYS) do
  local count = 1
  if not redis.call('SET', key, 1, 'NX', 'EX', tonumber(ARGV[2 * i - 1])) then
    count = redis.call('INCR', key)
  end
  if count > tonumber(ARGV[2 * i]) then
    return i
  end
end
return 0
"""


@cache
def _hits_script(url: str) -> redis.commands.core.Script:
    return _client(url).register_script(_HITS_LUA)


def hits(limits: list[tuple[str, str, str]]) -> bool:
    """Count one event against each (group, subject, rate) in order, on django-ratelimit's own keys, stopping at
    the first limit that is over (the later ones are not spent, as with `hit(...) or hit(...)`); True when one was.
    One round trip: django-ratelimit's `get_usage` is an add and an exists-then-incr, three per limit."""
    if not limits or not getattr(settings, "RATELIMIT_ENABLE", True):
        return False
    cache_name = getattr(settings, "RATELIMIT_USE_CACHE", "default")
    keys: list[str] = []
    args: list[int] = []
    for group, subject, rate in limits:
        limit, period = _split_rate(rate)
        key = _make_cache_key(group, _get_window(subject, period), rate, subject, "POST")
        keys.append(caches[cache_name].make_and_validate_key(key))
        args.extend((period + EXPIRATION_FUDGE, limit))
    return bool(_hits_script(settings.CACHES[cache_name]["LOCATION"])(keys=keys, args=args))


# --- the client's address ------------------------------------------------------
@cache
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.CHAT_TRUSTED_PROXIES)))


def client_ip(*, peer: str, forwarded_for: str = "") -> str:
    """The client's address: the peer, or the right-most untrusted hop when the peer is a trusted proxy."""
    peer = (peer or "").strip()
    if not forwarded_for or not _trusted(peer):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a malformed chain is not believed at all
        if not _trusted(hop):
            return hop
    return hops[0] if hops else peer


def client_ip_from_request(request: HttpRequest) -> str:
    return client_ip(
        peer=request.META.get("REMOTE_ADDR", ""), forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", "")
    )


def client_ip_from_scope(scope: dict) -> str:
    peer = (scope.get("client") or ("", 0))[0] or ""
    forwarded = ",".join(
        value.decode("latin1") for name, value in scope.get("headers", []) if name == b"x-forwarded-for"
    )
    return client_ip(peer=str(peer), forwarded_for=forwarded)


def forwarded_proto_from_scope(scope: dict) -> str:
    """X-Forwarded-Proto, believed only from a trusted proxy ('' otherwise)."""
    peer = (scope.get("client") or ("", 0))[0] or ""
    if not _trusted(str(peer)):
        return ""
    for name, value in scope.get("headers", []):
        if name == b"x-forwarded-proto":
            return value.decode("latin1").split(",")[0].strip().lower()
    return ""


# --- limits one call each -------------------------------------------------------
def check_message(*, ip: str, actor: str, connection: str = "") -> None:
    """A customer message (socket or API): per socket, per customer/session/conversation and per address."""
    limits = [(GROUP_CUSTOMER, actor, settings.CHAT_RATE_PER_CUSTOMER)]
    if connection:
        limits.insert(0, (GROUP_CONNECTION, connection, settings.CHAT_RATE_PER_CONNECTION))
    if ip:
        limits.append((GROUP_IP, ip, settings.CHAT_RATE_PER_IP))
    if hits(limits):
        raise ApplicationError(TOO_FAST, code="rate_limited")


def check_conversation_start(*, ip: str) -> None:
    """A new conversation from one address (socket or API)."""
    if ip and hit(group=GROUP_CONVERSATIONS_IP, subject=ip, rate=settings.CHAT_RATE_CONVERSATIONS_PER_IP):
        raise ApplicationError(TOO_MANY_CONVERSATIONS, code="rate_limited")


def verify_subjects(*, ip: str, actor: str, order_number: str, email: str) -> Iterable[tuple[str, str, str]]:
    yield GROUP_VERIFY, actor, settings.CHAT_RATE_VERIFY
    if ip:
        yield GROUP_VERIFY_IP, ip, settings.CHAT_RATE_VERIFY_PER_IP
    number = (order_number or "").strip().upper()
    if number:
        yield GROUP_VERIFY_ORDER, number, settings.CHAT_RATE_VERIFY_PER_ORDER
    address = (email or "").strip().lower()
    if address:
        yield GROUP_VERIFY_EMAIL, address, settings.CHAT_RATE_VERIFY_PER_EMAIL


def check_verify(*, ip: str, actor: str, order_number: str, email: str) -> None:
    """One guest verification attempt, counted per session/socket, per address, per order number and per email.

    Every attempt counts (also the ones that will succeed): counting only failures would need a check before
    and an increment after, which parallel sockets race through. Every counter is incremented, so an attacker
    who is refused on one of them still spends the others.
    """
    over = [
        hit(group=group, subject=subject, rate=rate)
        for group, subject, rate in verify_subjects(ip=ip, actor=actor, order_number=order_number, email=email)
    ]
    if any(over):
        raise ApplicationError(TOO_MANY_ATTEMPTS, code="rate_limited")


# --- open sockets per address ------------------------------------------------------
@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def _sockets_key(ip: str) -> str:
    return _SOCKETS_PREFIX + ip


def socket_open(*, ip: str, socket_name: str, now: float | None = None) -> bool:
    """Take a slot for a new socket from `ip`; False (and no slot taken) when it is over a limit."""
    if not ip:
        return True
    if hit(group=GROUP_SOCKETS_IP, subject=ip, rate=settings.CHAT_RATE_SOCKETS_PER_IP):
        return False
    limit = settings.CHAT_MAX_SOCKETS_PER_IP
    if not limit or limit <= 0:
        return True
    now = time.time() if now is None else now
    key = _sockets_key(ip)
    client = _client(settings.REDIS_URL)
    with client.pipeline() as pipe:  # MULTI/EXEC: the trim, the count and the add see one state
        pipe.zremrangebyscore(key, "-inf", now - SOCKET_SLOT_TTL_SECONDS)
        pipe.zadd(key, {socket_name: now})
        pipe.zcard(key)
        pipe.expire(key, SOCKET_SLOT_TTL_SECONDS)
        _, _, count, _ = pipe.execute()
    if count > limit:
        client.zrem(key, socket_name)
        return False
    return True


def socket_seen(*, ip: str, socket_name: str, now: float | None = None) -> None:
    """The socket is alive (a frame arrived): keep its slot from expiring."""
    if ip and settings.CHAT_MAX_SOCKETS_PER_IP > 0:
        _client(settings.REDIS_URL).zadd(_sockets_key(ip), {socket_name: time.time() if now is None else now}, xx=True)


def socket_close(*, ip: str, socket_name: str) -> None:
    if ip:
        _client(settings.REDIS_URL).zrem(_sockets_key(ip), socket_name)


def sockets_open(*, ip: str) -> int:
    return int(_client(settings.REDIS_URL).zcard(_sockets_key(ip)))
