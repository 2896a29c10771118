"""The two entry points the agent turn calls: `check_input` on the customer's
message before any model sees it, `check_output` on the reply before the
customer sees it. Each check yields one `GuardrailVerdict` (recorded as a trace span)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from . import conf, output
from .detection import UNTRUSTED_LEARNED_FLOOR, detect_injection
from .pii import mask_pii
from .text import clean
from .types import Action, GuardrailContext, GuardrailVerdict, InputResult, OutputResult

INPUT_SIZE = "input.size"
INPUT_UNICODE = "input.unicode"
INPUT_INJECTION = "input.injection"
INPUT_PII = "input.pii"
OUTPUT_HTML = "output.html"
OUTPUT_IMAGES = "output.images"
OUTPUT_LINKS = "output.links"
OUTPUT_NUMBERS = "output.sensitive_numbers"
OUTPUT_OTHER_CUSTOMERS = "output.other_customers"
OUTPUT_PROMPT_LEAK = "output.prompt_leak"
OUTPUT_PROMISES = "output.promises"
UNTRUSTED_INJECTION = "untrusted.injection"

# What the customer sees instead of a blocked reply. Plain, and true whatever was blocked.
REPLY_WITHHELD = (
    "Sorry, I can't share that. I can help with your own orders, returns, billing and account, "
    "or connect you with a member of our team."
)
REPLY_NO_PROMISE = (
    "I can't confirm that here: refunds and any compensation are decided by our team after review. "
    "I can open a refund request or a ticket for you, or connect you with a person."
)

_EMPTY = GuardrailContext()


def _timed(fn: Callable[[], tuple[Any, GuardrailVerdict]]) -> tuple[Any, GuardrailVerdict]:
    started = time.perf_counter()
    value, verdict = fn()
    elapsed = (time.perf_counter() - started) * 1000
    return value, GuardrailVerdict(
        name=verdict.name,
        tripped=verdict.tripped,
        action=verdict.action,
        score=verdict.score,
        detail=verdict.detail,
        latency_ms=elapsed,
    )


def masked_input(text: str, *, context: GuardrailContext | None = None) -> str:
    """`check_input(text, context=context).text` without judging the text: the size cut, the invisible characters
    stripped and the personal data masked. For text already judged on its own turn (earlier customer messages in
    a model's history), where the verdicts would be thrown away; the injection detector was most of their cost."""
    cfg = conf.current()
    current = clean(text[: cfg.max_input_chars]).text
    return mask_pii(current, context=context or _EMPTY, shop_emails=cfg.shop_emails)[0]


def check_input(text: str, *, context: GuardrailContext | None = None) -> InputResult:
    """Size, invisible characters, injection, personal data, in that order. The
    returned `text` is the only form of the message that may reach a model or a log."""
    context = context or _EMPTY
    cfg = conf.current()
    verdicts: list[GuardrailVerdict] = []

    def size() -> tuple[str, GuardrailVerdict]:
        over = len(text) > cfg.max_input_chars
        detail = {"chars": len(text), "limit": cfg.max_input_chars}
        verdict = GuardrailVerdict(
            INPUT_SIZE, over, Action.BLOCK if over else Action.ALLOW, 1.0 if over else 0.0, detail
        )
        # An oversized message is still cleaned and masked: its first part may be logged.
        return text[: cfg.max_input_chars], verdict

    current, verdict = _timed(size)
    verdicts.append(verdict)

    hidden_text = ""

    def unicode() -> tuple[str, GuardrailVerdict]:
        nonlocal hidden_text
        cleaned = clean(current)
        hidden_text = cleaned.hidden_text
        removed = sum(cleaned.removed.values())
        detail: dict[str, Any] = {"removed": dict(sorted(cleaned.removed.items()))}
        return cleaned.text, GuardrailVerdict(
            INPUT_UNICODE, removed > 0, Action.MASK if removed else Action.ALLOW, float(removed > 0), detail
        )

    current, verdict = _timed(unicode)
    verdicts.append(verdict)

    def injection() -> tuple[None, GuardrailVerdict]:
        result = detect_injection(current, hidden_text=hidden_text, cfg=cfg)
        action = Action.ALLOW
        if result.tripped:
            strikes = context.injection_strikes + 1
            action = Action.ESCALATE if strikes >= cfg.injection_escalate_after else Action.BLOCK
        return None, GuardrailVerdict(INPUT_INJECTION, result.tripped, action, result.score, result.detail)

    _, verdict = _timed(injection)
    verdicts.append(verdict)

    def pii() -> tuple[str, GuardrailVerdict]:
        masked, spans = mask_pii(current, context=context, shop_emails=cfg.shop_emails)
        counts: dict[str, int] = {}
        for span in spans:
            counts[span.type] = counts.get(span.type, 0) + 1
        detail = {"masked": dict(sorted(counts.items()))}
        return masked, GuardrailVerdict(
            INPUT_PII, bool(spans), Action.MASK if spans else Action.ALLOW, float(bool(spans)), detail
        )

    current, verdict = _timed(pii)
    verdicts.append(verdict)
    return InputResult(text=current, verdicts=tuple(verdicts))


def check_output(text: str, *, context: GuardrailContext | None = None) -> OutputResult:
    """Clean the reply (HTML, images, links, full numbers), then look for what must
    never be shown (someone else's data, the prompt, unmade promises). A blocked
    reply is replaced as a whole by a safe message."""
    context = context or _EMPTY
    cfg = conf.current()
    verdicts: list[GuardrailVerdict] = []
    current = clean(text).text

    def cleaning(name: str, fn: Callable[[str], tuple[str, int]], key: str) -> None:
        nonlocal current

        def run() -> tuple[str, GuardrailVerdict]:
            changed, count = fn(current)
            return changed, GuardrailVerdict(
                name, count > 0, Action.MASK if count else Action.ALLOW, float(count > 0), {key: count}
            )

        current, verdict = _timed(run)
        verdicts.append(verdict)

    cleaning(OUTPUT_HTML, output.strip_html, "removed_tags")
    cleaning(OUTPUT_IMAGES, output.strip_images, "removed_images")
    cleaning(OUTPUT_LINKS, lambda t: output.filter_links(t, cfg.link_allowed_domains), "removed_links")

    def numbers() -> tuple[str, GuardrailVerdict]:
        masked, counts = output.mask_numbers(current, context)
        return masked, GuardrailVerdict(
            OUTPUT_NUMBERS,
            bool(counts),
            Action.MASK if counts else Action.ALLOW,
            float(bool(counts)),
            {"masked": counts},
        )

    current, verdict = _timed(numbers)
    verdicts.append(verdict)

    replacement: str | None = None

    def blocking(name: str, fn: Callable[[], dict[str, int]], reply: str) -> None:
        nonlocal replacement

        def run() -> tuple[None, GuardrailVerdict]:
            found = fn()
            return None, GuardrailVerdict(
                name, bool(found), Action.BLOCK if found else Action.ALLOW, float(bool(found)), found
            )

        _, verdict = _timed(run)
        verdicts.append(verdict)
        if verdict.tripped and replacement is None:
            replacement = reply

    blocking(
        OUTPUT_PROMPT_LEAK,
        lambda: output.prompt_leak(current, context, canaries=cfg.canaries, min_words=cfg.prompt_leak_min_words),
        REPLY_WITHHELD,
    )
    blocking(
        OUTPUT_OTHER_CUSTOMERS,
        lambda: output.foreign_identifiers(current, context, shop_emails=cfg.shop_emails, order_re=cfg.order_number_re),
        REPLY_WITHHELD,
    )
    blocking(OUTPUT_PROMISES, lambda: output.promises(current, context), REPLY_NO_PROMISE)
    return OutputResult(text=replacement if replacement is not None else current.strip(), verdicts=tuple(verdicts))


def check_untrusted(text: str, *, kind: str) -> GuardrailVerdict:
    """Score a tool result or retrieved document for injected instructions. It is
    wrapped as data either way (`wrap_untrusted`); the verdict is for the trace and
    for operators (a poisoned knowledge-base article shows up here)."""
    cfg = conf.current()
    cleaned = clean(text)

    def run() -> tuple[None, GuardrailVerdict]:
        result = detect_injection(
            cleaned.text, hidden_text=cleaned.hidden_text, cfg=cfg, learned_floor=UNTRUSTED_LEARNED_FLOOR
        )
        detail = {"kind": kind, **result.detail}
        return None, GuardrailVerdict(UNTRUSTED_INJECTION, result.tripped, Action.ALLOW, result.score, detail)

    return _timed(run)[1]
