"""Who is chatting: resolved from the session, a shop-signed token, or a verified guest.

The model never chooses the customer. A conversation is bound to the identity
that started it (`Conversation.customer` / `session_key` / `verified_order`);
the chat consumer resolves the identity again from the session store for every
message, so logging out (or the token expiring) ends the chat.

Identity token (signed by the shop's own server, never by the browser):

    <customer_id>.<expires_unix>.<hex HMAC-SHA256(CHAT_IDENTITY_SECRET, "<customer_id>.<expires_unix>")>
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.core import signing
from django.utils.crypto import constant_time_compare

from apps.commerce.models import Customer, Order
from apps.commerce.selectors import customer_for_user, order_find_for_guest
from apps.conversations.models import Conversation
from apps.core.errors import ApplicationError, NotFound

SESSION_VERIFIED_ORDER = "chat_verified_order"
ACCESS_SALT = "switchboard.chat.access"


@dataclass(frozen=True)
class ChatIdentity:
    """The caller as the chat sees them. `kind` is user, token or guest."""

    kind: str
    customer: Customer | None = None
    verified_order: Order | None = None
    user_id: int | None = None
    session_key: str = ""

    @property
    def actor_key(self) -> str:
        """The rate-limit subject: one customer across tabs, sockets and the API."""
        if self.customer is not None:
            return f"customer:{self.customer.pk}"
        if self.session_key:
            return f"session:{self.session_key}"
        return ""  # no cookie (e.g. the widget's frame): the caller scopes by conversation

    def same_as(self, other: ChatIdentity) -> bool:
        return (
            self.kind == other.kind
            and self.user_id == other.user_id
            and _pk(self.customer) == _pk(other.customer)
            and _pk(self.verified_order) == _pk(other.verified_order)
        )

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.customer.first_name if self.customer is not None else "",
            "verified_order": self.verified_order.number if self.verified_order is not None else None,
        }


def _pk(obj: Any) -> Any:
    return obj.pk if obj is not None else None


# --- the shop's signed identity token ---------------------------------------
def identity_token_sign(*, customer_id: int, expires_at: int | None = None, secret: str | None = None) -> str:
    """What the shop's server does (shown here for tests, docs and the demo page)."""
    secret = settings.CHAT_IDENTITY_SECRET if secret is None else secret
    if not secret:
        raise ApplicationError("CHAT_IDENTITY_SECRET is not set.", code="identity_tokens_disabled")
    expires_at = int(time.time()) + 3600 if expires_at is None else int(expires_at)
    body = f"{int(customer_id)}.{expires_at}"
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def identity_token_verify(token: str, *, now: float | None = None) -> Customer:
    """Return the customer a valid token names; raise ApplicationError(code=invalid_identity) otherwise."""
    secret = settings.CHAT_IDENTITY_SECRET
    invalid = ApplicationError("The sign-in token is invalid or has expired.", code="invalid_identity")
    if not secret or not token or len(token) > 200:
        raise invalid
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise invalid
    body = f"{parts[0]}.{parts[1]}"
    expected = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parts[2].lower()):
        raise invalid
    now = time.time() if now is None else now
    expires_at = int(parts[1])
    # A token that claims to live for months is refused even when correctly signed.
    if expires_at <= now or expires_at > now + settings.CHAT_IDENTITY_MAX_TTL_SECONDS:
        raise invalid
    customer = Customer.objects.filter(pk=int(parts[0])).first()
    if customer is None:
        raise invalid
    return customer


# --- commerce look-ups ------------------------------------------------------------
def _customer_for_user(user: Any) -> Customer | None:
    return customer_for_user(user=user)


def _order_for_guest(*, number: str, email: str) -> Order | None:
    try:
        return order_find_for_guest(number=number, email=email)
    except NotFound:
        return None


# --- resolving and re-checking -----------------------------------------------
def session_user(session: SessionBase) -> Any:
    """The signed-in user of a session, checked against the user's current session hash."""
    raw = session.get(SESSION_KEY)
    if raw is None:
        return None
    user = get_user_model().objects.filter(pk=raw, is_active=True).first()
    if user is None or BACKEND_SESSION_KEY not in session:
        return None
    stored_hash = session.get(HASH_SESSION_KEY, "")
    if not stored_hash or not constant_time_compare(stored_hash, user.get_session_auth_hash()):
        return None  # the password changed: every session of the user ends
    return user


