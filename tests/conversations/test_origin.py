"""Strict WebSocket origin: scheme, host and port must be the site's own or configured."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.conversations.conftest import communicator, make_customer, make_user, session_cookie_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _customer_cookie() -> str:
    user = await sync_to_async(make_user)()
    await sync_to_async(make_customer)(user=user)
    return (await sync_to_async(session_cookie_for)(user))[1]


async def _opens(**kwargs) -> bool:
    comm = communicator(**kwargs)
    connected, _ = await comm.connect()
    await comm.disconnect()
    return connected


async def test_another_port_of_the_same_host_is_refused_with_the_customers_cookie():
    # given a signed-in customer's cookie and a page on http://127.0.0.1:9999
    cookie = await _customer_cookie()
    # when that page opens the chat socket of the site on port 8000
    opened = await _opens(cookie=cookie, origin=b"http://127.0.0.1:9999", host=b"127.0.0.1:8000")
    # then the handshake is refused
    assert opened is False


async def test_the_sites_own_origin_is_accepted():
    cookie = await _customer_cookie()
    assert await _opens(cookie=cookie, origin=b"http://127.0.0.1:8000", host=b"127.0.0.1:8000") is True


async def test_scheme_must_match_the_socket():
    # an https page talking to a plain ws socket is not this site's page (and neither the reverse)
    assert await _opens(origin=b"https://localhost", host=b"localhost") is False


async def test_a_missing_origin_or_an_unknown_host_is_refused():
    assert await _opens(origin=None) is False
    assert await _opens(origin=b"http://evil.example", host=b"evil.example") is False
    assert await _opens(origin=b"null") is False


async def test_configured_origins_are_accepted_exactly(settings):
    settings.CHAT_ALLOWED_ORIGINS = ["https://shop.example"]
    settings.CHAT_WIDGET_FRAME_ANCESTORS = ["https://other-shop.example:8443"]
    assert await _opens(origin=b"https://shop.example") is True
    assert await _opens(origin=b"https://shop.example:443") is True
    assert await _opens(origin=b"https://other-shop.example:8443") is True
    assert await _opens(origin=b"http://shop.example") is False
    assert await _opens(origin=b"https://shop.example:8443") is False
    assert await _opens(origin=b"https://evil.shop.example") is False


async def test_forwarded_proto_is_believed_only_from_a_trusted_proxy(settings):
    # given TLS ends at a proxy that talks plain ws to us
    settings.CHAT_TRUSTED_PROXIES = ["10.0.0.1"]
    proto = [(b"x-forwarded-proto", b"https")]
    # then the https page is the site's own when the proxy says so, and not when anyone else does
    assert await _opens(origin=b"https://localhost", client_ip="10.0.0.1", extra_headers=proto) is True
    assert await _opens(origin=b"https://localhost", client_ip="203.0.113.1", extra_headers=proto) is False
