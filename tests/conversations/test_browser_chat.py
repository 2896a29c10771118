"""The customer chat as a person sees it (Debian's Chromium through Playwright, live server, real workers).

Replies either come from the real agent runtime (local model: quick replies, order cards, the guest told
to verify) or, where the test is about how the page shows a reply, from a scripted turn that stores a
fixed reply through the same service the runtime uses.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from apps.commerce.models import Order, OrderStatus
from apps.conversations import events, services
from apps.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from tests.conversations.conftest import make_customer, make_order, make_user
from tests.conversations.test_browser import (  # noqa: F401 -- fixtures
    FIRST_ANSWER_MS,
    _off_loop,
    browser,
    live_server_url,
    workers,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
RED = "rgb(164, 38, 44)"


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _context(chromium: Any, base_url: str, user: Any = None, **options: Any) -> Any:
    context = chromium.new_context(base_url=base_url, viewport={"width": 900, "height": 900}, **options)
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])
    return context


def _customer(username: str) -> Any:
    user = make_user(username=username)
    user.first_name = username.capitalize()
    user.save()
    customer = make_customer(user=user)
    customer.first_name = username.capitalize()
    customer.save()
    return user, customer


@pytest.fixture(scope="session")
def warmed() -> dict[str, float]:
    """The models a real turn needs, loaded before the turn's own time budget starts (as a worker does at
    start, apps.core.warmup): the first turn of a cold process may otherwise run out of its budget."""
    from apps.core.warmup import warm_models

    return warm_models()


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The worker answers every message with `reply["text"]` (typing, deltas, stored reply)."""
    import apps.agents.turns

    reply = {"text": ""}

    def turn_run(*, message_id: int) -> None:
        message = Message.objects.select_related("conversation").get(pk=message_id)
        conversation = message.conversation
        events.push_now(conversation, "typing", reply_to=message.pk)
        events.push_now(conversation, "delta", reply_to=message.pk, text=reply["text"])
        services.message_create(
            conversation=conversation,
            role=MessageRole.ASSISTANT,
            text=reply["text"],
            agent="order",
            in_reply_to=message,
        )

    monkeypatch.setattr(apps.agents.turns, "turn_run", turn_run)
    return reply


def _style(locator: Any, *props: str) -> dict[str, str]:
    return locator.evaluate(
        "(e, props) => { const s = getComputedStyle(e); return Object.fromEntries(props.map(p => [p, s[p]])); }",
        list(props),
    )


def test_greeting_markdown_reply_blocked_link_timestamps_and_icon_thumbs(
    live_server_url,  # noqa: F811
    scripted,
    workers,  # noqa: F811
    browser,  # noqa: F811
    settings,
):
    settings.GUARDRAILS_LINK_ALLOWED_DOMAINS = ["tidewater.example"]
    scripted["text"] = (
        "Your parcel is **in transit** with *Royal Mail*.\n\n- Track it on [our site](https://tidewater.example/track)\n"
        "- or [here](https://evil.example/phish)"
    )
    page = _context(browser, live_server_url).new_page()
    page.goto("/chat/")
    page.wait_for_selector("#chat-conn:text('Connected')")
    # given the greeting with suggested questions, before anything is said
    greeting = page.locator("#chat-greeting")
    assert greeting.is_visible()
    assert page.locator(".suggestion").all_inner_texts() == [
        "Where is my order?",
        "How do I return an item?",
        "When will I get my refund?",
        "Talk to a person",
    ]
    _shot(page, "chat-greeting.png")
    # when the customer taps a suggestion
    page.locator(".suggestion", has_text="How do I return an item?").click()
    # then it is sent as their message, the greeting goes, and the reply shows as formatted text
    reply = page.wait_for_selector(".msg-assistant:not(.streaming)[data-seq] .msg-rich", timeout=30_000)
    assert page.locator(".msg-customer .msg-text").all_inner_texts() == ["How do I return an item?"]
    assert not greeting.is_visible()
    text = reply.inner_text()
    assert "**" not in text
    assert "Your parcel is in transit with Royal Mail." in text
    strong = page.locator(".msg-assistant strong")
    assert strong.inner_text() == "in transit"
    assert int(_style(strong, "fontWeight")["fontWeight"]) >= 600
    assert _style(page.locator(".msg-assistant em"), "fontStyle")["fontStyle"] == "italic"
    assert page.locator(".msg-assistant li").count() == 2
    # and only the allowed domain's link is clickable; the foreign one is plain text with its domain shown
    links = page.locator(".msg-assistant a")
    assert links.count() == 1
    assert links.get_attribute("href") == "https://tidewater.example/track"
    assert links.get_attribute("target") == "_blank"
    assert links.inner_text() == "our site"
    blocked = page.locator(".msg-assistant .link-blocked")
    assert blocked.inner_text() == "here"
    assert "(evil.example)" in page.locator(".msg-assistant li").nth(1).inner_text()
    assert "evil.example/phish" not in page.content()
    # and every message shows its time, and the thumbs are drawn icons with accessible names
    times = page.locator(".msg-time").all_inner_texts()
    assert len(times) == 2
    assert all(re.fullmatch(r"\d{1,2}:\d{2}( [AP]M)?", t) for t in times), times
    thumbs = page.locator(".msg-assistant .fb")
    assert thumbs.count() == 2
    for i, name in enumerate(["Helpful", "Not helpful"]):
        icon = thumbs.nth(i).locator("svg")
        box = icon.bounding_box()
        assert box is not None
        assert (box["width"], box["height"]) == (16, 16)
        assert thumbs.nth(i).inner_text() == name  # visually hidden, read by screen readers
    thumbs.nth(0).click()
    page.wait_for_selector(".msg-assistant .fb-up[aria-pressed='true']")
    _shot(page, "chat-markdown-reply.png")
    page.close()


