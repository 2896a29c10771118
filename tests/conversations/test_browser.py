"""Real browser (Debian's Chromium through Playwright) against a live ASGI server and real workers.

The server is uvicorn running `config.asgi` in a thread of the test process (same test database and
Redis); a turn worker (apps.agents.turn_worker) and an embedded Celery worker run on threads, consuming
from the test Redis, so the agent turn runs off the socket's path and its deltas stream to the page as
they are pushed.

When the agent runtime (`apps.agents.turns`) is installed the real turn runs (local model, no network);
until then a stand-in that follows its contract (typing, deltas, stored reply) answers.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from apps.conversations import events, services
from apps.conversations.models import Conversation, Message, MessageRole
from tests.conversations.conftest import make_customer, make_order, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
RUNTIME_INSTALLED = importlib.util.find_spec("apps.agents.turns") is not None
# The real runtime trains or loads its local route classifier on the first turn of a process.
FIRST_ANSWER_MS = 240_000 if RUNTIME_INSTALLED else 30_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server_url(transactional_db: Any, settings: Any) -> Iterator[str]:
    import uvicorn
    from channels.routing import ProtocolTypeRouter
    from django.core.handlers.asgi import ASGIHandler

    import config.asgi

    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    app = ProtocolTypeRouter(
        {"http": ASGIHandler(), "websocket": config.asgi.application.application_mapping["websocket"]}
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws_max_size=65536)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # polled: only a server that never starts waits this long
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the ASGI server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _stand_in_turn(message_id: int) -> None:
    """Follows apps.agents.turns.turn_run's contract; answers from the conversation's verified order."""
    message = Message.objects.select_related("conversation__verified_order").get(pk=message_id)
    conversation = message.conversation
    events.push_now(conversation, "typing", reply_to=message.pk)
    order = conversation.verified_order
    reply = (
        f"Order {order.number} is {order.get_status_display().lower()}."
        if order
        else "I can help once you verify an order."
    )
    for word in reply.split(" "):
        events.push_now(conversation, "delta", reply_to=message.pk, text=word + " ")
        time.sleep(0.05)
    services.message_create(
        conversation=conversation, role=MessageRole.ASSISTANT, text=reply, agent="order", in_reply_to=message
    )


@pytest.fixture
def workers(live_server_url: str) -> Iterator[None]:
    """A turn worker (customer turns) and an embedded Celery worker (refunds), threads of this process."""
    from celery.contrib.testing.worker import start_worker

    from config.celery_app import app
    from tests.workers import turn_worker_thread

    stand_in = None
    if not RUNTIME_INSTALLED:
        stand_in = types.ModuleType("apps.agents.turns")
        stand_in.turn_run = lambda *, message_id: _stand_in_turn(message_id)  # type: ignore[attr-defined]
        sys.modules["apps.agents.turns"] = stand_in
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with (
            turn_worker_thread(threads=1),
            start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=120),
        ):
            yield
    finally:
        app.conf.task_always_eager = eager
        if stand_in is not None:
            sys.modules.pop("apps.agents.turns", None)


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # Playwright's sync API keeps an event loop on the main thread; the ORM calls the test makes
    # there are still plain synchronous calls (the documented Django + Playwright set-up).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
        )
        yield b
        b.close()


def _off_loop(fn: Any, /, **kwargs: Any) -> Any:
    """Run a service in a plain thread: it pushes socket events with async_to_sync, which may not run on the
    thread where Playwright keeps its event loop."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def call() -> Any:
        try:
            return fn(**kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result(timeout=60)


def _signed_in_context(browser: Any, base_url: str, user: Any) -> Any:
    client = Client()
    client.force_login(user)
    context = browser.new_context(base_url=base_url)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])
    return context


def _record_frames(page: Any) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []

    def on_socket(ws: Any) -> None:
        if ws.url.endswith("/ws/chat/"):
            ws.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", on_socket)
    return frames


