"""A customer message's three limits (per socket, per customer/session/conversation, per address) are counted in one
round trip (`ratelimits.hits`), on django-ratelimit's own counters."""

from __future__ import annotations

from typing import Any

import pytest
from django_ratelimit.core import get_usage

from apps.conversations import ratelimits
from apps.core.errors import ApplicationError


def _count(group: str, subject: str, rate: str) -> int:
    """What django-ratelimit itself reads for the counter (without counting)."""
    usage = get_usage(ratelimits._SocketRequest(), group=group, key=lambda _g, _r: subject, rate=rate, method="POST")
    return usage["count"]


def test_each_message_counts_once_in_each_limit_on_django_ratelimits_keys(settings: Any) -> None:
    # given
    settings.CHAT_RATE_PER_CONNECTION, settings.CHAT_RATE_PER_CUSTOMER, settings.CHAT_RATE_PER_IP = "5/m", "6/m", "7/m"

    # when
    for _ in range(3):
        ratelimits.check_message(ip="203.0.113.5", actor="session:abc", connection="socket-1")

    # then
    assert _count(ratelimits.GROUP_CONNECTION, "socket-1", "5/m") == 3
    assert _count(ratelimits.GROUP_CUSTOMER, "session:abc", "6/m") == 3
    assert _count(ratelimits.GROUP_IP, "203.0.113.5", "7/m") == 3


def test_the_first_limit_over_refuses_and_the_later_ones_are_not_spent(settings: Any) -> None:
    # given: the socket's limit is 2 a minute
    settings.CHAT_RATE_PER_CONNECTION, settings.CHAT_RATE_PER_CUSTOMER, settings.CHAT_RATE_PER_IP = "2/m", "6/m", "7/m"
    for _ in range(2):
        ratelimits.check_message(ip="203.0.113.5", actor="session:abc", connection="socket-1")

    # when: a third message on the same socket
    with pytest.raises(ApplicationError) as refused:
        ratelimits.check_message(ip="203.0.113.5", actor="session:abc", connection="socket-1")

    # then: refused; the customer's and the address's counters did not count it
    assert refused.value.code == "rate_limited"
    assert _count(ratelimits.GROUP_CONNECTION, "socket-1", "2/m") == 3
    assert _count(ratelimits.GROUP_CUSTOMER, "session:abc", "6/m") == 2
    assert _count(ratelimits.GROUP_IP, "203.0.113.5", "7/m") == 2


def test_the_address_limit_holds_across_sockets_and_sessions(settings: Any) -> None:
    # given: two messages a minute from one address
    settings.CHAT_RATE_PER_IP = "2/m"
    ratelimits.check_message(ip="198.51.100.2", actor="session:a", connection="socket-a")
    ratelimits.check_message(ip="198.51.100.2", actor="session:b", connection="")

    # when / then: a third from another socket and session is refused; another address is not
    with pytest.raises(ApplicationError):
        ratelimits.check_message(ip="198.51.100.2", actor="session:c", connection="socket-c")
    ratelimits.check_message(ip="198.51.100.3", actor="session:c", connection="socket-c")


def test_no_limit_counts_when_rate_limiting_is_off(settings: Any) -> None:
    # given
    settings.RATELIMIT_ENABLE = False
    settings.CHAT_RATE_PER_CONNECTION = "1/m"

    # when: more messages than the limit
    for _ in range(3):
        ratelimits.check_message(ip="203.0.113.5", actor="session:abc", connection="socket-1")

    # then: nothing refused, nothing counted
    settings.RATELIMIT_ENABLE = True
    assert _count(ratelimits.GROUP_CONNECTION, "socket-1", "1/m") == 0
