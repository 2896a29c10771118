"""Abuse limits across sockets and the API: guest verification, sockets, messages and new conversations per address.

Each test reproduces an attack from issue 12 (a client without cookies that opens a new socket or a new API
conversation for every attempt) and asserts the refusal and that the side effect did not happen.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from apps.conversations import ratelimits
from apps.conversations.models import Conversation, Message
from tests.conversations.conftest import communicator, make_customer, make_order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def _one_window(monkeypatch):
    """Every rate window stays the same for the whole test: no window boundary can fall inside it."""
    import types

    from django_ratelimit import core

    frozen = int(core.time.time())
    monkeypatch.setattr(core, "time", types.SimpleNamespace(time=lambda: frozen))


async def _until(comm, *types: str) -> list[dict]:
    """Frames up to and including the first of `types` (no quiet-period guessing)."""
    seen = []
    while not seen or seen[-1]["type"] not in types:
        seen.append(await comm.receive_json_from(timeout=10))
    return seen


REFUSED = {"type": "error", "code": "rate_limited", "message": "Too many attempts. Try again later.", "id": None}


@pytest.fixture
def victim_order():
    """Another customer's order whose email the attacker knows."""
    customer = make_customer(email="victim@example.com")
    return make_order(customer=customer, number="TW-50017")


def _loose_verify_limits(settings) -> None:
    for name in (
        "CHAT_RATE_VERIFY",
        "CHAT_RATE_VERIFY_PER_IP",
        "CHAT_RATE_VERIFY_PER_ORDER",
        "CHAT_RATE_VERIFY_PER_EMAIL",
    ):
        setattr(settings, name, "1000/h")


async def _guess_on_a_new_socket(number: str, email: str, *, client_ip: str = "203.0.113.9") -> dict:
    """One guess the way the attack made it: a new socket, no cookies, a new conversation."""
    comm = communicator(client_ip=client_ip)
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "hello", "last_seq": 0})
    await comm.receive_json_from(timeout=3)
    await comm.send_json_to({"type": "verify", "order_number": number, "email": email})
    try:
        return (await _until(comm, "verified", "error"))[-1]
    finally:
        await comm.disconnect()


def _verified_conversations() -> int:
    return Conversation.objects.filter(verified_order__isnull=False).count()


async def test_verification_over_new_sockets_without_cookies_is_bounded_per_address(settings, victim_order, turns):
    # given a limit of 3 attempts per address (and the per-order/email limits out of the way)
    _loose_verify_limits(settings)
    settings.CHAT_RATE_VERIFY_PER_IP = "3/h"
    # when one address guesses order numbers, each on a new cookieless socket, and then finds the right one
    wrong = [await _guess_on_a_new_socket(f"TW-5001{i}", "victim@example.com") for i in range(3)]
    right = await _guess_on_a_new_socket("TW-50017", "victim@example.com")
    # then the wrong guesses fail, the right one is refused as over the limit, and nothing was verified
    assert [e["code"] for e in wrong] == ["verification_failed"] * 3
    assert right == REFUSED
    assert await sync_to_async(_verified_conversations)() == 0


async def test_verification_is_bounded_per_order_number_across_addresses(settings, victim_order, turns):
    # given at most 2 attempts per order number
    _loose_verify_limits(settings)
    settings.CHAT_RATE_VERIFY_PER_ORDER = "2/h"
    # when guesses at one order number come from different addresses (a botnet guessing emails)
    wrong = [
        await _guess_on_a_new_socket("tw-50017", f"guess{i}@example.com", client_ip=f"198.51.100.{i}") for i in (1, 2)
    ]
    right = await _guess_on_a_new_socket("TW-50017 ", "victim@example.com", client_ip="198.51.100.3")
    # then the third attempt is refused although it is right (case and spaces do not make a new number)
    assert [e["code"] for e in wrong] == ["verification_failed"] * 2
    assert right == REFUSED
    assert await sync_to_async(_verified_conversations)() == 0


def _api_guess(number: str, email: str, *, client_ip: str) -> int:
    client = Client(REMOTE_ADDR=client_ip)  # a new API client: no cookies, a new conversation each time
    started = client.post("/api/v1/conversations/", {}, content_type="application/json").json()
    response = client.post(
        f"/api/v1/conversations/{started['conversation']}/verify/",
        {"order_number": number, "email": email},
        content_type="application/json",
        headers={"X-Chat-Access": started["access"]},
    )
    return response.status_code