def identity_resolve(*, session: SessionBase | None, identity_token: str = "") -> ChatIdentity:
    """Session user first, then the shop's token, else a guest (maybe verified)."""
    session_key = (session.session_key or "") if session is not None else ""
    if session is not None:
        user = session_user(session)
        if user is not None:
            customer = _customer_for_user(user)
            if customer is not None:
                return ChatIdentity(kind="user", customer=customer, user_id=user.pk, session_key=session_key)
    if identity_token:
        return ChatIdentity(kind="token", customer=identity_token_verify(identity_token), session_key=session_key)
    verified = None
    if session is not None and session.get(SESSION_VERIFIED_ORDER):
        verified = Order.objects.filter(pk=session[SESSION_VERIFIED_ORDER]).first()
    user = session_user(session) if session is not None else None
    return ChatIdentity(kind="guest", verified_order=verified, user_id=_pk(user), session_key=session_key)


def session_reload(session_key: str) -> SessionBase | None:
    """A fresh copy of a session from the store (the socket's copy is from connect time)."""
    if not session_key:
        return None
    from importlib import import_module

    engine = import_module(settings.SESSION_ENGINE)
    store = engine.SessionStore(session_key=session_key)
    # One read (every frame of a socket with a session): a missing or expired session loads empty and drops its
    # key in every Django session engine, so no `exists` before it.
    store.keys()
    return store if store.session_key else None


def identity_recheck(*, bound: ChatIdentity, identity_token: str = "") -> ChatIdentity | None:
    """The identity now, or None when it is not the one the chat started with (logged out, expired)."""
    session = session_reload(bound.session_key)
    if bound.kind == "user" and session is None:
        return None
    try:
        current = identity_resolve(session=session, identity_token=identity_token)
    except ApplicationError:
        return None
    if bound.kind == "guest" and current.kind == "guest":
        # A guest may verify an order mid-chat; that is not a change of person.
        if bound.verified_order is not None and _pk(current.verified_order) != _pk(bound.verified_order):
            current = ChatIdentity(**{**current.__dict__, "verified_order": bound.verified_order})
        return current if current.user_id == bound.user_id else None
    return current if current.same_as(bound) else None


def guest_verify(*, session: SessionBase | None, order_number: str, email: str) -> Order:
    """Check order number + the order's email; remember the order in the session."""
    number = (order_number or "").strip()
    email = (email or "").strip().lower()
    if not number or not email or len(number) > 40 or len(email) > 254:
        raise ApplicationError("Enter your order number and the email you ordered with.", code="verification_failed")
    order = _order_for_guest(number=number, email=email)
    if order is None:
        # Same message whether the order exists or not: no order-number oracle.
        raise ApplicationError("We could not match that order number and email.", code="verification_failed")
    if session is not None:
        session[SESSION_VERIFIED_ORDER] = order.pk
        session.save()
    return order


# --- a guest's key to their own conversation ---------------------------------
def access_key_for(conversation: Conversation) -> str:
    return signing.TimestampSigner(salt=ACCESS_SALT).sign(str(conversation.public_id))


def access_key_valid(conversation: Conversation, key: str) -> bool:
    if not key:
        return False
    try:
        value = signing.TimestampSigner(salt=ACCESS_SALT).unsign(key, max_age=settings.CHAT_ACCESS_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return False
    return constant_time_compare(value, str(conversation.public_id))


def can_access(*, identity: ChatIdentity, conversation: Conversation, access_key: str = "") -> bool:
    """A customer's conversation is theirs alone; a guest's needs their session or its access key."""
    if conversation.customer_id is not None:
        return identity.customer is not None and identity.customer.pk == conversation.customer_id
    if identity.customer is not None:
        return False
    if identity.session_key and constant_time_compare(identity.session_key, conversation.session_key or "-"):
        return True
    return access_key_valid(conversation, access_key)
