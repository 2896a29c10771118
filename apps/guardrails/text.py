"""Unicode hygiene: what is stripped before text reaches a model, and the folded
form the detectors read (so look-alike letters and full-width forms cannot hide a phrase)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Zero-width joiners carry meaning inside emoji sequences and Indic/Persian words;
# they are kept when they sit between two non-ASCII characters.
_JOINERS = {"\u200c", "\u200d"}
_TAG_START, _TAG_END = 0xE0000, 0xE007F
_KEEP_CONTROLS = {"\n", "\t"}


@dataclass(frozen=True, slots=True)
class CleanText:
    text: str
    removed: dict[str, int]
    hidden_text: str  # ASCII smuggled as Unicode tag characters, decoded for inspection


# Printable ASCII, newline and tab are never removed: only the other characters are looked at, one by one.
_SUSPECT = re.compile(r"[^\x20-\x7e\n\t]")


def clean(text: str) -> CleanText:
    """Remove control characters, invisible formatting (zero-width, bidi overrides,
    tag characters), private-use and unassigned code points, and runs of variation
    selectors (a known way to smuggle bytes). Newlines are normalised to `\\n`."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    out: list[str] = []
    removed: dict[str, int] = {}
    hidden: list[str] = []
    n = len(text)
    kept = False  # whether any character before the current one was kept
    last = 0  # end of the text already copied or dropped
    for match in _SUSPECT.finditer(text):
        i = match.start()
        if i > last:
            out.append(text[last:i])
            kept = True
        last = i + 1
        ch = text[i]
        cp = ord(ch)
        if _TAG_START <= cp <= _TAG_END:
            if 0xE0020 <= cp <= 0xE007E:
                hidden.append(chr(cp - 0xE0000))
            _count(removed, "tag")
            continue
        if 0xFE00 <= cp <= 0xFE0F:
            # One presentation selector after an emoji is normal; a second in a row is not.
            if kept and 0xFE00 <= ord(text[i - 1]) <= 0xFE0F:
                _count(removed, "variation_selector")
                continue
            out.append(ch)
            kept = True
            continue
        if 0xE0100 <= cp <= 0xE01EF:
            _count(removed, "variation_selector")
            continue
        category = unicodedata.category(ch)
        if category == "Cc" and ch not in _KEEP_CONTROLS:
            _count(removed, "control")
            continue
        if category == "Cf":
            if ch in _JOINERS and 0 < i < n - 1 and ord(text[i - 1]) > 127 and ord(text[i + 1]) > 127:
                out.append(ch)
                kept = True
                continue
            _count(removed, "bidi" if 0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069 else "invisible")
            continue
        if category in ("Co", "Cs", "Cn"):
            _count(removed, "unassigned_or_private")
            continue
        out.append(ch)
        kept = True
    if last == 0:
        return CleanText(text=text, removed=removed, hidden_text="")  # nothing looked suspect
    out.append(text[last:])
    return CleanText(text="".join(out), removed=removed, hidden_text="".join(hidden))


def _count(counter: dict[str, int], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


# Latin look-alikes commonly used to dodge filters (Cyrillic, Greek).
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
        "ѕ": "s", "ԁ": "d", "ӏ": "l", "ο": "o", "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v",
        "τ": "t", "υ": "u", "ρ": "p",
        "‘": "'", "’": "'", "“": '"', "”": '"', "«": '"', "»": '"', "–": "-", "—": "-",
    }
)  # fmt: skip
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case, compatibility-normalised, accents and look-alikes mapped to Latin, whitespace
    collapsed. For detection only: never shown or sent anywhere."""
    if text.isascii():
        # The same result without the per-character pass: ASCII has no compatibility forms, accents or look-alikes,
        # and its case fold is `lower()`. Most replies and grounding texts are ASCII (issue 14).
        return _SPACES.sub(" ", text.lower()).strip()
    text = unicodedata.normalize("NFKC", text).casefold().translate(_CONFUSABLES)
    # Accents dropped so one pattern covers "précédentes" and "precedentes".
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return _SPACES.sub(" ", text).strip()
