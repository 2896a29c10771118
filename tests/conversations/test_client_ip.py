"""The client's address: the TCP peer, X-Forwarded-For only through configured proxies."""

from __future__ import annotations

import pytest

from apps.conversations.ratelimits import client_ip, client_ip_from_scope


@pytest.fixture
def proxies(settings):
    settings.CHAT_TRUSTED_PROXIES = ["10.0.0.0/8", "192.168.1.5"]
    return settings


def test_without_trusted_proxies_the_peer_is_the_client(settings):
    settings.CHAT_TRUSTED_PROXIES = []
    assert client_ip(peer="203.0.113.5", forwarded_for="1.2.3.4") == "203.0.113.5"


def test_a_trusted_proxy_hands_on_the_right_most_untrusted_hop(proxies):
    # the client prepended a forged address; the proxies appended the real one
    assert client_ip(peer="10.0.0.7", forwarded_for="6.6.6.6, 198.51.100.4, 192.168.1.5") == "198.51.100.4"


def test_a_peer_outside_the_proxy_list_is_not_believed(proxies):
    assert client_ip(peer="203.0.113.5", forwarded_for="198.51.100.4") == "203.0.113.5"


def test_a_malformed_chain_is_not_believed(proxies):
    assert client_ip(peer="10.0.0.7", forwarded_for="198.51.100.4, not-an-ip") == "10.0.0.7"


def test_a_chain_of_proxies_only_gives_its_first_hop(proxies):
    assert client_ip(peer="10.0.0.7", forwarded_for="10.1.1.1, 10.2.2.2") == "10.1.1.1"


def test_the_asgi_scope_gives_the_same_answer(proxies):
    scope = {"client": ("10.0.0.7", 4000), "headers": [(b"x-forwarded-for", b"198.51.100.4")]}
    assert client_ip_from_scope(scope) == "198.51.100.4"
    assert client_ip_from_scope({"headers": []}) == ""
