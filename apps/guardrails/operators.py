"""Customer data as operators read it: every operator surface passes its text through here on the way out.

The stored transcript and traces keep the original (the customer reads their own
messages, the agent needs the delivery address); what staff read in the review
page, trace steps, JSON export and the admin has names, street addresses,
phones, emails, cards, IBANs and secrets masked (`entities.redact_for_operators`).
Structured data (a trace step's JSON, a tool result serialised as a JSON string)
is walked: a value under a key that names a person or an address ("ship_name",
"address_line1", "city"...) is masked whole, every other string is read like
text; keys, numbers and booleans are left alone.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from django.conf import settings

from . import conf
from .entities import redact_for_operators

# Keys whose string values are a person's name or part of a postal address, whatever they look like.
# A bare "name" is not one of them: items, tools and steps have names too.
_NAME_KEY = re.compile(r"(?:^|_)(?:first|last|full|given|family|ship|billing|customer|contact|recipient)_?name$")
_ADDRESS_KEY = re.compile(
    r"(?:^|_)(?:address(?:_?line)?\d?|line_?\d|street|city|town|postcode|postal_code|zip(?:_code)?)$"
)
# Strings shorter than this carry no name, address or number worth masking (ids, flags, codes).
_MIN_CHARS = 3


def operator_text(text: str) -> str:
    """`text` as staff may read it (see the module docstring); cached per text and settings."""
    if not isinstance(text, str) or len(text) < _MIN_CHARS or not any(ch.isalnum() for ch in text):
        return text
    return _redact(text, settings.GUARDRAILS_NAME_MODEL, conf.current().shop_emails)


@lru_cache(maxsize=8192)
def _redact(text: str, _name_model: str, shop_emails: frozenset[str]) -> str:
    # The name model is part of the key so that a changed setting is not served stale results.
    return redact_for_operators(text, shop_emails=shop_emails)[0]


def operator_data(value: Any, *, key: str = "") -> Any:
    """A copy of JSON-like `value` with personal data masked (see the module docstring)."""
    if isinstance(value, str):
        folded = key.lower()
        if value.strip() and _NAME_KEY.search(folded):
            return "[NAME]"
        if value.strip() and _ADDRESS_KEY.search(folded):
            return "[ADDRESS]"
        return _json_string(value) or operator_text(value)
    if isinstance(value, dict):
        return {k: operator_data(item, key=str(k)) for k, item in value.items()}
    if isinstance(value, list | tuple):
        return [operator_data(item, key=key) for item in value]
    return value


def _json_string(value: str) -> str | None:
    """A string holding a JSON object or array (a serialised tool result), masked as data; else None."""
    stripped = value.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return json.dumps(operator_data(parsed), ensure_ascii=False)
