"""Numbers written in words, read as digits: "the forty eight dollar one", "a hundred and seventy five bucks", "one
hundred forty five dollars and eighty cents", "the size nine shoes".

No library in the environment reads English number words (spaCy's `like_num` only says a token looks like one), so
this is a small reader of the cardinal numbers customers write: units and teens, tens (hyphenated or not),
"hundred", "thousand", "and" inside a number ("a hundred and six"), "a" before "hundred" / "thousand". "N dollars and
M cents" becomes one amount with cents ("$145.80"). A lone "one" or "a" stays a word ("the black one", "a hoodie"),
unless a currency word follows it ("one dollar"). Ordinals ("second") are not numbers here (`cues`, `dates` read them).
"""

from __future__ import annotations

import re

__all__ = ["spelled_numbers"]

_UNITS = {
    w: n
    for n, w in enumerate(
        (
            *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven"),
            *("twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"),
        )
    )
}
_TENS = {
    w: 10 * n
    for n, w in enumerate(("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"))
    if w
}
_TENS["fourty"] = 40  # the common misspelling
_SCALES = {"hundred": 100, "thousand": 1000}
_NUMBER_WORD = "|".join(sorted((*_UNITS, *_TENS, *_SCALES), key=len, reverse=True))
# A run of number words: "a hundred and seventy-five", "forty eight", "seven hundred".
_RUN_RE = re.compile(
    rf"\b(?:(?:a|an)\s+(?=hundred|thousand))?(?:{_NUMBER_WORD})(?:(?:\s+and\s+|[\s-]+)(?:{_NUMBER_WORD}))*\b",
    re.IGNORECASE,
)
_MONEY_AFTER_RE = re.compile(r"\s*(?:dollars?|bucks|usd|cents?|euros?|pounds?)\b", re.IGNORECASE)
_CENTS_RE = re.compile(
    r"(?P<dollars>\d+)\s*(?:dollars?|bucks|usd)\s*(?:and\s+)?(?P<cents>\d{1,2})\s*cents?\b", re.IGNORECASE
)


def _value(words: list[str]) -> int | None:
    """The number the words say, or None when they are not one number ("twenty thirty")."""
    total, current, last = 0, 0, ""
    for word in words:
        if word in ("a", "an"):
            current, last = 1, "unit"
            continue
        if word in _UNITS:
            if last in ("unit", "teen") or (last == "tens" and _UNITS[word] >= 10):
                return None
            current += _UNITS[word]
            last = "teen" if _UNITS[word] >= 10 else "unit"
        elif word in _TENS:
            if last in ("unit", "teen", "tens"):
                return None
            current += _TENS[word]
            last = "tens"
        elif word == "hundred":
            if current >= 100:
                return None
            current = (current or 1) * 100
            last = "scale"
        else:  # thousand
            total += (current or 1) * 1000
            current, last = 0, "scale"
    return total + current


def spelled_numbers(text: str) -> str:
    """The text with the cardinal numbers it writes in words as digits, and "N dollars and M cents" as "$N.MM"."""

    def digits(m: re.Match[str]) -> str:
        raw = m.group(0)
        words = [w for w in re.split(r"[\s-]+", raw.lower()) if w and w != "and"]
        if words in (["one"], ["zero"]) and not _MONEY_AFTER_RE.match(text, m.end()):
            return raw  # "the black one": a pronoun, not a number
        value = _value(words)
        return raw if value is None else str(value)

    out = _RUN_RE.sub(digits, text)
    return _CENTS_RE.sub(lambda m: f"${m.group('dollars')}.{int(m.group('cents')):02d}", out)
