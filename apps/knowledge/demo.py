"""The demo shop's knowledge base, rendered from the same settings the commerce services enforce.

Each file in `demo_kb/` is a Django template (no autoescape): policy numbers are
variables (`{{ return_window_days }}`, `{{ return_shipping_fee }}`...), never
typed in, so changing `SHOP_RETURN_WINDOW_DAYS` changes what the bot says and
what the shop does together. A changed setting changes the rendered text, hence
its hash, hence `ingest_demo_kb` re-indexes exactly the documents it affects.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.template import Context, Engine

from apps.core.errors import ApplicationError

from .chunking import parse_markdown
from .services import DocumentInput

DEMO_KB_DIR = Path(__file__).resolve().parent / "demo_kb"
_MISSING = "\x00missing:%s\x00"
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "AUD": "A$", "CAD": "C$"}


def money(amount: Decimal) -> str:
    currency = settings.SHOP_CURRENCY
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency}"


def demo_context() -> dict[str, object]:
    return {
        "shop_name": settings.SHOP_NAME,
        "support_email": settings.SHOP_SUPPORT_EMAIL,
        "currency": settings.SHOP_CURRENCY,
        "return_window_days": settings.SHOP_RETURN_WINDOW_DAYS,
        "return_shipping_fee": money(settings.SHOP_RETURN_SHIPPING_FEE),
        "free_shipping_threshold": money(settings.SHOP_FREE_SHIPPING_THRESHOLD),
        "standard_shipping_fee": money(settings.SHOP_STANDARD_SHIPPING_FEE),
        "express_shipping_fee": money(settings.SHOP_EXPRESS_SHIPPING_FEE),
        "refund_processing_days": settings.SHOP_REFUND_PROCESSING_DAYS,
        "warranty_months": settings.SHOP_WARRANTY_MONTHS,
        "login_failure_limit": settings.AXES_FAILURE_LIMIT,
        "login_lockout_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }


def demo_documents(directory: Path = DEMO_KB_DIR) -> list[DocumentInput]:
    """Every demo document rendered; a template naming an unknown variable is an error, not a blank."""
    engine = Engine(autoescape=False, string_if_invalid=_MISSING)
    context = demo_context()
    documents = []
    for path in sorted(directory.glob("*.md")):
        text = engine.from_string(path.read_text(encoding="utf-8")).render(Context(context, autoescape=False))
        if "\x00missing:" in text:
            raise ApplicationError(f"{path.name}: the template uses a variable demo_context() does not define")
        url = parse_markdown(text).url
        documents.append(DocumentInput(uri=url or f"demo_kb/{path.name}", format="markdown", raw_content=text))
    return documents
