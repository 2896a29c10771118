"""Deterministic slot extraction from customer text.

Order numbers, emails, quantities, item names (against the order's own items),
and return reasons (yes/no answers: `apps.agents.confirmation`). Pure functions with no I/O: the local
model and the specialists call them on untrusted text, and every extracted
value is still checked by the selector or service that uses it (an order
number found here is only looked up within the session's customer scope).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

ORDER_PREFIX = "TW-"
ORDER_DIGITS = 6

# "TW-100234", "tw 100234", "TW100234", "tw_100234", "TW#100234"
_TW_RE = re.compile(r"(?<![A-Za-z0-9])tw[\s\-_#:.]*(\d{6})(?!\d)", re.IGNORECASE)
# "#100234", "# 100234"
_HASH_RE = re.compile(r"#\s?(\d{6})(?!\d)")
# "order 100234", "order no. 100234", "order number: 100234", "order nr 100234", "order #100234"
_ORDER_WORD_RE = re.compile(
    r"\border(?:\s+(?:number|num|no\.?|nr\.?|id|ref))?\s*[:#]?\s*(\d{6})(?!\d)",
    re.IGNORECASE,
)
# The whole message is just the number: "100234", "100234.", " 100234 "
_BARE_RE = re.compile(r"^\W*(\d{6})\W*$")

_EMAIL_RE = re.compile(r"(?<![\w.+-])([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})(?![\w-])")


def _canonical_order(digits: str) -> str:
    return f"{ORDER_PREFIX}{digits}"


def extract_order_numbers(text: str) -> list[str]:
    """Every order number in `text`, canonical ("TW-100234"), in order of appearance, without duplicates.

    Accepts our format and the forms customers type: "tw 100234", "TW100234",
    "#100234", "order 100234", "order no. 100234", or the number alone as the
    whole message. A bare six-digit number inside a sentence is not taken
    (it may be a postcode or a phone fragment).
    """
    found: list[tuple[int, str]] = []
    for pattern in (_TW_RE, _HASH_RE, _ORDER_WORD_RE, _BARE_RE):
        found.extend((m.start(1), m.group(1)) for m in pattern.finditer(text))
    result: list[str] = []
    for _, digits in sorted(found):
        number = _canonical_order(digits)
        if number not in result:
            result.append(number)
    return result


def extract_order_number(text: str) -> str | None:
    """The first order number in `text` (canonical), or None."""
    numbers = extract_order_numbers(text)
    return numbers[0] if numbers else None


def order_number_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of order-number mentions (used to mask them before routing)."""
    spans = []
    for pattern in (_TW_RE, _HASH_RE, _ORDER_WORD_RE, _BARE_RE):
        for m in pattern.finditer(text):
            spans.append((m.start(1) if pattern is _ORDER_WORD_RE else m.start(), m.end()))
    return sorted(spans)


def extract_emails(text: str) -> list[str]:
    """Email addresses in `text`, lower-cased, in order, without duplicates."""
    result: list[str] = []
    for m in _EMAIL_RE.finditer(text):
        email = m.group(1).rstrip(".").lower()
        if email not in result:
            result.append(email)
    return result


def extract_email(text: str) -> str | None:
    emails = extract_emails(text)
    return emails[0] if emails else None


# --- quantities -------------------------------------------------------------

ALL: Literal["all"] = "all"
Quantity = int | Literal["all"]

_NUMBER_WORDS = {
    "a single": 1,
    "single": 1,
    "one": 1,
    "two": 2,
    "a couple of": 2,
    "a pair of": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a dozen": 12,
    "dozen": 12,
    "both": 2,
}
_ALL_WORDS = ("all of them", "all of it", "everything", "all", "the whole order", "the lot")
# "one" is a pronoun in "this one", "the other one", "which one": not a quantity.
_PRONOUN_ONE_RE = re.compile(
    r"\b(?:this|that|the other|other|which|any|every|no|each|the|same|new|right|wrong)\s+one\b"
)
_MONEY_RE = re.compile(r"(?:[$€£]\s?\d[\d,.]*|\d[\d,.]*\s?(?:usd|eur|gbp|dollars?|euros?|pounds?|%))", re.IGNORECASE)
_SIZE_RE = re.compile(r"\b(?:size|sz|eu|us|uk)\s*\d+(?:[.,]\d+)?")
_DIGIT_QTY_RE = re.compile(r"(?<![\w.,/-])(?:x\s?(\d{1,3})|(\d{1,3})\s?(?:x|pcs|pieces|units)?)(?![\w.,/:-])")


