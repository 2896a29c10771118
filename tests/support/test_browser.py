"""What staff and operators see, in Debian's Chromium: the console (sidebar, notes, assignment, saved replies,
contrast, no cut-off columns), the approval list at 1400 px, a trace timeline and the dashboard's charts.

Every check reads what the browser rendered (computed colours, boxes, visible text); screenshots go to
var/screenshots/ for a person to look at.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from apps.accounts.roles import OPERATOR, REFUND_APPROVER, SUPPORT_AGENT
from apps.conversations import services
from apps.conversations.models import Conversation, ConversationStatus, Message
from apps.observability.models import Span, Trace
from apps.support.models import SavedReply, Ticket
from apps.support.services import refund_approval_request
from tests.conversations.test_browser import _off_loop, _signed_in_context
from tests.support.conftest import make_customer, make_order, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

# Contrast ratio (WCAG) of an element's text against the first opaque background behind it.
CONTRAST_JS = """
(el) => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let bg = null, n = el;
  while (n && n.nodeType === 1) {
    const c = rgb(getComputedStyle(n).backgroundColor);
    if (c.length >= 3 && (c.length === 3 || c[3] > 0.5)) { bg = c; break; }
    n = n.parentElement;
  }
  bg = bg || [255, 255, 255];
  const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}
"""

# Cells whose text is cut off (content wider than the box that shows it).
TRUNCATED_JS = """
(sel) => Array.from(document.querySelectorAll(sel)).filter((c) => c.scrollWidth > c.clientWidth + 1)
  .map((c) => c.textContent.trim())
