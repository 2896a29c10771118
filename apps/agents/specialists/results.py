"""The formatting every reply shares (money, dates, masked emails), and the tool-result wrapping.

`wrap_result` / `unwrap_result` live with the typed tool results
(`apps.agents.tool_results`) and are re-exported here for the specialists.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from apps.agents.tool_results import unwrap_result, wrap_result

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$"}


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


__all__ = ["CURRENCY_SYMBOLS", "day", "mask_email", "money", "unwrap_result", "wrap_result"]