def extract_quantity(text: str) -> Quantity | None:
    """The quantity the customer names: 2 for "2", "2x", "x2", "two", "both"; "all" for "all of them".

    Order numbers, emails and money amounts are ignored. None when no quantity
    is named (the caller asks instead of assuming one).
    """
    cleaned = text.lower()
    for start, end in reversed(order_number_spans(cleaned)):
        cleaned = cleaned[:start] + " " + cleaned[end:]
    cleaned = _EMAIL_RE.sub(" ", cleaned)
    cleaned = _MONEY_RE.sub(" ", cleaned)
    cleaned = _PRONOUN_ONE_RE.sub(" ", cleaned)
    cleaned = _SIZE_RE.sub(" ", cleaned)

    candidates: list[tuple[int, Quantity]] = []
    for m in _DIGIT_QTY_RE.finditer(cleaned):
        value = int(m.group(1) or m.group(2))
        if value > 0:
            candidates.append((m.start(), value))
    for phrase, value in _NUMBER_WORDS.items():
        for m in re.finditer(rf"\b{re.escape(phrase)}\b", cleaned):
            candidates.append((m.start(), value))
    for phrase in _ALL_WORDS:
        for m in re.finditer(rf"\b{re.escape(phrase)}\b", cleaned):
            candidates.append((m.start(), ALL))
    if not candidates:
        return None
    # Longest phrase at the earliest position wins ("a couple of" over "couple").
    candidates.sort(key=lambda c: c[0])
    return candidates[0][1]


# --- item names -------------------------------------------------------------

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "for",
        "with",
        "in",
        "on",
        "to",
        "my",
        "your",
        "this",
        "that",
        "these",
        "those",
        "one",
        "ones",
        "set",
        "pack",
        "size",
        "color",
        "colour",
        "i",
        "me",
        "it",
        "is",
        "are",
        "was",
        "please",
        "want",
        "would",
        "like",
        "return",
        "refund",
        "send",
        "back",
    ]
)
_WORD_RE = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class ItemMatch:
    candidate: str
    score: float


def _words(text: str) -> list[str]:
    return [w for w in _WORD_RE.findall(text.lower()) if w not in _STOPWORDS and (len(w) > 2 or w.isdigit())]


def _word_similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if a.isdigit() or b.isdigit():
        return 0.0
    # Plurals and typos: "mugs"/"mug", "blankit"/"blanket".
    if len(a) >= 4 and len(b) >= 4 and (a.startswith(b) or b.startswith(a)) and abs(len(a) - len(b)) <= 2:
        return 0.95
    return difflib.SequenceMatcher(None, a, b).ratio()


def _matched_share(words: list[str], text_words: list[str]) -> float:
    if not words:
        return 0.0
    matched = sum(1 for word in words if max(_word_similarity(word, t) for t in text_words) >= 0.8)
    return matched / len(words)


def match_items(text: str, candidates: Sequence[str], *, cutoff: float = 0.2) -> list[ItemMatch]:
    """Candidates the text refers to, best first, each with a score in [0, 1].

    `candidates` are the item names of the order in question, e.g.
    "Linen Duvet Cover (King / White)". The product name (before the
    parenthesis) weighs 0.8 and the variant 0.2: a candidate scores by the share
    of their words found in the text, tolerating typos and plurals, so "the blue
    mug" prefers "Ceramic Mug (Blue)". The full name verbatim scores 1.
    """
    text_lower = text.lower()
    text_words = _words(text)
    matches: list[ItemMatch] = []
    for candidate in candidates:
        name, _, variant = candidate.partition("(")
        if name.strip() and name.strip().lower() in text_lower:
            name_share = 1.0
        elif text_words:
            name_share = _matched_share(_words(name), text_words)
        else:
            name_share = 0.0
        if name_share == 0.0:
            continue  # a colour or size alone does not name an item
        variant_words = _words(variant)
        variant_share = _matched_share(variant_words, text_words) if variant_words and text_words else 0.0
        score = round(0.8 * name_share + 0.2 * variant_share, 3) if variant_words else round(name_share, 3)
        if candidate.lower() in text_lower:
            score = 1.0
        if score >= cutoff:
            matches.append(ItemMatch(candidate, score))
    matches.sort(key=lambda m: (-m.score, candidates.index(m.candidate)))
    return matches


def match_item(text: str, candidates: Sequence[str], *, cutoff: float = 0.2) -> str | None:
    """The one candidate the text clearly names, or None when none or several tie (ask, don't guess)."""
    matches = match_items(text, candidates, cutoff=cutoff)
    if not matches:
        return None
    if len(matches) > 1 and matches[1].score >= matches[0].score - 0.1:
        return None
    return matches[0].candidate


# --- return reasons ---------------------------------------------------------