async def test_verification_is_bounded_per_email_across_the_api_and_sockets(settings, victim_order, turns):
    # given at most 2 attempts per email
    _loose_verify_limits(settings)
    settings.CHAT_RATE_VERIFY_PER_EMAIL = "2/h"
    # when the attacker alternates between the API and the socket and between addresses
    first = await sync_to_async(_api_guess)("TW-50011", "victim@example.com", client_ip="192.0.2.1")
    second = await _guess_on_a_new_socket("TW-50012", "Victim@Example.com", client_ip="192.0.2.2")
    third = await sync_to_async(_api_guess)("TW-50017", "victim@example.com", client_ip="192.0.2.3")
    # then the two counted attempts fail and the third (right) one is refused: one counter for both interfaces
    assert first == 400
    assert second["code"] == "verification_failed"
    assert third == 429
    assert await sync_to_async(_verified_conversations)() == 0


async def test_api_verification_with_new_conversations_is_bounded_per_address(settings, victim_order, turns):
    # given 3 attempts per address
    _loose_verify_limits(settings)
    settings.CHAT_RATE_VERIFY_PER_IP = "3/h"
    # when new cookieless API conversations guess from one address
    codes = [
        await sync_to_async(_api_guess)(f"TW-5002{i}", "victim@example.com", client_ip="192.0.2.50") for i in range(3)
    ]
    last = await sync_to_async(_api_guess)("TW-50017", "victim@example.com", client_ip="192.0.2.50")
    # then
    assert codes == [400, 400, 400]
    assert last == 429
    assert await sync_to_async(_verified_conversations)() == 0


async def test_a_right_answer_within_the_limits_still_verifies(settings, victim_order, turns):
    # the limits do not get in the way of the real customer
    event = await _guess_on_a_new_socket("TW-50017", "victim@example.com")
    assert event == {"type": "verified", "order": "TW-50017"}
    assert await sync_to_async(_verified_conversations)() == 1


async def test_new_sockets_are_bounded_per_address(settings):
    # given 3 new sockets per address (an hour's window, so no window boundary falls inside the test)
    settings.CHAT_RATE_SOCKETS_PER_IP = "3/h"
    opened = []
    for _ in range(3):
        comm = communicator(client_ip="203.0.113.20")
        assert (await comm.connect())[0]
        opened.append(comm)
    # when the fourth opens
    fourth = communicator(client_ip="203.0.113.20")
    await fourth.connect()
    # then it is told why and closed; another address is not affected
    assert await fourth.receive_json_from(timeout=3) == {
        "type": "error",
        "code": "rate_limited",
        "message": "Too many connections from your network. Try again in a minute.",
    }
    assert await fourth.receive_output(timeout=2) == {"type": "websocket.close", "code": 4429}
    await fourth.disconnect()
    other = communicator(client_ip="203.0.113.21")
    assert (await other.connect())[0]
    await other.send_json_to({"type": "hello", "last_seq": 0})
    assert (await other.receive_json_from(timeout=3))["type"] == "ready"
    for comm in [*opened, other]:
        await comm.disconnect()


async def test_open_sockets_are_bounded_per_address_and_freed_on_close(settings):
    # given at most 2 open sockets per address
    settings.CHAT_MAX_SOCKETS_PER_IP = 2
    first, second = communicator(client_ip="203.0.113.30"), communicator(client_ip="203.0.113.30")
    assert (await first.connect())[0]
    assert (await second.connect())[0]
    # when a third opens while both are open
    third = communicator(client_ip="203.0.113.30")
    await third.connect()
    refused = await third.receive_json_from(timeout=3)
    closed = await third.receive_output(timeout=2)
    await third.disconnect()
    # and one of the first two closes, then another opens
    await first.disconnect()
    fourth = communicator(client_ip="203.0.113.30")
    await fourth.connect()
    await fourth.send_json_to({"type": "hello", "last_seq": 0})
    # then the third was refused, the fourth got the freed slot
    assert refused["code"] == "rate_limited"
    assert closed == {"type": "websocket.close", "code": 4429}
    assert (await fourth.receive_json_from(timeout=3))["type"] == "ready"
    assert await sync_to_async(ratelimits.sockets_open)(ip="203.0.113.30") == 2
    await second.disconnect()
    await fourth.disconnect()
    assert await sync_to_async(ratelimits.sockets_open)(ip="203.0.113.30") == 0


