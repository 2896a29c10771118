# ruff: noqa: E501  -- pattern tables read better unwrapped
"""Checks on what the model wrote, before a customer sees it.

Cleaning checks (HTML, images, links, full card/IBAN/SSN numbers) change the
text and let it through; blocking checks (someone else's data, the system
prompt, promises the shop did not make) replace the whole reply, because the
rest of such a reply cannot be trusted either.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from .pii import CARD, IBAN, SSN, find_pii
from .text import fold
from .types import GuardrailContext

# --- HTML -------------------------------------------------------------------
_SCRIPT_BLOCK = re.compile(r"<\s*(script|style|iframe|object|embed|template)\b[^>]*>.*?<\s*/\s*\1\s*>", re.I | re.S)
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][\w:-]*(?:\s[^<>]*)?/?\s*>|<!--.*?-->|<!\[CDATA\[.*?\]\]>", re.S)
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^\s<>]+)>", re.I)


def strip_html(text: str) -> tuple[str, int]:
    text = _AUTOLINK.sub(r"\1", text)
    text, blocks = _SCRIPT_BLOCK.subn("", text)
    text, tags = _TAG.subn("", text)
    return text, blocks + tags


# --- images and links ---------------------------------------------------------
_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)|!\[[^\]\n]*\]\[[^\]\n]*\]")
_MD_LINK = re.compile(r"(?<!!)\[([^\]\n]+)\]\(\s*<?((?:[^()\s>]|\([^()\s]*\))+)>?(?:\s+\"[^\"\n]*\")?\s*\)")
_MD_REF_DEF = re.compile(r"(?m)^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"\n]*\")?\s*$")
_URL = re.compile(r"\b(?:(?:https?|ftp|file|data|javascript|vbscript):|www\.)[^\s<>\"'`)\]]+", re.I)
_BARE_DOMAIN = re.compile(r"(?<![@\w./-])(?:[a-z0-9-]+\.)+[a-z]{2,24}/[^\s<>\"'`)\]]*", re.I)
LINK_REMOVED = "[link removed]"


def strip_images(text: str) -> tuple[str, int]:
    # An image URL is fetched by the browser without a click: an exfiltration channel
    # even on an allowed host (query strings), so images are never shown.
    return _MD_IMAGE.subn("", text)


def host_allowed(url: str, allowed: tuple[str, ...]) -> bool:
    candidate = url if "://" in url else f"https://{url}"
    try:
        parts = urlsplit(candidate)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not host:
        return False
    return any(host == domain or host.endswith("." + domain) for domain in allowed)


def filter_links(text: str, allowed: tuple[str, ...]) -> tuple[str, int]:
    removed = 0

    def markdown(match: re.Match[str]) -> str:
        nonlocal removed
        label, url = match.group(1), match.group(2)
        if url.lower().startswith("mailto:") or host_allowed(url, allowed):
            return match.group(0)
        removed += 1
        # The label survives unless it is itself a link.
        return LINK_REMOVED if _URL.search(label) or _BARE_DOMAIN.search(label) else label

    def reference(match: re.Match[str]) -> str:
        nonlocal removed
        if host_allowed(match.group(1), allowed):
            return match.group(0)
        removed += 1
        return ""

    def bare(match: re.Match[str]) -> str:
        nonlocal removed
        url = match.group(0).rstrip(".,;:!?")
        tail = match.group(0)[len(url) :]
        if host_allowed(url, allowed):
            return match.group(0)
        removed += 1
        return LINK_REMOVED + tail

    text = _MD_LINK.sub(markdown, text)
    text = _MD_REF_DEF.sub(reference, text)
    # Protect allowed markdown links from the bare-URL pass by handling only what is outside them.
    pieces: list[str] = []
    cursor = 0
    for match in _MD_LINK.finditer(text):
        pieces.append(_bare_pass(text[cursor : match.start()], bare))
        pieces.append(match.group(0))
        cursor = match.end()
    pieces.append(_bare_pass(text[cursor:], bare))
    return "".join(pieces), removed


def _bare_pass(segment: str, repl: object) -> str:
    segment = _URL.sub(repl, segment)  # type: ignore[arg-type]
    return _BARE_DOMAIN.sub(repl, segment)  # type: ignore[arg-type]


# --- full card / IBAN / SSN numbers ------------------------------------------
def mask_numbers(text: str, context: GuardrailContext) -> tuple[str, dict[str, int]]:
    """A reply never needs a full card, IBAN or SSN: mask any, whoever's it is."""
    spans = [s for s in find_pii(text, context=context) if s.type in (CARD, IBAN, SSN)]
    counts: dict[str, int] = {}
    for span in reversed(spans):
        text = text[: span.start] + span.replacement + text[span.end :]
        counts[span.type] = counts.get(span.type, 0) + 1
    return text, counts