def test_a_guest_asking_about_my_order_is_told_how_to_verify_and_a_failed_verify_notice_clears(
    warmed,
    live_server_url,  # noqa: F811
    workers,  # noqa: F811
    browser,  # noqa: F811
):
    # given a shop order and a guest on the chat page
    customer = make_customer(email="guest.buyer@example.com")
    make_order(customer=customer, number="TW-420011")
    page = _context(browser, live_server_url).new_page()
    page.goto("/chat/")
    page.wait_for_selector("#chat-conn:text('Connected')")
    # and the page offers a sign-in link that comes back here
    assert page.locator("#chat-signin").get_attribute("href") == "/accounts/login/?next=/chat/"
    assert page.locator("#chat-signin").is_visible()
    # when they ask about "my order" before verifying
    page.fill("#compose-text", "Where is my order?")
    page.keyboard.press("Enter")
    reply = page.wait_for_selector(".msg-assistant:not(.streaming)[data-seq] .msg-text", timeout=FIRST_ANSWER_MS)
    # then they are told how to verify, not that their account has no orders
    assert "verify" in reply.inner_text().lower()
    assert "don't see any orders" not in reply.inner_text()
    # when a verification fails, the notice is red
    page.click("#chat-verify summary")
    page.fill("#verify-number", "TW-420011")
    page.fill("#verify-email", "someone.else@example.com")
    page.click("#verify-form button")
    notice = page.locator("#chat-notice")
    notice.wait_for(state="visible")
    assert _style(notice, "color")["color"] == RED
    failed_text = notice.inner_text()
    _shot(page, "chat-verify-failed.png")
    # and after the right details it is replaced by a confirmation that is not red
    page.fill("#verify-email", "Guest.Buyer@example.com")
    page.click("#verify-form button")
    page.wait_for_selector("#chat-who:text('Order TW-420011 verified')")
    assert notice.inner_text() != failed_text
    assert notice.inner_text() == "Order TW-420011 is verified: ask me anything about it."
    assert _style(notice, "color")["color"] != RED
    assert not page.locator("#chat-verify").is_visible()
    page.close()


