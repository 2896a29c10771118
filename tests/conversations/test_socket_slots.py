"""Open-socket slots per address in Redis: taken, refreshed, freed, and forgotten when a process died."""

from __future__ import annotations

from apps.conversations import ratelimits


def test_slots_of_sockets_a_dead_process_never_closed_expire(settings):
    # given two sockets whose process died without closing them (no socket_close)
    settings.CHAT_MAX_SOCKETS_PER_IP = 2
    settings.CHAT_RATE_SOCKETS_PER_IP = "1000/h"
    t0 = 1_000_000.0
    assert ratelimits.socket_open(ip="203.0.113.1", socket_name="a", now=t0)
    assert ratelimits.socket_open(ip="203.0.113.1", socket_name="b", now=t0)
    # when a third socket comes while they still count, and again after the slot lifetime
    refused = ratelimits.socket_open(ip="203.0.113.1", socket_name="c", now=t0 + 10)
    later = ratelimits.socket_open(ip="203.0.113.1", socket_name="d", now=t0 + ratelimits.SOCKET_SLOT_TTL_SECONDS + 1)
    # then the refused one took no slot, and the dead ones stopped counting
    assert refused is False
    assert later is True
    assert ratelimits.sockets_open(ip="203.0.113.1") == 1


def test_a_socket_that_is_seen_keeps_its_slot(settings):
    settings.CHAT_MAX_SOCKETS_PER_IP = 1
    settings.CHAT_RATE_SOCKETS_PER_IP = "1000/h"
    t0 = 2_000_000.0
    assert ratelimits.socket_open(ip="203.0.113.2", socket_name="alive", now=t0)
    ratelimits.socket_seen(ip="203.0.113.2", socket_name="alive", now=t0 + ratelimits.SOCKET_SLOT_TTL_SECONDS - 5)
    # an hour after it opened, it is still open and still counts
    assert (
        ratelimits.socket_open(ip="203.0.113.2", socket_name="new", now=t0 + ratelimits.SOCKET_SLOT_TTL_SECONDS + 1)
        is False
    )
    ratelimits.socket_close(ip="203.0.113.2", socket_name="alive")
    assert ratelimits.sockets_open(ip="203.0.113.2") == 0