def test_guest_verifies_asks_about_an_order_and_sees_the_answer_stream(live_server_url, workers, browser):
    # given a shop order and a guest on the chat page
    customer = make_customer(email="guest.buyer@example.com")
    order = make_order(customer=customer, number="TW-42001")
    page = browser.new_page(base_url=live_server_url)
    frames = _record_frames(page)
    page.goto("/chat/")
    page.wait_for_selector("#chat-conn:text('Connected')")
    # when they open the verification form, verify the order and ask about it
    page.click("#chat-verify summary")
    page.fill("#verify-number", "TW-42001")
    page.fill("#verify-email", "Guest.Buyer@example.com")
    page.click("#verify-form button")
    page.wait_for_selector("#chat-who:text('Order TW-42001 verified')")
    page.fill("#compose-text", "Where is my order TW-42001?")
    page.keyboard.press("Enter")
    # then the answer streams in and ends as the stored reply
    final = page.wait_for_selector(".msg-assistant:not(.streaming)[data-seq] .msg-text", timeout=FIRST_ANSWER_MS)
    kinds = [f["type"] for f in frames]
    final_frame = next(f for f in frames if f["type"] == "message" and f["message"]["role"] == "assistant")
    assert "delta" in kinds
    assert kinds.index("delta") < frames.index(final_frame)
    assert final.inner_text().strip() == final_frame["message"]["text"].strip()
    if not RUNTIME_INSTALLED:
        # the stand-in answers from the conversation's verified order: the verification reached the turn
        assert final.inner_text().strip() == "Order TW-42001 is pending."
    assert Conversation.objects.get().verified_order == order
    # and the history is shown again after a reload
    page.reload()
    page.wait_for_selector(f".msg-assistant[data-seq='{final_frame['message']['seq']}']")
    assert page.locator(".msg-customer .msg-text").all_inner_texts() == ["Where is my order TW-42001?"]
    page.close()


def test_staff_takes_over_and_the_customer_sees_the_reply_live(live_server_url, workers, browser):
    # given a signed-in customer chatting with the bot
    user = make_user(username="casey")
    make_customer(user=user)
    customer_page = _signed_in_context(browser, live_server_url, user).new_page()
    customer_page.goto("/chat/")
    customer_page.wait_for_selector("#chat-conn:text('Connected')")
    customer_page.fill("#compose-text", "I want to talk to a person")
    customer_page.keyboard.press("Enter")
    customer_page.wait_for_selector(".msg-assistant:not(.streaming)[data-seq]", timeout=FIRST_ANSWER_MS)
    conversation = Conversation.objects.get()
    # when a staff member opens it in the console, takes over and replies
    staff = make_user(username="dana", staff=True, perms=("conversations.takeover_conversation",))
    staff.first_name = "Dana"
    staff.save()
    console = _signed_in_context(browser, live_server_url, staff).new_page()
    console.goto(f"/console/{conversation.public_id}/")
    console.click("#takeover")
    console.wait_for_selector("#reply-text")
    console.wait_for_selector("#console-conn:text('Live')")
    console.fill("#reply-text", "Hi, Dana here. <b>I'll</b> sort it out.")
    console.keyboard.press("Enter")
    # then the customer sees it without reloading, as text
    staff_line = customer_page.wait_for_selector(".msg-staff .msg-text", timeout=15_000)
    assert staff_line.inner_text() == "Hi, Dana here. <b>I'll</b> sort it out."
    assert customer_page.locator(".msg-staff b").count() == 0
    assert (
        "Dana from the support team has joined the chat."
        in customer_page.locator(".msg-system .msg-text").all_inner_texts()
    )
    # and the console shows the reply live too, rendered as on a reload (the markup typed shown as text)
    console_line = console.locator(".transcript .msg-staff .msg-text", has_text="Hi, Dana here.")
    console_line.wait_for(state="visible")
    assert console_line.inner_text() == "Hi, Dana here. <b>I'll</b> sort it out."
    assert console.locator(".transcript .msg-staff b").count() == 0


