"""Login throttling (django-axes) on the site's and the admin's log-in: lock-out after N failures per user+address."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "right-horse-battery-9"


@pytest.fixture
def staff(settings) -> User:
    settings.AXES_FAILURE_LIMIT = 3
    return User.objects.create_user(username="dana", password=PASSWORD, is_staff=True, is_superuser=True)


def _login(client: Client, url: str, password: str) -> int:
    return client.post(url, {"username": "dana", "password": password}).status_code


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_the_right_password_after_too_many_wrong_ones_is_locked_out(staff, url):
    # given an attacker who tried three wrong passwords from one address
    client = Client(REMOTE_ADDR="203.0.113.9")
    wrong = [_login(client, url, f"guess-{i}") for i in range(3)]
    # when the right password follows
    response = client.post(url, {"username": "dana", "password": PASSWORD})
    # then the login is refused with the lock-out page, and nobody is signed in
    assert wrong == [200, 200, 429]
    assert response.status_code == 429
    assert b"Too many sign-in attempts" in response.content
    assert not _signed_in(client)


def test_the_lock_out_is_per_user_and_address(staff):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for i in range(3):
        _login(attacker, "/accounts/login/", f"guess-{i}")
    # the real user on another address still signs in
    owner = Client(REMOTE_ADDR="198.51.100.20")
    assert _login(owner, "/accounts/login/", PASSWORD) == 302
    assert _signed_in(owner)


def test_a_right_password_before_the_limit_signs_in_and_resets_the_count(staff):
    client = Client(REMOTE_ADDR="203.0.113.9")
    assert [_login(client, "/accounts/login/", "typo") for _ in range(2)] == [200, 200]
    assert _login(client, "/accounts/login/", PASSWORD) == 302
    client.logout()
    # two more typos after the reset are not a lock-out
    assert [_login(client, "/accounts/login/", "typo") for _ in range(2)] == [200, 200]
    assert _login(client, "/accounts/login/", PASSWORD) == 302


def test_the_address_behind_a_trusted_proxy_is_the_one_locked_out(staff, settings):
    settings.CHAT_TRUSTED_PROXIES = ["10.0.0.1"]
    attacker = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    for i in range(3):
        _login(attacker, "/accounts/login/", f"guess-{i}")
    # another customer behind the same proxy is not locked out with the attacker
    neighbour = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.20")
    assert _login(neighbour, "/accounts/login/", PASSWORD) == 302