# --- someone else's data -------------------------------------------------------
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}\b")
_ORDER_CUE = re.compile(
    r"\border(?:\s+(?:number|no\.?|num|id|ref(?:erence)?))?\s*[:#]?\s*#?\s*([A-Z0-9][A-Z0-9-]{3,19})\b", re.I
)


_TOKEN = re.compile(r"[A-Za-z0-9#-]+")
# A reply that greets someone by name: the name should be the customer's.
_GREETING = re.compile(
    r"^\W*(?i:hi|hello|hey|dear|good (?:morning|afternoon|evening)|thanks|thank you),?\s+([A-Z][\w'-]+)\b"
)
_NOT_NAMES = frozenset({"there", "again", "team", "and", "so", "for", "all", "everyone", "both", "friend", "customer"})


def _order_keys(value: str) -> set[str]:
    """'TW-100042', '#tw100042' and '100042' compare equal: the letters-and-digits
    form and the digits alone."""
    key = re.sub(r"[^A-Z0-9]", "", value.upper())
    digits = re.sub(r"\D", "", key)
    return {key, digits} if digits else {key}


def foreign_identifiers(
    text: str, context: GuardrailContext, *, shop_emails: frozenset[str], order_re: re.Pattern[str]
) -> dict[str, int]:
    said = context.customer_text
    said_lower = said.lower()
    emails = {
        m.group(0).lower()
        for m in _EMAIL.finditer(text)
        if m.group(0).lower() not in context.emails
        and m.group(0).lower() not in shop_emails
        and m.group(0).lower() not in said_lower
    }
    known: set[str] = set()
    for number in context.order_numbers:
        known |= _order_keys(number)
    for token in _TOKEN.findall(said):
        known |= _order_keys(token)
    numbers = {m.group(0) for m in order_re.finditer(text)}
    numbers |= {m.group(1) for m in _ORDER_CUE.finditer(text) if any(ch.isdigit() for ch in m.group(1))}
    orders = {n for n in numbers if not (_order_keys(n) & known)}
    found: dict[str, int] = {}
    greeting = _GREETING.match(text)
    if greeting and context.names:
        name = greeting.group(1).lower()
        own = {part.lower() for full in context.names for part in full.split()}
        if name not in own and name not in _NOT_NAMES and name not in said_lower:
            found["names"] = 1
    if emails:
        found["emails"] = len(emails)
    if orders:
        found["order_numbers"] = len({min(_order_keys(n)) for n in orders})
    return found


