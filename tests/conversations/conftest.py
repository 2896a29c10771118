"""Fixtures for the chat: shop rows, signed-in browsers, a socket helper and a stand-in agent turn."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from apps.accounts.models import User
from apps.commerce.models import Customer, Order
from apps.conversations import events, services
from apps.conversations.models import Message, MessageRole

_n = itertools.count(1)
ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


def make_customer(*, email: str | None = None, user: User | None = None) -> Customer:
    i = next(_n)
    return Customer.objects.create(
        email=email or f"customer{i}@example.com", first_name=f"Ada{i}", last_name="Lovelace", user=user
    )


def make_order(*, customer: Customer, number: str | None = None, total: str = "42.00") -> Order:
    i = next(_n)
    return Order.objects.create(
        number=number or f"TW-{10000 + i}",
        customer=customer,
        subtotal=Decimal(total),
        total=Decimal(total),
        ship_name=customer.full_name,
        ship_line1="1 Harbour Road",
        ship_city="Portsmouth",
        ship_postal_code="PO1 1AA",
        ship_country="GB",
        placed_at=timezone.now(),
    )


def make_user(*, username: str | None = None, staff: bool = False, perms: tuple[str, ...] = ()) -> User:
    i = next(_n)
    name = username or f"user{i}"
    user = User.objects.create_user(username=name, email=f"{name}@example.com", password="pw-123456!", is_staff=staff)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def session_cookie_for(user: User | None) -> tuple[Client, str]:
    """A browser (Django test client) signed in as `user`, and its session cookie header value."""
    client = Client()
    if user is not None:
        client.force_login(user)
    else:
        session = client.session
        session["chat"] = True
        session.save()
        client.cookies["sessionid"] = session.session_key
    return client, f"sessionid={client.cookies['sessionid'].value}"


# Channels' default 1 s wait fails a correct consumer on a loaded machine; a wait only costs time
# when something is wrong, so every wait gets this floor (receive_nothing keeps its own, shorter, window).
WAIT_FLOOR_SECONDS = 20


class PatientCommunicator(WebsocketCommunicator):
    async def receive_output(self, timeout: float = 1) -> dict[str, Any]:  # noqa: ASYNC109 - the parent signature
        return await super().receive_output(max(timeout, WAIT_FLOOR_SECONDS))


def communicator(
    path: str = "/ws/chat/",
    *,
    cookie: str = "",
    origin: bytes | None = b"http://localhost",
    host: bytes = b"localhost",
    client_ip: str = "127.0.0.1",
    extra_headers: list[tuple[bytes, bytes]] | None = None,
):
    """A socket as a browser on `client_ip` opens it (the ASGI server puts the peer in the scope)."""
    from config.asgi import application

    headers = [(b"host", host)]
    if origin is not None:
        headers.append((b"origin", origin))
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    headers.extend(extra_headers or [])
    comm = PatientCommunicator(application, path, headers=headers)
    # The application has not run yet: the scope it was given is this dict.
    comm.scope["client"] = (client_ip, 50000)
    return comm


async def receive_until(comm: WebsocketCommunicator, event_type: str, wait: float = 3) -> list[dict[str, Any]]:
    """Every event up to and including the first of `event_type`."""
    seen = []
    while True:
        event = await comm.receive_json_from(timeout=wait)
        seen.append(event)
        if event["type"] == event_type:
            return seen


@pytest.fixture
def turns(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record queued turns instead of running the agent (the runtime and its queue are tested in tests/agents)."""
    from apps.agents import turn_queue

    enqueued: list[int] = []
    monkeypatch.setattr(turn_queue, "turn_enqueue", lambda *, message_id: enqueued.append(message_id))
    return enqueued


def scripted_turn(reply: str, *, chunks: int = 3, agent: str = "faq", citations: list | None = None):
    """A stand-in for apps.agents.turns.turn_run that follows its contract: typing, deltas, stored reply."""

    def run(message_id: int) -> None:
        message = Message.objects.select_related("conversation").get(pk=message_id)
        conversation = message.conversation
        events.push_now(conversation, "typing", active=True)
        size = max(1, -(-len(reply) // chunks))
        for start in range(0, len(reply), size):
            events.push_now(conversation, "delta", reply_to=message.pk, text=reply[start : start + size])
        services.message_create(
            conversation=conversation,
            role=MessageRole.ASSISTANT,
            text=reply,
            agent=agent,
            citations=citations or [],
            in_reply_to=message,
        )

    return run


async def drain(comm: WebsocketCommunicator, quiet: float = 0.5) -> list[dict[str, Any]]:
    """Every event until the socket has been quiet for `quiet` seconds (without cancelling the app)."""
    seen = []
    while not await comm.receive_nothing(timeout=quiet):
        seen.append(await comm.receive_json_from(timeout=3))
    return seen


@pytest.fixture(scope="session", autouse=True)
def _end_lingering_connections(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """Live-server and socket tests leave connections in server and pool threads; end them so the
    test database can be dropped at the end of the run."""
    yield
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Any:
    """A channel layer instance per test: one bound to a finished test's event loop (a stopped live
    server, a closed communicator) must not be reused from another loop."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