def test_order_cards_and_quick_replies_confirm_a_cancellation(
    warmed,
    live_server_url,  # noqa: F811
    workers,  # noqa: F811
    browser,  # noqa: F811
):
    # given a signed-in customer with two pending orders
    user, customer = _customer("quinn")
    first = make_order(customer=customer, number="TW-430001")
    second = make_order(customer=customer, number="TW-430002")
    page = _context(browser, live_server_url, user).new_page()
    page.goto("/chat/")
    page.wait_for_selector("#chat-conn:text('Connected')")
    # when they ask to cancel without saying which order
    page.fill("#compose-text", "I want to cancel my order")
    page.keyboard.press("Enter")
    # then the reply offers each order as a card (number, state, date) to tap
    page.wait_for_selector(".msg-assistant:not(.streaming)[data-seq]", timeout=FIRST_ANSWER_MS)
    cards = page.locator(".order-card")
    cards.first.wait_for(state="visible", timeout=10_000)
    numbers = page.locator(".order-card-number").all_inner_texts()
    assert sorted(numbers) == ["TW-430001", "TW-430002"]
    assert page.locator(".order-card-status").all_inner_texts() == ["Pending", "Pending"]
    assert all(t.startswith("Ordered ") for t in page.locator(".order-card-date").all_inner_texts())
    _shot(page, "chat-order-cards.png")
    # when they tap the second order's card
    page.locator(".order-card", has_text="TW-430002").click()
    # then their choice is sent as a message, the cards go, and the bot asks to confirm with yes/no buttons
    page.wait_for_selector(".msg-customer .msg-text:text('Order TW-430002')")
    assert page.locator(".order-card").count() == 0
    yes = page.locator(".quick-reply.quick-confirm")
    yes.wait_for(state="visible", timeout=FIRST_ANSWER_MS)
    assert yes.inner_text() == "Yes, go ahead"
    assert page.locator(".quick-reply.quick-decline").inner_text() == "No, don't"
    assert _style(yes, "backgroundColor")["backgroundColor"] == "rgb(31, 78, 121)"
    assert Order.objects.get(pk=second.pk).status == OrderStatus.PENDING
    _shot(page, "chat-quick-replies.png")
    # when they tap yes
    answers_before = page.locator(".msg-assistant[data-seq]").count()
    yes.click()
    # then "Yes" is their message, the buttons go, and the order is cancelled (the other one is not)
    page.wait_for_selector(".msg-customer .msg-text:text-is('Yes')")
    assert page.locator(".quick-reply").count() == 0
    page.wait_for_function(
        f"() => document.querySelectorAll('.msg-assistant[data-seq]').length > {answers_before}",
        timeout=FIRST_ANSWER_MS,
    )
    assert Order.objects.get(pk=second.pk).status == OrderStatus.CANCELLED
    assert Order.objects.get(pk=first.pk).status == OrderStatus.PENDING
    assert "TW-430002" in page.locator(".msg-assistant[data-seq]").last.inner_text()
    _shot(page, "chat-cancelled.png")
    page.close()


def test_after_closing_and_rating_the_customer_starts_a_new_conversation(live_server_url, browser, turns):  # noqa: F811
    # given a signed-in customer with the chat open on their conversation
    user, customer = _customer("rowan")
    conversation = _off_loop(services.conversation_start, customer=customer)
    _off_loop(services.message_create, conversation=conversation, role=MessageRole.CUSTOMER, text="thanks, all good")
    page = _context(browser, live_server_url, user).new_page()
    page.goto("/chat/")
    page.wait_for_selector(".msg-customer .msg-text:text('thanks, all good')")
    # when staff close it
    staff = make_user(staff=True)
    _off_loop(services.conversation_close, conversation=conversation, staff=staff, resolution_code="resolved")
    # then the rating question appears with labelled scores, and the compose box goes
    form = page.locator("#csat-form")
    form.wait_for(state="visible", timeout=15_000)
    labels = [" ".join(t.split()) for t in page.locator(".csat-score").all_inner_texts()]
    assert labels == ["1 Very poor", "2 Poor", "3 OK", "4 Good", "5 Excellent"]
    assert not page.locator("#compose").is_visible()
    # when they pick 4 and send it
    good = page.locator(".csat-score", has_text="Good")
    good.click()
    assert _style(good, "borderTopColor")["borderTopColor"] == "rgb(31, 78, 121)"
    page.click("#csat-send")
    page.wait_for_selector("#chat-notice:text('Thank you for your feedback.')")
    assert Conversation.objects.get(pk=conversation.pk).csat_score == 4
    # then a way to start anew is on screen, also after a reload
    new = page.locator("#chat-new")
    assert new.is_visible()
    assert new.inner_text() == "Start a new conversation"
    page.reload()
    page.wait_for_selector("#chat-conn:text('Connected')")
    new.wait_for(state="visible")
    assert not form.is_visible()
    assert not page.locator("#compose").is_visible()
    _shot(page, "chat-closed.png")
    # when they start a new conversation and write
    new.click()
    page.wait_for_selector("#chat-greeting", state="visible")
    assert page.locator("#chat-log .msg").count() == 0
    assert not new.is_visible()
    page.fill("#compose-text", "One more question")
    page.keyboard.press("Enter")
    page.wait_for_selector(".msg-customer[data-seq] .msg-text:text('One more question')")
    # then it is a new, open conversation with that message; the closed one is untouched
    conversations = list(Conversation.objects.order_by("id"))
    assert [c.status for c in conversations] == [ConversationStatus.CLOSED, ConversationStatus.OPEN]
    assert list(conversations[1].messages.values_list("text", flat=True)) == ["One more question"]
    assert conversations[0].messages.filter(text="One more question").count() == 0
    assert len(turns) == 1
    page.close()


