"""Guardrail settings, read from Django settings (block `# --- guardrails ---`).

Read at call time, so `override_settings` in tests and a changed environment
both apply; the checks need Django's settings only, never its database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings


@dataclass(frozen=True, slots=True)
class GuardrailSettings:
    max_input_chars: int
    injection_threshold: float
    injection_escalate_after: int
    injection_learned: bool
    link_allowed_domains: tuple[str, ...]
    canaries: tuple[str, ...]
    prompt_leak_min_words: int
    order_number_re: re.Pattern[str]
    shop_emails: frozenset[str]
    phone_region: str
    phone_extra_regions: tuple[str, ...]


def current() -> GuardrailSettings:
    return _build(
        settings.GUARDRAILS_MAX_INPUT_CHARS,
        settings.GUARDRAILS_INJECTION_THRESHOLD,
        settings.GUARDRAILS_INJECTION_ESCALATE_AFTER,
        settings.GUARDRAILS_INJECTION_DETECTOR == "learned",
        tuple(d.strip().lower().lstrip(".") for d in settings.GUARDRAILS_LINK_ALLOWED_DOMAINS if d.strip()),
        tuple(c for c in settings.GUARDRAILS_CANARIES if c),
        settings.GUARDRAILS_PROMPT_LEAK_MIN_WORDS,
        settings.GUARDRAILS_ORDER_NUMBER_PATTERN,
        frozenset(e.lower() for e in (settings.SHOP_SUPPORT_EMAIL, settings.DEFAULT_FROM_EMAIL) if e),
        settings.GUARDRAILS_PHONE_REGION.upper(),
        tuple(r.strip().upper() for r in settings.GUARDRAILS_PHONE_EXTRA_REGIONS if r.strip()),
    )


@lru_cache(maxsize=8)
def _build(
    max_input_chars: int,
    injection_threshold: float,
    injection_escalate_after: int,
    injection_learned: bool,
    link_allowed_domains: tuple[str, ...],
    canaries: tuple[str, ...],
    prompt_leak_min_words: int,
    order_number_pattern: str,
    shop_emails: frozenset[str],
    phone_region: str,
    phone_extra_regions: tuple[str, ...],
) -> GuardrailSettings:
    return GuardrailSettings(
        max_input_chars=max_input_chars,
        injection_threshold=injection_threshold,
        injection_escalate_after=injection_escalate_after,
        injection_learned=injection_learned,
        link_allowed_domains=link_allowed_domains,
        canaries=canaries,
        prompt_leak_min_words=prompt_leak_min_words,
        order_number_re=re.compile(order_number_pattern),
        shop_emails=shop_emails,
        phone_region=phone_region,
        phone_extra_regions=phone_extra_regions,
    )
