"""Replies as safe HTML: a Markdown subset through a real parser and an allow-list sanitiser."""

from __future__ import annotations

import pytest

from apps.conversations import services
from apps.conversations.models import MessageRole
from apps.conversations.rendering import link_allowed, render_markdown, source_labels
from tests.conversations.conftest import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _domains(settings):
    settings.GUARDRAILS_LINK_ALLOWED_DOMAINS = ["tidewater.example"]


def test_bold_lists_and_line_breaks_render_as_html():
    html = render_markdown("Your order is **in transit**.\n\n- Mug\n- Teapot\n\nLine one\nline two")
    assert html == (
        "<p>Your order is <strong>in transit</strong>.</p>\n<ul>\n<li>Mug</li>\n<li>Teapot</li>\n</ul>\n"
        "<p>Line one<br>\nline two</p>"
    )


def test_a_link_to_an_allowed_domain_is_clickable_and_opens_safely():
    html = render_markdown("See [our returns policy](https://help.tidewater.example/returns).")
    assert html == (
        '<p>See <a href="https://help.tidewater.example/returns" target="_blank" '
        'rel="noopener noreferrer nofollow">our returns policy</a>.</p>'
    )


def test_a_foreign_link_is_shown_as_text_with_its_domain_and_is_not_clickable():
    html = render_markdown("Pay at [your bank](https://tidewater.example.evil.test/pay) now")
    assert "<a" not in html
    assert html == '<p>Pay at <span class="link-blocked">your bank</span> (tidewater.example.evil.test) now</p>'


def test_raw_html_scripts_and_javascript_links_never_become_markup():
    html = render_markdown("<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))")
    assert "<script" not in html
    assert "<img" not in html
    assert "href" not in html
    assert "&lt;script&gt;" in html


def test_images_and_headings_are_not_rendered():
    html = render_markdown("# Big\n\n![tracker](https://tidewater.example/pixel.png)")
    assert "<h1" not in html
    assert "<img" not in html


@pytest.mark.parametrize(
    ("href", "allowed"),
    [
        ("https://tidewater.example/x", True),
        ("http://shop.tidewater.example", True),
        ("https://tidewater.example.evil.test", False),
        ("https://eviltidewater.example", False),
        ("ftp://tidewater.example/file", False),
        ("//tidewater.example/x", False),
        ("mailto:help@tidewater.example", False),
    ],
)
def test_link_allowed_matches_the_domain_and_its_subdomains_only(href, allowed):
    assert link_allowed(href, ("tidewater.example",)) is allowed


def test_stored_replies_carry_their_html_and_customer_text_stays_plain():
    # given a conversation
    conversation = services.conversation_start(customer=make_customer())
    # when the customer and the assistant write Markdown
    customer = services.message_create(conversation=conversation, role=MessageRole.CUSTOMER, text="**help**")
    reply = services.message_create(conversation=conversation, role=MessageRole.ASSISTANT, text="It is **shipped**.")
    # then only the reply is rendered, once, when stored
    assert customer.html == ""
    assert reply.html == "<p>It is <strong>shipped</strong>.</p>"
    reply.refresh_from_db()
    assert reply.html == "<p>It is <strong>shipped</strong>.</p>"


def test_sources_are_the_excerpts_the_reply_cites_each_once_with_its_number():
    # given four excerpts of two articles, the reply citing two of them
    citations = [
        {"id": 1, "title": "Return policy", "section": "Return policy > Window"},
        {"id": 2, "title": "Return policy", "section": "Return policy > Refunds"},
        {"id": 3, "title": "Refunds", "section": "Refunds > Refund method"},
        {"id": 4, "title": "Return policy", "section": "Return policy > Window"},
    ]
    text = "It goes back to your card [2], within 5 days. [3]"
    # then only those two are listed, numbered as in the text
    assert source_labels(text, citations) == ["[2] Return policy > Refunds", "[3] Refunds > Refund method"]
    # and a reply that cites none lists each article section once, unnumbered
    assert source_labels("See our policy.", citations) == [
        "Return policy > Window",
        "Return policy > Refunds",
        "Refunds > Refund method",
    ]
    assert source_labels("Hi", []) == []
