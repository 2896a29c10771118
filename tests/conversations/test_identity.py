"""Identity: the shop's HMAC token, guest verification, and access to a conversation."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.conversations import identity, services
from apps.conversations.identity import ChatIdentity
from apps.core.errors import ApplicationError
from tests.conversations.conftest import make_customer, make_order, make_user

pytestmark = pytest.mark.django_db

SECRET = "per-shop-secret-0123456789"


@pytest.fixture
def shop_secret(settings):
    settings.CHAT_IDENTITY_SECRET = SECRET
    return SECRET


def _token(customer_id: int, expires: int, secret: str = SECRET) -> str:
    body = f"{customer_id}.{expires}"
    return f"{body}.{hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()}"


def test_a_token_signed_by_the_shop_names_the_customer(shop_secret):
    customer = make_customer()
    token = _token(customer.pk, int(time.time()) + 600)
    assert identity.identity_token_verify(token) == customer
    # the helper the docs show produces the same format
    assert identity.identity_token_verify(identity.identity_token_sign(customer_id=customer.pk)) == customer


def _flip_last(token: str) -> str:
    return token[:-1] + ("1" if token[-1] == "0" else "0")


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda c, t: _token(c, t, secret="another-shop"), id="other-secret"),
        pytest.param(lambda c, t: _token(c, int(time.time()) - 1), id="expired"),
        pytest.param(lambda c, t: _token(c, int(time.time()) + 90 * 24 * 3600), id="too-long-lived"),
        pytest.param(lambda c, t: _flip_last(_token(c, t)), id="tampered-mac"),
        pytest.param(lambda c, t: _token(c, t).replace(f"{c}.", f"{c + 1}.", 1), id="other-customer-same-mac"),
        pytest.param(lambda c, t: "", id="empty"),
        pytest.param(lambda c, t: "abc.def.ghi", id="garbage"),
        pytest.param(lambda c, t: _token(999999, t), id="unknown-customer"),
    ],
)
def test_bad_tokens_are_refused(shop_secret, mutate):
    customer = make_customer()
    make_customer()  # a neighbour the tampered token might point at
    with pytest.raises(ApplicationError) as exc:
        identity.identity_token_verify(mutate(customer.pk, int(time.time()) + 600))
    assert exc.value.code == "invalid_identity"


def test_tokens_are_refused_when_no_secret_is_configured(settings):
    settings.CHAT_IDENTITY_SECRET = ""
    customer = make_customer()
    with pytest.raises(ApplicationError) as exc:
        identity.identity_token_verify(_token(customer.pk, int(time.time()) + 600))
    assert exc.value.code == "invalid_identity"


def test_signed_in_session_wins_over_a_token(shop_secret):
    user = make_user()
    mine = make_customer(user=user)
    other = make_customer()
    session = SessionStore()
    from django.test import Client

    client = Client()
    client.force_login(user)
    session = SessionStore(session_key=client.session.session_key)
    ident = identity.identity_resolve(session=session, identity_token=_token(other.pk, int(time.time()) + 600))
    assert ident.kind == "user"
    assert ident.customer == mine


def test_guest_verification_needs_the_orders_email_and_stores_it_in_the_session():
    customer = make_customer(email="grace@example.com")
    order = make_order(customer=customer, number="TW-5001")
    make_order(customer=make_customer(email="eve@example.com"), number="TW-5002")
    session = SessionStore()
    # someone else's email, or an unknown order: the same refusal, nothing stored
    for number, email in [("TW-5001", "eve@example.com"), ("TW-9999", "grace@example.com")]:
        with pytest.raises(ApplicationError) as exc:
            identity.guest_verify(session=session, order_number=number, email=email)
        assert exc.value.code == "verification_failed"
        assert exc.value.message == "We could not match that order number and email."
    assert identity.SESSION_VERIFIED_ORDER not in session
    # the right pair
    assert identity.guest_verify(session=session, order_number=" TW-5001 ", email="Grace@Example.com") == order
    assert session[identity.SESSION_VERIFIED_ORDER] == order.pk
    assert identity.identity_resolve(session=session).verified_order == order


def test_a_customers_conversation_is_theirs_alone():
    alice, bob = make_customer(), make_customer()
    conversation = services.conversation_start(customer=alice)
    key = identity.access_key_for(conversation)
    assert identity.can_access(identity=ChatIdentity(kind="user", customer=alice), conversation=conversation)
    # another customer, even holding the access key, is refused
    assert not identity.can_access(
        identity=ChatIdentity(kind="user", customer=bob), conversation=conversation, access_key=key
    )
    assert not identity.can_access(identity=ChatIdentity(kind="guest"), conversation=conversation, access_key=key)


def test_a_guest_conversation_opens_with_its_session_or_its_own_access_key():
    conversation = services.conversation_start(session_key="abc123")
    other = services.conversation_start(session_key="zzz999")
    assert identity.can_access(identity=ChatIdentity(kind="guest", session_key="abc123"), conversation=conversation)
    assert not identity.can_access(identity=ChatIdentity(kind="guest", session_key="zzz999"), conversation=conversation)
    assert identity.can_access(
        identity=ChatIdentity(kind="guest"), conversation=conversation, access_key=identity.access_key_for(conversation)
    )
    assert not identity.can_access(
        identity=ChatIdentity(kind="guest"), conversation=conversation, access_key=identity.access_key_for(other)
    )
    assert not identity.can_access(identity=ChatIdentity(kind="guest"), conversation=conversation, access_key="x:y:z")


def test_recheck_ends_a_signed_in_chat_after_logout():
    from django.test import Client

    user = make_user()
    make_customer(user=user)
    client = Client()
    client.force_login(user)
    session = SessionStore(session_key=client.session.session_key)
    bound = identity.identity_resolve(session=session)
    assert identity.identity_recheck(bound=bound) is not None
    client.logout()
    assert identity.identity_recheck(bound=bound) is None


def test_recheck_ends_the_chat_when_the_password_changes():
    from django.test import Client

    user = make_user()
    make_customer(user=user)
    client = Client()
    client.force_login(user)
    bound = identity.identity_resolve(session=SessionStore(session_key=client.session.session_key))
    user.set_password("a-new-password-123")
    user.save()
    assert identity.identity_recheck(bound=bound) is None


def test_a_recheck_reads_the_session_once_and_a_deleted_or_expired_one_ends_a_signed_in_chat():
    # given a signed-in customer's chat and a guest's, each bound to its session
    user = make_user()
    make_customer(user=user)
    client = Client()
    client.force_login(user)
    signed_in = identity.identity_resolve(session=SessionStore(session_key=client.session.session_key))
    guest_session = SessionStore()
    guest_session["chat"] = True
    guest_session.save()
    guest = identity.identity_resolve(session=guest_session)
    # when each is checked again
    with CaptureQueriesContext(connection) as queries:
        again = identity.identity_recheck(bound=guest)
    # then the guest's session is read in one statement and the identity stays
    assert (again.kind, again.session_key) == ("guest", guest_session.session_key)
    assert len(queries.captured_queries) == 1
    assert identity.identity_recheck(bound=signed_in).same_as(signed_in)
    # and once the signed-in session expires, or is deleted, the chat has no identity any more
    Session.objects.filter(session_key=signed_in.session_key).update(expire_date=timezone.now())
    assert identity.identity_recheck(bound=signed_in) is None
    Session.objects.filter(session_key=signed_in.session_key).delete()
    assert identity.identity_recheck(bound=signed_in) is None
    assert identity.session_reload(signed_in.session_key) is None