async def test_messages_are_bounded_per_address_across_sockets_and_the_api(settings, turns):
    # given 3 customer messages per address per hour
    settings.CHAT_RATE_PER_IP = "3/h"
    sent = []
    for i in range(2):  # two cookieless sockets, each its own conversation
        comm = communicator(client_ip="203.0.113.40")
        await comm.connect()
        await comm.send_json_to({"type": "hello", "last_seq": 0})
        await comm.receive_json_from(timeout=3)
        await comm.send_json_to({"type": "message", "id": f"s{i}", "text": "hello"})
        sent.append([e["type"] for e in await _until(comm, "accepted", "error")])
        await comm.disconnect()
    client = Client(REMOTE_ADDR="203.0.113.40")
    started = await sync_to_async(client.post)("/api/v1/conversations/", {}, content_type="application/json")
    cid = started.json()["conversation"]
    body = {"client_message_id": "a1", "text": "hello"}
    third = await sync_to_async(client.post)(f"/api/v1/conversations/{cid}/messages/", body, "application/json")
    body = {"client_message_id": "a2", "text": "hello"}
    fourth = await sync_to_async(client.post)(f"/api/v1/conversations/{cid}/messages/", body, "application/json")
    # then the fourth message from the address is refused and not stored or answered
    assert ["accepted" in types for types in sent] == [True, True]
    assert third.status_code == 201
    assert fourth.status_code == 429
    assert fourth.json()["error"]["code"] == "rate_limited"
    assert await sync_to_async(Message.objects.count)() == 3
    assert len(turns) == 3


async def test_new_conversations_are_bounded_per_address_across_sockets_and_the_api(settings, turns):
    # given 2 new conversations per address
    settings.CHAT_RATE_CONVERSATIONS_PER_IP = "2/h"
    client = Client(REMOTE_ADDR="203.0.113.50")
    by_api = await sync_to_async(client.post)("/api/v1/conversations/", {}, content_type="application/json")
    events = []
    for i in range(2):
        comm = communicator(client_ip="203.0.113.50")
        await comm.connect()
        await comm.send_json_to({"type": "hello", "last_seq": 0})
        await comm.receive_json_from(timeout=3)
        await comm.send_json_to({"type": "message", "id": f"c{i}", "text": "hello"})
        events.append([e for e in await _until(comm, "accepted", "error") if e["type"] in ("accepted", "error")])
        await comm.disconnect()
    # then the API's and the first socket's conversations exist, the second socket's message is refused
    assert by_api.status_code == 201
    assert [e["type"] for e in events[0]] == ["accepted"]
    assert events[1] == [
        {
            "type": "error",
            "code": "rate_limited",
            "message": "Too many new conversations from your network. Try again later.",
            "id": "c1",
        }
    ]
    assert await sync_to_async(Conversation.objects.count)() == 2
    assert await sync_to_async(Message.objects.count)() == 1


async def test_a_conversation_remembers_the_address_that_started_it(turns):
    comm = communicator(client_ip="203.0.113.60")
    await comm.connect()
    await comm.send_json_to({"type": "hello", "last_seq": 0})
    await comm.receive_json_from(timeout=3)
    await comm.send_json_to({"type": "message", "id": "m", "text": "hello"})
    await _until(comm, "accepted")
    await comm.disconnect()
    assert await sync_to_async(lambda: list(Conversation.objects.values_list("client_ip", flat=True)))() == [
        "203.0.113.60"
    ]


async def test_forwarded_for_is_ignored_from_an_untrusted_peer(settings, turns):
    # given no trusted proxy, and a client that claims a new address on every socket
    settings.CHAT_RATE_SOCKETS_PER_IP = "2/h"
    codes = []
    for i in range(3):
        comm = communicator(client_ip="203.0.113.70", extra_headers=[(b"x-forwarded-for", f"10.9.9.{i}".encode())])
        await comm.connect()
        await comm.send_json_to({"type": "hello", "last_seq": 0})
        first = await comm.receive_json_from(timeout=3)
        codes.append("open" if first["type"] == "ready" else first["code"])
        await comm.disconnect()
    # then the claim is not believed: the peer's own limit holds
    assert codes == ["open", "open", "rate_limited"]


async def test_the_issue_12_attack_with_the_default_limits(victim_order, turns):
    # given the default limits, and the attack from issue 12: one address, a known email, sequential order
    # numbers, 5 guesses on each of 40 cookieless sockets; the right number is guess 150 of 200
    outcomes: list[str] = []
    refused_sockets = 0
    for s in range(40):
        comm = communicator(client_ip="203.0.113.99")
        await comm.connect()
        await comm.send_json_to({"type": "hello", "last_seq": 0})
        first = await comm.receive_json_from(timeout=3)
        if first["type"] == "error":
            refused_sockets += 1
            await comm.disconnect()
            continue
        for g in range(5):
            number = f"TW-{49868 + s * 5 + g}"  # s=29, g=4 is TW-50017
            await comm.send_json_to({"type": "verify", "order_number": number, "email": "victim@example.com"})
            event = (await _until(comm, "verified", "error"))[-1]
            outcomes.append(event.get("code", event["type"]))
        await comm.disconnect()
    # then 10 guesses were checked (the per-address limit), the rest refused, sockets past 30 a minute refused,
    # and the victim's order was never verified
    assert outcomes.count("verification_failed") == 10
    assert outcomes.count("rate_limited") == 140
    assert "verified" not in outcomes
    assert refused_sockets == 10
    assert await sync_to_async(_verified_conversations)() == 0