# Values of apps.commerce.models.ReturnReason (checked by a test), in priority order:
# a broken item in the wrong size is a damaged item first.
_REASON_PATTERNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "damaged",
        (
            r"damaged?",
            r"broken",
            r"broke",
            r"cracked",
            r"crack",
            r"shattered",
            r"smashed",
            r"dented",
            r"scratch(?:ed|es)?",
            r"torn",
            r"ripped",
            r"holes? in (?:the|it|them|my|one|both)",
            r"(?:has|have|got|developed) (?:a )?holes?",
            r"stain(?:ed|s)?",
            r"leak(?:s|ing|ed)?",
            r"defective",
            r"faulty",
            # "the sheets just aren't working for me" / "it's not working out": they don't suit, nothing is broken
            r"doesn'?t work(?! (?:for me|for us|out))",
            r"does not work(?! (?:for me|for us|out))",
            r"not working(?! (?:for me|for us|out))",
            r"stopped working",
            r"won'?t turn on",
            r"dead on arrival",
            r"missing parts?",
        ),
    ),
    (
        "size",
        (
            r"too (?:small|big|large|tight|loose|short|long|narrow|wide)",
            r"(?:doesn'?t|does not|didn'?t|did not|don'?t|do not) fit",
            r"wrong size",
            r"size is wrong",
            r"bigger size",
            r"smaller size",
            r"different size",
            r"another size",
            r"runs? (?:small|large|big)",
        ),
    ),
    (
        "wrong_item",
        (
            r"wrong (?:item|product|thing|one|colou?r|model|article|order)",
            r"not what i ordered",
            r"(?:sent|gave|shipped) me (?:the|a) wrong",
            r"received (?:the|a) wrong",
            r"got (?:the|a) wrong",
            r"different (?:item|product) than",
            r"instead of (?:the|what)",
            r"someone else'?s",
        ),
    ),
    (
        "not_as_described",
        (
            r"not as described",
            r"not (?:what|how) (?:was|it was|they were|it's|its) (?:described|advertised|pictured|shown)",
            r"not as (?:advertised|pictured|shown)",
            r"(?:different|differs) from (?:the )?(?:picture|photo|image|website|description|listing)",
            r"doesn'?t look like (?:the )?(?:picture|photo|image|website)",
            r"looks? nothing like",
            r"misleading",
            r"poor quality",
            r"bad quality",
            r"low quality",
            r"cheap(?:ly made)?",
            r"not the same as (?:the )?(?:picture|photo|description)",
        ),
    ),
    (
        "changed_mind",
        (
            r"changed? my mind",
            r"don'?t (?:need|want|like) (?:it|them|this|these)",
            r"do not (?:need|want|like) (?:it|them|this|these)",
            r"no longer (?:need|want)",
            r"not needed",
            r"found (?:it )?cheaper",
            r"by mistake",
            r"ordered (?:it )?(?:twice|too many)",
            r"don'?t like",
            r"not for me",
            r"unwanted gift",
        ),
    ),
    ("other", (r"other reason", r"something else", r"another reason")),
)
_REASON_RES = tuple(
    (reason, re.compile(r"\b(?:" + "|".join(p) + r")\b", re.IGNORECASE)) for reason, p in _REASON_PATTERNS
)
RETURN_REASONS = tuple(reason for reason, _ in _REASON_PATTERNS)


def extract_return_reason(text: str) -> str | None:
    """The ReturnReason value the text gives (damaged, size, wrong_item, not_as_described, changed_mind, other).

    None when no reason is stated: the returns specialist then asks for one.
    """
    normalised = text.replace("’", "'")
    for reason, pattern in _REASON_RES:
        if any(not _negated(normalised, m.start()) for m in pattern.finditer(normalised)):
            return reason
    return None


# "no damage, i just don't love the colour", "it isn't broken": a reason denied is no reason.
_DENIAL_RE = re.compile(
    r"\b(?:no|not|nothing|none|without|never|isn'?t|wasn'?t|aren'?t|weren'?t|hasn'?t|nor)\b(?:\W+\w+)?\W*$",
    re.IGNORECASE,
)


def denies_a_reason(text: str) -> bool:
    """Whether the text denies a reason ("no damage", "it isn't broken"): its clause says why not, not why."""
    normalised = text.replace("’", "'")
    return any(_negated(normalised, m.start()) for _, pattern in _REASON_RES for m in pattern.finditer(normalised))


def _negated(text: str, start: int) -> bool:
    """Whether the reason phrase at `start` follows a denial or one word later ("no damage", "not really broken")."""
    return bool(_DENIAL_RE.search(text[max(0, start - 40) : start]))
