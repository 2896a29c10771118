"""Cheap disguises undone before scoring: leetspeak, spaced-out letters, base64 and hex payloads.

Both detectors read these views (the rules in `injection.py`, the learned one in `detector/`).
"""

from __future__ import annotations

import base64
import binascii
import re

_B64 = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}[\s:]?){16,}\b")
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
_LEET_CHAR = re.compile(r"(?<=[a-z])[013457@$]|[013457@$](?=[a-z])")
_SPACED = re.compile(r"\b(?:[a-z0-9][ .\-_*]){3,}[a-z0-9]\b")


def deobfuscate(folded: str) -> str:
    """Undo the two cheapest disguises: leetspeak inside words ("1gn0re") and
    letters spaced out ("i g n o r e"). Digits not touching a letter stay."""
    text = _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), folded)
    return _LEET_CHAR.sub(lambda m: _LEET[m.group(0)], text)


def decoded_payloads(text: str) -> list[str]:
    """Base64 and hex runs that decode to readable text. Random tokens (tracking
    numbers, hashes) decode to binary and are ignored."""
    found: list[str] = []
    for match in _B64.finditer(text):
        blob = match.group(0)
        if blob.isalpha() or blob.isdigit():  # a long word or number, not an encoding
            continue
        try:
            raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        decoded = _readable(raw)
        if decoded:
            found.append(decoded)
    for match in _HEX.finditer(text):
        digits = re.sub(r"[\s:]", "", match.group(0))
        try:
            decoded = _readable(bytes.fromhex(digits))
        except ValueError:
            continue
        if decoded:
            found.append(decoded)
    return found


def _readable(raw: bytes) -> str:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    if len(decoded) < 8:
        return ""
    printable = sum(1 for ch in decoded if ch.isprintable() or ch in "\n\t")
    letters = sum(1 for ch in decoded if ch.isalpha() or ch == " ")
    if printable / len(decoded) < 0.95 or letters / len(decoded) < 0.6 or " " not in decoded:
        return ""
    return decoded