"""


@pytest.fixture(autouse=True)
def _roles() -> None:
    """A transactional test starts from a flushed database: the role groups come back from `sync_roles`."""
    from apps.accounts.roles import sync_roles

    sync_roles()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _page(browser: Any, url: str, user: Any, width: int = 1400, height: int = 900) -> Any:
    context = _signed_in_context(browser, url, user)
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    return page


def _waiting_customer_conversation() -> tuple[Conversation, Any]:
    customer = make_customer()
    customer.first_name, customer.last_name = "Maximiliana", "Featherstonehaugh-Worthington"
    customer.save()
    order = make_order(customer)
    Ticket.objects.create(
        subject="Parcel marked delivered but not received",
        description="d",
        customer=customer,
        created_by_label="agent",
        sla_due_at=timezone.now(),
    )
    services.conversation_start(customer=customer)  # an earlier chat
    conversation = services.conversation_start(customer=customer)
    services.message_create(conversation=conversation, role="customer", text="My lamp arrived broken, what now?")
    services.message_create(conversation=conversation, role="assistant", text="I'm passing you to our team.")
    Conversation.objects.filter(pk=conversation.pk).update(status=ConversationStatus.WAITING_HUMAN)
    conversation.refresh_from_db()
    return conversation, order


def test_console_sidebar_notes_assignment_and_saved_replies_as_an_agent_sees_them(live_server_url, browser):
    # given a waiting conversation of a customer with an order, a ticket and an earlier chat
    conversation, order = _off_loop(_waiting_customer_conversation)
    SavedReply.objects.create(title="Damaged item", text="I'm sorry it arrived damaged. Could you send a photo?")
    agent = make_staff(SUPPORT_AGENT, username="dana")
    page = _page(browser, live_server_url, agent)
    # when the agent opens it
    page.goto(f"/console/{conversation.public_id}/")
    page.wait_for_selector("#console-conn:text('Live')")
    # then the customer sidebar stands beside the transcript with their order, ticket and earlier chat
    side, main = page.locator(".console-side").bounding_box(), page.locator(".console-main").bounding_box()
    assert side["x"] >= main["x"] + main["width"] - 1
    assert side["width"] >= 250
    assert page.locator("#side-orders").inner_text().count(order.number) == 1
    assert "Parcel marked delivered but not received" in page.locator("#side-tickets").inner_text()
    assert page.locator("#side-conversations li a").count() == 1
    # and every text in the transcript and the queue is readable (WCAG AA) and no queue cell is cut off
    for selector in (".msg-customer .msg-by", ".msg-customer .msg-text", ".msg-assistant .msg-by", ".tag"):
        # Looked up and measured in one script: the live queue re-renders its rows, and a row found by one call
        # may be detached (no computed style) by the next.
        page.wait_for_selector(selector)
        assert page.evaluate(f"(sel) => ({CONTRAST_JS})(document.querySelector(sel))", selector) >= 4.5, selector
    assert page.evaluate(TRUNCATED_JS, "#queue-table td, #queue-table th") == []
    assert "Featherstonehaugh-Worthington" in page.locator("#queue-table").inner_text()
    _shot(page, "console-waiting")

    # when the agent assigns it to themself, the "Mine" filter counts it
    page.click("#assign-me")
    page.wait_for_selector("#assigned-to:text('assigned to dana')")
    assert page.locator(".queue-scopes a[data-scope='mine'] .count").inner_text() == "1"
    page.click(".queue-scopes a[data-scope='unassigned']")
    page.wait_for_selector("#queue-table td:text('Nothing unassigned.')")
    page.goto(f"/console/{conversation.public_id}/?scope=mine")

    # and adds an internal note: shown in the notes, marked as staff only
    page.fill("#note-text", "Second broken lamp this month: offer a replacement.")
    page.click("#note-add")
    note = page.locator("#note-list .note-text")
    assert note.inner_text() == "Second broken lamp this month: offer a replacement."
    assert page.locator(".notes h3").inner_text() == "Internal notes (only staff see these)"

    # and takes over and inserts a saved reply into the reply box
    page.click("#takeover")
    page.wait_for_selector("#reply-text")
    page.select_option("#saved-reply", label="Damaged item")
    assert page.input_value("#reply-text") == "I'm sorry it arrived damaged. Could you send a photo?"
    _shot(page, "console-taken-over")
    # the note never became a message the customer could receive
    assert not Message.objects.filter(text__contains="broken lamp this month").exists()


def _seed_approvals() -> None:
    for days in (5, 200, 200):
        customer = make_customer()
        order = make_order(customer, delivered_days_ago=days)
        item = order.items.first()
        refund_approval_request(
            order=order,
            customer=customer,
            amount=Decimal("40.00"),
            reason="Arrived damaged (customer report in chat).",
            items=[{"order_item_id": item.pk, "quantity": 1}],
        )


def test_the_refund_approval_list_fits_1400_px_and_opens_with_an_eligible_request(live_server_url, browser):
    # given the queue a newcomer sees: one request the policy allows, then two past the return window
    _off_loop(_seed_approvals)
    approver = make_staff(REFUND_APPROVER)
    page = _page(browser, live_server_url, approver)
    # when the approver opens the changelist at 1400 px
    page.goto("/admin/support/refundapproval/")
    page.wait_for_selector("#result_list")
    _shot(page, "approval-list-1400")
    # then the table fits the page: nothing scrolls sideways, no column's text is cut off
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    table, content = page.locator("#result_list").bounding_box(), page.locator("#changelist").bounding_box()
    assert table["x"] + table["width"] <= content["x"] + content["width"] + 1
    assert page.evaluate(TRUNCATED_JS, "#result_list td, #result_list th") == []
    headers = [" ".join(h.split()) for h in page.locator("#result_list thead th .text").all_text_contents()]
    headers = [h for h in headers if h]
    assert headers == [
        "Request",
        "Waiting",
        "Order",
        "Customer",
        "Amount",
        "Policy check",
        "Approvals",
        "Status",
        "Transcript",
    ]
    first_verdict = page.locator("#result_list tbody tr").first.locator("td.field-policy_verdict").inner_text()
    assert first_verdict.startswith("eligible")


def test_a_turn_trace_reads_as_a_timeline_and_its_json_opens_on_request(live_server_url, browser):
    # given a traced turn with a guardrail, a model call and a tool call
    conversation = services.conversation_start()
    question = Message.objects.create(conversation=conversation, seq=1, role="customer", text="Where is TW-1?")
    Message.objects.create(conversation=conversation, seq=2, role="assistant", text="It shipped.", in_reply_to=question)
    start = timezone.now()
    trace = Trace.objects.create(
        conversation=conversation,
        message=question,
        route="order",
        route_confidence=0.91,
        input_tokens=812,
        output_tokens=64,
        cost=Decimal("0.001234"),
        latency_ms=1520.0,
        started_at=start,
        model_requests=1,
        tool_calls=1,
    )
    steps = [
        ("guardrail", "input", 0, 4.2, {"action": "allow", "blocked": False, "verdicts": []}),
        (
            "model_call",
            "openai:gpt-4o-mini",
            10,
            1200.5,
            {"input_tokens": 812, "output_tokens": 64, "cost": "0.001234"},
        ),
        ("tool_call", "order_status", 1215, 33.0, {"arguments": {"number": "TW-1"}, "result": "shipped " * 60}),
        ("guardrail", "output", 1250, 2.1, {"action": "allow", "blocked": False, "verdicts": []}),
    ]
    for i, (kind, name, at, ms, data) in enumerate(steps):
        began = start + dt.timedelta(milliseconds=at)
        Span.objects.create(
            trace=trace,
            position=i,
            kind=kind,
            name=name,
            started_at=began,
            ended_at=began + dt.timedelta(milliseconds=ms),
            latency_ms=ms,
            data=data,
        )
    page = _page(browser, live_server_url, make_staff(OPERATOR))
    # when an operator opens the transcript
    page.goto(f"/review/{conversation.public_id}/")
    # then each step is a visible row with its offset and duration, the model row with its tokens
    rows = page.locator(".timeline .step")
    assert rows.count() == 4
    assert rows.nth(2).locator("> i").first.inner_text() == "+1215.0 ms"
    assert rows.nth(1).locator("> i").nth(1).inner_text() == "1200.5 ms"
    assert rows.nth(1).locator("> span").inner_text() == "812 in / 64 out tokens · cost 0.001234"
    bar = rows.nth(1).locator("svg rect").bounding_box()
    assert bar["width"] > 100  # the longest step's bar is drawn
    # and the raw JSON is hidden until its toggle is opened
    pre = rows.nth(2).locator("details pre")
    assert pre.is_visible() is False
    rows.nth(2).locator("details summary").click()
    rows.nth(2).locator("details pre", has_text="shipped shipped").wait_for()  # fetched when opened
    assert pre.is_visible() is True
    assert '"number": "TW-1"' in pre.inner_text()
    _shot(page, "review-timeline")


def _dashboard_conversation(when: dt.datetime | None, route: str, status: str) -> None:
    conversation = services.conversation_start(customer=None)
    q = Message.objects.create(conversation=conversation, seq=1, role="customer", text="hi")
    Message.objects.create(conversation=conversation, seq=2, role="assistant", text="hello", in_reply_to=q)
    if when is not None:
        Conversation.objects.filter(pk=conversation.pk).update(created_at=when)
    Conversation.objects.filter(pk=conversation.pk).update(current_route=route, status=status)
    Trace.objects.create(
        conversation=conversation,
        message=q,
        route="order",
        cost=Decimal("0.0010"),
        latency_ms=900.0,
        started_at=when or timezone.now(),
    )


def _earlier_on_the_day(days_ago: int) -> dt.datetime:
    """A moment `days_ago` calendar days back, before now's time of day: "now minus an hour" lands on the day
    before in the first hour after midnight."""
    now = timezone.localtime()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - dt.timedelta(days=days_ago) + (now - midnight) / 2


def test_the_dashboard_draws_its_charts_from_seeded_conversations(live_server_url, browser):
    from apps.support.dashboard import outcomes_refresh

    # given three days of conversations, one of them escalated, summed into the daily rollup by the beat job
    today = timezone.localdate()
    for days_ago, count in ((2, 3), (1, 5), (0, 1)):
        for n in range(count):
            _dashboard_conversation(
                _earlier_on_the_day(days_ago),
                "order" if n % 2 else "faq",
                ConversationStatus.HUMAN if (days_ago, n) == (1, 0) else ConversationStatus.OPEN,
            )
    assert outcomes_refresh() == 5  # (day, route) rows
    # and one conversation started since, counted live
    _dashboard_conversation(None, "order", ConversationStatus.OPEN)
    page = _page(browser, live_server_url, make_staff(OPERATOR))
    # when an operator opens the last seven days
    since = (today - dt.timedelta(days=6)).isoformat()
    page.goto(f"/dashboard/?from={since}&to={today.isoformat()}")
    # then the totals and six charts are on screen, the daily bars as tall as their counts
    assert page.locator("#kpi-conversations .kpi-value").inner_text() == "10"
    assert page.locator("#kpi-escalation .kpi-value").inner_text() == "10%"
    charts = page.locator("figure.chart")
    assert charts.count() == 6
    for i in range(6):
        box = charts.nth(i).bounding_box()
        assert box["width"] > 300
        assert box["height"] > 80
    bars = page.locator("figure[data-chart='conversations-per-day'] rect.mark")
    assert bars.count() == 7
    heights = [(bars.nth(i).bounding_box() or {"height": 0})["height"] for i in range(7)]  # an empty day: no box
    assert heights[5] > heights[4] > heights[6] > 0  # 5, 3 and 2 conversations
    assert heights[:4] == [0, 0, 0, 0]
    routes = page.locator("figure[data-chart='conversations-by-route'] .axis-label").all_text_contents()
    assert routes == ["faq", "order"]  # 6 (from the rollup) and 4 (3 from the rollup, 1 live)
    route_values = page.locator("figure[data-chart='conversations-by-route'] .value-label").all_text_contents()
    assert route_values == ["6", "4"]
    _shot(page, "dashboard")
    # and the CSV link carries the filters
    href = page.locator("#csv-export").get_attribute("href")
    assert href == f"/dashboard/export.csv?from={since}&to={today.isoformat()}"