def test_refund_request_approved_in_the_admin_reaches_the_open_chat(live_server_url, workers, browser):
    approvals = pytest.importorskip("apps.support.services.approvals", reason="needs the support desk (apps.support)")
    support_fixtures = pytest.importorskip("tests.support.conftest", reason="needs the support desk's test builders")
    from apps.accounts.roles import REFUND_APPROVER, sync_roles

    sync_roles()  # transactional tests flush the role groups the migrations made

    # given a customer with a paid, delivered order, chatting
    customer = support_fixtures.make_customer()
    order = support_fixtures.make_order(customer)
    customer_page = _signed_in_context(browser, live_server_url, customer.user).new_page()
    conversation = _off_loop(services.conversation_start, customer=customer)
    _off_loop(services.message_create, conversation=conversation, role=MessageRole.CUSTOMER, text="I want a refund")
    customer_page.goto("/chat/")
    customer_page.wait_for_selector(".msg-customer .msg-text:has-text('I want a refund')")
    # and the agent's refund request for that order
    approval = _off_loop(
        approvals.refund_approval_request,
        order=order,
        customer=customer,
        amount="40.00",
        reason="Arrived damaged",
        items=None,
        conversation=conversation,
    )
    # when an approver finds it in the admin queue and approves it (earlier transactional tests flushed
    # the role groups the migrations created)
    from apps.accounts.roles import sync_roles

    _off_loop(sync_roles)
    approver = support_fixtures.make_staff(REFUND_APPROVER)
    admin = _signed_in_context(browser, live_server_url, approver).new_page()
    admin.goto("/admin/support/refundapproval/")
    assert order.number in admin.locator("#result_list").inner_text()
    admin.goto(f"/admin/support/refundapproval/{approval.pk}/change/")
    admin.click("#refund-decision-form button[value='approve']")
    admin.wait_for_selector(".messagelist")
    # then the customer's open page shows the outcome without a reload
    customer_page.wait_for_selector(".msg-outcome", timeout=30_000)
    # The notice is filled by the same event, a moment later: wait for it rather than race it.
    customer_page.wait_for_selector(f"#chat-notice:has-text('{order.number}')", timeout=30_000)
    notice = customer_page.locator("#chat-notice").inner_text()
    approval.refresh_from_db()
    assert approval.status in ("executed", "approved")
    assert order.number in customer_page.locator(".msg-outcome").inner_text()
    assert order.number in notice


def test_widget_neither_takes_nor_gives_styles_and_chats_from_its_frame(live_server_url, browser):
    # given a shop page with hostile CSS (every element Comic Sans, red, lime borders) and the widget script
    page = browser.new_page(base_url=live_server_url)
    page.goto("/chat/widget-demo/")
    launcher = page.locator("switchboard-widget")
    launcher.wait_for(state="attached")
    # then the page keeps its own styles
    assert page.eval_on_selector("#host-title", "e => getComputedStyle(e).fontSize") == "40px"
    # and the widget's button (inside a closed shadow root, so measured by its box and pixels) is not restyled
    box = page.evaluate(
        "() => { const h = document.querySelector('switchboard-widget'); const s = getComputedStyle(h);"
        " return {border: s.borderTopWidth, position: s.position}; }"
    )
    assert box == {"border": "0px", "position": "fixed"}
    # when the customer opens it (from the keyboard: the launcher is the page's first focusable control),
    # the chat runs in the frame and connects
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    deadline = time.monotonic() + 60  # a condition polled, not a sleep: only a broken widget waits this long
    while not [f for f in page.frames if f.url.startswith(f"{live_server_url}/chat/embed/")]:
        assert time.monotonic() < deadline, "the widget did not open its frame"
        page.wait_for_timeout(100)
    chat = next(f for f in page.frames if f.url.startswith(f"{live_server_url}/chat/embed/"))
    chat.wait_for_selector("#chat-conn:text('Connected')")
    assert chat.evaluate("() => document.getElementById('chat').dataset.channel") == "widget"
    page.close()
