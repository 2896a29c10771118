"""The chat page: sign-in link and landing back on /chat/, greeting, labelled rating."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conversations.conftest import make_customer, make_user

pytestmark = pytest.mark.django_db


def test_a_guest_sees_a_sign_in_link_that_comes_back_to_the_chat():
    body = Client().get("/chat/").content.decode()
    assert '<a class="chat-signin" id="chat-signin" href="/accounts/login/?next=/chat/">Sign in</a>' in body


def test_signing_in_lands_on_the_chat_page_not_a_missing_profile_page():
    # given a customer's account
    user = make_user(username="alice")
    make_customer(user=user)
    client = Client()
    # when they sign in from the link, and also without a `next`
    with_next = client.post("/accounts/login/", {"username": "alice", "password": "pw-123456!", "next": "/chat/"})
    client.logout()
    without_next = client.post("/accounts/login/", {"username": "alice", "password": "pw-123456!"})
    # then both land on /chat/, which greets them by name and has no sign-in link
    assert (with_next.status_code, with_next["Location"]) == (302, "/chat/")
    assert (without_next.status_code, without_next["Location"]) == (302, "/chat/")
    body = client.get("/chat/").content.decode()
    assert 'id="chat-signin"' not in body
    assert "Signed in as Ada" in body


def test_the_site_root_sends_people_to_the_chat_page():
    response = Client().get("/")
    assert (response.status_code, response["Location"]) == (302, "/chat/")


def test_the_widget_frame_has_no_sign_in_link():
    assert 'id="chat-signin"' not in Client().get("/chat/embed/").content.decode()


def test_the_greeting_offers_suggested_questions_and_the_rating_is_labelled():
    body = Client().get("/chat/").content.decode()
    assert '<button type="button" class="suggestion" data-text="Where is my order?">Where is my order?</button>' in body
    for value, label in [(1, "Very poor"), (3, "OK"), (5, "Excellent")]:
        assert (
            f'<input type="radio" name="score" value="{value}" required><span class="csat-num">{value}</span>'
            f'<span class="csat-label">{label}</span>'
        ) in body