def _photo(path: Path) -> Path:
    image = Image.new("RGB", (320, 240), (230, 230, 230))
    for x in range(60, 260):
        for y in range(100, 140):
            image.putpixel((x, y), (180, 40, 40))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    path.write_bytes(out.getvalue())
    return path


def _support_agent(username: str) -> Any:
    from django.contrib.auth.models import Group

    from apps.accounts.roles import SUPPORT_AGENT, sync_roles

    _off_loop(sync_roles)
    agent = make_user(username=username, staff=True)
    agent.groups.add(Group.objects.get(name=SUPPORT_AGENT))
    return agent


def test_waiting_for_a_person_is_acknowledged_and_a_photo_and_a_formatted_reply_reach_the_console_live(
    live_server_url,  # noqa: F811
    browser,  # noqa: F811
    settings,
    tmp_path,
):
    escalations = pytest.importorskip("apps.support.services.escalations", reason="needs the support desk")
    settings.MEDIA_ROOT = tmp_path / "media"
    # given a signed-in customer whose conversation was escalated and waits for a person
    user, customer = _customer("sasha")
    conversation = _off_loop(services.conversation_start, customer=customer)
    _off_loop(
        services.message_create, conversation=conversation, role=MessageRole.CUSTOMER, text="my mug arrived broken"
    )
    _off_loop(escalations.escalation_create, conversation=conversation, reason_code="customer_request")
    # and a support agent with the conversation open in the console (this page is never reloaded below)
    console = _context(browser, live_server_url, _support_agent("dana")).new_page()
    console.goto(f"/console/{conversation.public_id}/")
    console.wait_for_selector("#console-conn:text('Live')")
    console.evaluate("() => { window.notReloaded = true; }")
    page = _context(browser, live_server_url, user).new_page()
    page.goto("/chat/")
    page.wait_for_selector("#chat-conn:text('Connected')")
    # when they write while waiting
    page.fill("#compose-text", "Hello? Is anyone there?")
    page.keyboard.press("Enter")
    # then an acknowledgement answers at once with their place in the queue and the expected wait
    ack = page.locator(".msg-waiting").last
    ack.wait_for(state="visible", timeout=15_000)
    assert ack.locator(".msg-text").inner_text() == (
        "Thanks, we have your message. You are next in line; the expected wait is about 4 minutes. "
        "A person from our team will reply here."
    )
    # when they attach a photo of the damage
    page.set_input_files("#attach-input", str(_photo(tmp_path / "broken mug.jpg")))
    photo = page.locator(".msg-customer .msg-photo img")
    photo.wait_for(state="visible", timeout=15_000)
    # then they see their photo (decoded by the browser, not a broken image) and another acknowledgement
    page.wait_for_function("() => { const i = document.querySelector('.msg-photo img'); return i && i.naturalWidth; }")
    assert photo.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [320, 240]
    page.wait_for_function("() => document.querySelectorAll('.msg-waiting').length >= 2")
    _shot(page, "chat-waiting-photo.png")
    # and the agent's open console shows the photo as it arrives: loaded, next to the customer's words
    staff_photo = console.locator(".transcript .msg-photo img")
    staff_photo.wait_for(state="visible", timeout=15_000)
    console.wait_for_function(
        "() => { const i = document.querySelector('.transcript .msg-photo img');"
        " return i && i.complete && i.naturalWidth; }"
    )
    assert staff_photo.evaluate("i => i.naturalWidth") == 320
    assert staff_photo.get_attribute("alt") == "Photo from the customer: broken mug.jpg"
    # when a reply with Markdown is stored (the bot's or a colleague's)
    _off_loop(
        services.message_create,
        conversation=conversation,
        role=MessageRole.ASSISTANT,
        text="Sorry about the mug. It is **in transit** back to us:\n\n- refund *once it arrives*",
    )
    # then the console shows it formatted as it arrives: bold, italics and a list, no Markdown marks
    strong = console.locator(".transcript .msg-rich strong")
    strong.wait_for(state="visible", timeout=15_000)
    assert strong.inner_text() == "in transit"
    assert int(_style(strong, "fontWeight")["fontWeight"]) >= 600
    assert _style(console.locator(".transcript .msg-rich em"), "fontStyle")["fontStyle"] == "italic"
    assert console.locator(".transcript .msg-rich li").count() == 1
    assert "**" not in console.locator("#transcript").inner_text()
    assert console.evaluate("() => window.notReloaded") is True
    _shot(console, "console-live-photo-and-reply.png")
    # and both entries are exactly what a reload of the console shows
    live = console.evaluate("() => Array.from(document.querySelectorAll('#transcript li.msg')).map(li => li.outerHTML)")
    console.reload()
    console.wait_for_selector("#console-conn:text('Live')")
    reloaded = console.evaluate(
        "() => Array.from(document.querySelectorAll('#transcript li.msg')).map(li => li.outerHTML)"
    )
    assert len(live) == len(reloaded) >= 6
    assert live == reloaded
    # and a stranger cannot open the photo
    src = staff_photo.get_attribute("src")
    stranger = _context(browser, live_server_url).new_page()
    assert stranger.goto(src).status == 404
    page.close()
    console.close()


