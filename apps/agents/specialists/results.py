"""Tool results as untrusted data, and the formatting every reply shares.

A tool result holds text that came from outside the model's instructions
(product names, addresses, tracking descriptions, knowledge-base excerpts), so
it is handed to the model as JSON inside the guardrails' untrusted-data block
(`apps.guardrails.untrusted.wrap_untrusted`: markup escaped, a content-derived
id on both tags), never as prose it might obey. `unwrap_result` is how the local
model reads it back.
"""

from __future__ import annotations

import html
import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from apps.guardrails.untrusted import TAG, wrap_untrusted

KIND = "tool_result"
_BLOCK_RE = re.compile(rf'<{TAG} kind="{KIND}" id="([0-9a-f]+)" tool="([\w.-]+)">\n(.*)\n</{TAG} id="\1">', re.DOTALL)

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$"}


def wrap_result(tool: str, data: dict[str, Any]) -> str:
    """`data` as JSON in one untrusted-data block for the model (see module docstring)."""
    payload = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    return wrap_untrusted(KIND, payload, tool=tool)


def unwrap_result(content: object) -> tuple[str, dict[str, Any]] | None:
    """(tool name, data) from a wrapped result, or None for anything else (refusals, runtime notices)."""
    if not isinstance(content, str):
        return None
    match = _BLOCK_RE.fullmatch(content.strip())
    if match is None:
        return None
    try:
        data = json.loads(html.unescape(match.group(3)))
    except ValueError:
        return None
    return (match.group(2), data) if isinstance(data, dict) else None


def money(amount: Decimal | str | float | int | None, currency: str = "USD") -> str:
    """'$54.00' for USD, '54.00 SEK' for a currency without a symbol here."""
    value = Decimal(str(amount if amount is not None else "0")).quantize(Decimal("0.01"))
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    if value < 0:
        return f"-{money(-value, currency)}"
    return f"{symbol}{value:,}" if symbol else f"{value:,} {currency.upper()}"


def day(value: date | datetime | str | None) -> str:
    """'March 3, 2026' (local date for datetimes); '' for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return f"{value:%B} {value.day}, {value.year}"


def mask_email(email: str) -> str:
    """'alice@example.com' -> 'a***e@example.com' (enough to recognise it, not to harvest it)."""
    local, _, domain = (email or "").partition("@")
    if not domain:
        return "***"
    shown = local[0] + "***" + local[-1] if len(local) > 2 else local[:1] + "***"
    return f"{shown}@{domain}"
