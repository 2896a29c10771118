"""What a customer wants instead of the item they send back: an exchange, not a refund.

"can i swap it for a small", "could i exchange it for the king size?", "i want it in large instead" ->
"a small", "the king size", "large". The phrase after the exchange is taken only when it names a variant
(a size or a colour: the shop's size words, bed sizes, "size 9", a colour): "swap it for a refund" or
"exchange it for something else" is not an exchange of variant, and the return stays a return; nor is "a bigger
size" (which size?): the specialist asks as for any return.
"""

from __future__ import annotations

import re

from apps.agents.understanding.cues import names_a_product, text_words
from apps.agents.understanding.vocabulary import COLOUR_WORDS, SIZE_WORDS

_WANTED_RE = re.compile(
    r"\b(?:swap|exchange|switch|trade|replace)\b[^.?!]*?\b(?:for|to|into|with)\s+(?P<a>[^.?!,;]{1,40})"
    r"|\b(?:in|as)\s+(?P<b>(?:an?\s+|the\s+)?[^.?!,;]{1,30}?)\s+instead\b",
    re.IGNORECASE,
)
_VARIANT_WORDS = frozenset({*SIZE_WORDS, "queen", "king", "double", "single", "twin"} | COLOUR_WORDS)
_TRAILING_RE = re.compile(r"\s+(?:instead|please|pls|thanks|thank you|if possible)$", re.IGNORECASE)


def wanted_instead(text: str) -> str:
    """The variant the customer wants in exchange ("a small", "the king size"), or "" when they name none."""
    for match in _WANTED_RE.finditer(text):
        phrase = (match.group("a") or match.group("b") or "").strip()
        words = re.findall(r"[a-z0-9]+", phrase.lower())
        if not words or len(words) > 5:
            continue
        named = set(words) | {" ".join(words[i : i + 2]) for i in range(len(words) - 1)}
        if named & _VARIANT_WORDS:
            cleaned = _TRAILING_RE.sub("", phrase) if len(words) > 1 else phrase
            return cleaned.strip()
    return ""


_PRODUCT_WANTED_RE = re.compile(
    r"\b(?:swap|exchange|switch|trade|replace|change)\b[^.?!]*?\b(?:for|to|into|with)\s+(?P<a>[^.?!,;]{1,50})",
    re.IGNORECASE,
)


def product_instead(text: str) -> str:
    """Another product the customer wants in exchange ("could i exchange the bedding set for the wool throw
    instead?" -> "the wool throw"), or "": an exchange is another size or colour of the same product only (the
    exchanges page), so such a request is a return for a refund and a new order. A variant named ("for a large") is
    `wanted_instead`'s, not another product."""
    if wanted_instead(text):
        return ""
    for match in _PRODUCT_WANTED_RE.finditer(text):
        phrase = _TRAILING_RE.sub("", match.group("a").strip()).strip()
        phrase = re.sub(r"\s+(?:instead|please|pls|thanks)\b.*$", "", phrase, flags=re.IGNORECASE)
        if names_a_product(text_words(phrase)):
            return phrase
    return ""


def without_wanted(text: str) -> str:
    """The text without the product wanted instead, so that it names only the item going back."""
    wanted = product_instead(text)
    return text.replace(wanted, " ") if wanted else text