def test_a_photo_can_be_the_first_thing_a_customer_sends(live_server_url, browser, turns, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    # given a signed-in customer with no conversation yet, on the chat page
    user, _ = _customer("uma")
    page = _context(browser, live_server_url, user).new_page()
    page.goto("/chat/")
    page.wait_for_selector("#chat-conn:text('Connected')")
    assert page.locator("#chat-greeting").is_visible()
    # then the attach button is there from the start, a visible 40 px button beside the text box
    attach = page.locator("#attach")
    assert attach.is_visible()
    box = attach.bounding_box()
    assert box is not None
    assert box["width"] == 40
    assert box["height"] >= 32
    assert _style(attach, "cursor")["cursor"] == "pointer"
    from tests.support.test_browser import CONTRAST_JS

    assert attach.evaluate(CONTRAST_JS) >= 3.0  # a control's icon against its background (WCAG 1.4.11)
    assert Conversation.objects.count() == 0
    # when they pick a photo before writing anything
    page.set_input_files("#attach-input", str(_photo(tmp_path / "dent.jpg")))
    # then the photo shows in the chat, decoded, and the greeting makes way
    page.wait_for_function(
        "() => { const i = document.querySelector('.msg-customer[data-seq] .msg-photo img');"
        " return i && i.complete && i.naturalWidth; }",
        timeout=15_000,
    )
    assert page.locator(".msg-customer .msg-photo img").evaluate("i => i.naturalWidth") == 320
    assert not page.locator("#chat-greeting").is_visible()
    assert page.locator(".msg.failed").count() == 0
    # when they then write
    page.fill("#compose-text", "It arrived like this")
    page.keyboard.press("Enter")
    page.wait_for_selector(".msg-customer[data-seq] .msg-text:text('It arrived like this')")
    # then photo and words are in one new conversation, in that order, and each was answered once
    [conversation] = Conversation.objects.all()
    messages = list(conversation.messages.order_by("seq"))
    assert [m.text for m in messages] == ["Sent a photo: dent.jpg", "It arrived like this"]
    assert [m.attachments.count() for m in messages] == [1, 0]
    assert len(turns) == 2
    # and a reload shows both again (nothing was only on the page)
    page.reload()
    page.wait_for_selector(".msg-customer[data-seq] .msg-text:text('It arrived like this')")
    page.wait_for_function(
        "() => { const i = document.querySelector('.msg-customer .msg-photo img'); return i && i.naturalWidth; }"
    )
    assert page.locator(".msg-customer[data-seq]").count() == 2
    _shot(page, "chat-photo-first.png")
    page.close()


def test_outside_business_hours_the_customer_is_asked_for_an_email_that_becomes_a_ticket(
    live_server_url,  # noqa: F811
    browser,  # noqa: F811
    settings,
):
    escalations = pytest.importorskip("apps.support.services.escalations", reason="needs the support desk")
    from apps.support.models import Ticket

    # an empty daily window: the team is never in (deterministic whatever the clock says)
    settings.CHAT_BUSINESS_HOURS = "mon-sun 09:00-09:00"
    user, customer = _customer("tam")
    conversation = _off_loop(services.conversation_start, customer=customer)
    _off_loop(services.message_create, conversation=conversation, role=MessageRole.CUSTOMER, text="I need a person")
    _off_loop(escalations.escalation_create, conversation=conversation, reason_code="customer_request")
    page = _context(browser, live_server_url, user).new_page()
    page.goto("/chat/")
    page.wait_for_selector("#chat-conn:text('Connected')")
    page.fill("#compose-text", "Are you there?")
    page.keyboard.press("Enter")
    ack = page.locator(".msg-waiting .msg-text").last
    ack.wait_for(state="visible", timeout=15_000)
    assert "Our team is away right now" in ack.inner_text()
    assert "Leave your email address here and we will reply by email." in ack.inner_text()
    page.fill("#compose-text", "Yes please: tam.followup@example.com")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('.msg-waiting').length >= 2")
    ticket = Ticket.objects.get(conversation=conversation)
    assert page.locator(".msg-waiting .msg-text").last.inner_text() == (
        f"Thank you. We will email you at tam.followup@example.com as soon as we are back (reference "
        f"{ticket.reference}). You can also keep writing here."
    )
    assert "tam.followup@example.com" in ticket.description
    _shot(page, "chat-out-of-hours.png")
    page.close()


def test_a_busy_turn_queue_is_shown_and_the_page_sends_the_message_again_until_it_is_taken(
    live_server_url,  # noqa: F811
    scripted,
    browser,  # noqa: F811
    settings,
):
    from apps.agents.turn_queue import BUSY_MESSAGE, turn_enqueue
    from tests.workers import turn_worker_thread

    # given: a turn queue of one, taken, and no worker serving it yet
    settings.SWITCHBOARD_TURN_QUEUE_MAX_LENGTH = 1
    settings.SWITCHBOARD_TURN_BUSY_RETRY_SECONDS = 1
    scripted["text"] = "Your parcel is on its way."
    elsewhere = _off_loop(services.conversation_start)
    waiting = _off_loop(services.message_create, conversation=elsewhere, role=MessageRole.CUSTOMER, text="Hi")
    turn_enqueue(message_id=waiting.pk)
    page = _context(browser, live_server_url).new_page()
    page.goto("/chat/")
    page.wait_for_selector("#chat-conn:text('Connected')")
    # when the customer writes
    page.fill("#compose-text", "Where is my parcel?")
    page.keyboard.press("Enter")
    # then they are told the chat is busy, their message waits on screen (nothing stored yet)
    page.wait_for_selector(f"#chat-notice:text('{BUSY_MESSAGE}')", timeout=15_000)
    notice = page.locator("#chat-notice")
    notice_box = notice.bounding_box() or {"width": 0, "height": 0}
    notice_style = _style(notice, "color", "fontSize", "visibility", "opacity")
    pending = page.locator(".msg-customer.pending").count()
    pending_box = page.locator(".msg-customer.pending").bounding_box() or {"width": 0, "height": 0}
    stored_while_busy = Message.objects.filter(text="Where is my parcel?").count()
    # and once a worker drains the queue the page's next attempt goes through and is answered
    with turn_worker_thread(threads=1):
        page.wait_for_selector(".msg-assistant:not(.streaming)[data-seq]", timeout=30_000)
    assert (pending, stored_while_busy) == (1, 0)
    # (what the customer saw while busy: a readable notice, and their message still on screen)
    assert notice_box["width"] > 100
    assert notice_box["height"] >= 12
    assert float(notice_style["fontSize"].removesuffix("px")) >= 12
    assert (notice_style["visibility"], notice_style["opacity"]) == ("visible", "1")
    assert notice_style["color"] != RED  # busy is not an error of theirs
    assert pending_box["width"] > 40
    assert pending_box["height"] >= 16
    assert page.locator(".msg-assistant .msg-text").all_inner_texts() == ["Your parcel is on its way."]
    assert page.locator(".msg-customer .msg-text").all_inner_texts() == ["Where is my parcel?"]
    assert page.locator(".msg-customer.pending, .msg-customer.failed").count() == 0
    assert not page.locator("#chat-notice").is_visible()
    assert Message.objects.filter(text="Where is my parcel?").count() == 1
    page.close()