# --- system prompt leakage ------------------------------------------------------
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=64)
def _shingles(prompt: str, size: int) -> frozenset[tuple[str, ...]]:
    words = _WORD.findall(fold(prompt))
    return frozenset(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def prompt_leak(text: str, context: GuardrailContext, *, canaries: tuple[str, ...], min_words: int) -> dict[str, int]:
    found: dict[str, int] = {}
    lowered = text.lower()
    hits = sum(1 for canary in canaries if canary.lower() in lowered)
    if hits:
        found["canaries"] = hits
    if context.system_prompts and min_words > 0:
        words = _WORD.findall(fold(text))
        reply = {tuple(words[i : i + min_words]) for i in range(len(words) - min_words + 1)}
        overlap = max((len(reply & _shingles(p, min_words)) for p in context.system_prompts), default=0)
        if overlap:
            found["prompt_shingles"] = overlap
    return found


# --- promises the shop did not make -------------------------------------------------
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_REFUND_DONE = re.compile(
    r"\b(?:i|we)(?: have|'ve| just| already)* (?:refunded|reimbursed|credited|issued (?:you )?(?:a |the |your |an )?(?:full |partial )?refund|"
    r"processed (?:a |the |your )?(?:full |partial )?refund|sent (?:you )?(?:the |your )?(?:money|refund))\b"
    r"|\b(?:your |the |a )?(?:full |partial )?refund (?:has|had) (?:now |already |just )?been (?:processed|issued|completed|sent|"
    r"approved|credited|paid|transferred|refunded|executed|granted|initiated)\b"
    r"|\b(?:your |the )?(?:full |partial )?refund (?:is|was) (?:now |already )?(?:approved|processed|issued|complete|completed|on (?:its|the) way|done|granted)\b"
    r"|\brefund request (?:has been|is|was) (?:now )?(?:approved|accepted|granted)\b"
    r"|\b(?:money|amount|funds|payment) (?:has|have) (?:now |already )?been (?:refunded|returned|credited|sent back|reimbursed)\b"
)
_FUTURE_MONEY = re.compile(
    r"\b(?:i|we)(?:'ll| will| am going to| are going to| can| shall)(?: \w+)? (?:refund|reimburse|credit|compensate|pay you|"
    r"give you (?:a |your )?(?:full |partial )?refund|issue (?:you )?(?:a |the |your )?(?:full |partial )?refund|"
    r"process (?:a |the |your )?(?:full |partial )?refund|waive|cover the cost)\b"
    r"|\byou(?:'ll| will) (?:definitely |certainly )?(?:get|receive) (?:a |your |the )?(?:full |partial )?(?:refund|money back|credit)\b"
)
_GUARANTEE = re.compile(r"\b(?:guarantee[ds]?|guaranteeing|i promise|we promise|promised you|100% (?:sure|certain))\b")
_COMPENSATION = re.compile(
    r"\b(?:discount|coupon|voucher|promo(?:tion(?:al)?)? code|gift card|store credit|goodwill (?:gesture|credit)|"
    r"as (?:a )?compensation|compensate you|free of charge|on the house|\d{1,3} ?% off|(?:free|complimentary) "
    r"(?:shipping|upgrade|item|replacement|gift|month))\b"
)
_OFFER = re.compile(
    r"\b(?:i|we)(?:'ll| will| can| have| 've| am| are| would like to| 'd like to| want to)?\s*(?:\w+ )?"
    r"(?:give|offer|offering|add|apply|applied|send|sending|provide|credit|issue|extend|include|upgrade)\b"
    r"|\bhere(?:'s| is) (?:a|your)\b|\b(?:use|enter) (?:the |this )?code\b|\byou(?:'ll| will) (?:get|receive)\b"
)
# A promise preceded by a negation ("I can't guarantee") is not one, nor is one made
# on a condition the shop controls ("once it is approved, we will refund you").
_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|can't|cant|unable|won't|don't|doesn't|isn't|wasn't|hasn't|haven't|nobody)\b"
)
_CONDITION = re.compile(
    r"\b(?:once|if|when|whether|after|until|as soon as|subject to|upon approval|pending|provided that|in case)\b"
)
_NEGATION_WINDOW = 30  # characters before the phrase
# Set phrases that contain a negation word without negating anything.
_IDIOMS = re.compile(r"\b(?:no worries|no problem|not a problem|no doubt|not only|no rush|no need to worry)\b")


# "Free shipping on orders over $50" states a policy; it offers nothing to this customer.
_POLICY_SCOPE = re.compile(r"\b(?:on|for) (?:all |any )?orders? (?:over|above|of|from|worth)\b|\bevery order\b")


def _unhedged(pattern: re.Pattern[str], sentence: str, grounding: str) -> bool:
    conditional = bool(_CONDITION.search(sentence))
    for match in pattern.finditer(sentence):
        before = _IDIOMS.sub(" ", sentence[max(0, match.start() - _NEGATION_WINDOW) : match.start()])
        if conditional or _NEGATION.search(before) or _NEGATION.search(match.group(0)):
            continue
        # What a tool result or a retrieved policy says is the shop's word, not the
        # model's: the phrase with its neighbouring words must appear there.
        if grounding and _in_context(sentence, match, grounding):
            continue
        return True
    return False


def _in_context(sentence: str, match: re.Match[str], grounding: str, words: int = 3) -> bool:
    before = sentence[: match.start()].split()[-words:]
    after = sentence[match.end() :].split()[:words]
    phrase = " ".join([*before, match.group(0).strip(), *after]).strip(" .,;:!?")
    return phrase in grounding


def promises(text: str, context: GuardrailContext) -> dict[str, int]:
    found: dict[str, int] = {}

    def add(key: str) -> None:
        found[key] = found.get(key, 0) + 1

    grounding = fold(context.grounding)
    for match in _SENTENCE.finditer(fold(text)):
        sentence = match.group(0)
        if not context.refunded_orders and _unhedged(_REFUND_DONE, sentence, grounding):
            add("refund_done")
        if _unhedged(_FUTURE_MONEY, sentence, grounding):
            add("refund_promised")
        if _unhedged(_GUARANTEE, sentence, grounding):
            add("guarantee")
        if (
            _OFFER.search(sentence)
            and not _POLICY_SCOPE.search(sentence)
            and _unhedged(_COMPENSATION, sentence, grounding)
        ):
            add("compensation")
    return found
