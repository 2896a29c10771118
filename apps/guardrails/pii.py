# ruff: noqa: E501  -- pattern tables read better unwrapped
"""Personal data found in free text and masked before it reaches a model or a log.

Placeholders keep what the model needs to help ("[CARD ending 4242]" still lets it
say which card) and nothing that would let anyone use the data. The customer's
own email and phone (from the context) stay: the agent needs them and they are
already on file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

import phonenumbers
from stdnum import iban, luhn
from stdnum.us import ssn as us_ssn

from .types import GuardrailContext

CARD = "CREDIT_CARD"
IBAN = "IBAN_CODE"
EMAIL = "EMAIL_ADDRESS"
PHONE = "PHONE_NUMBER"
SSN = "US_SSN"
PASSWORD = "PASSWORD"  # noqa: S105 - a label, not a secret
CVV = "CARD_SECURITY_CODE"


@dataclass(frozen=True, slots=True)
class PiiSpan:
    type: str
    start: int
    end: int
    replacement: str


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def luhn_valid(number: str) -> bool:
    return luhn.is_valid(number)


def _card_brand_plausible(number: str) -> bool:
    """Issuer prefixes and lengths (Visa, Mastercard, Amex, Discover, Diners, JCB,
    UnionPay, Maestro), so a Luhn-valid tracking or order number is not a card."""
    n = len(number)
    first2, first4 = int(number[:2]), int(number[:4])
    if number[0] == "4":
        return n in (13, 16, 19)
    if 51 <= first2 <= 55 or 2221 <= first4 <= 2720:
        return n == 16
    if first2 in (34, 37):
        return n == 15
    if number.startswith(("6011", "65")) or 644 <= int(number[:3]) <= 649 or first2 == 62:
        return 16 <= n <= 19
    if first2 in (36, 38, 39) or 300 <= int(number[:3]) <= 305:
        return 14 <= n <= 19
    if 3528 <= first4 <= 3589:
        return 16 <= n <= 19
    if first2 in (50, 56, 57, 58, 63, 67):
        return 12 <= n <= 19
    return False


_CARD_RE = re.compile(r"(?<![\w-])(?:\d[ -]?){11,18}\d(?![\w-])")
_CARD_WORDS = re.compile(r"\b(?:card|visa|mastercard|amex|credit|debit|cc)\b[^\n]{0,25}$", re.IGNORECASE)
_CVV_RE = re.compile(
    r"\b(?:cvv2?|cvc2?|cid|csc|security code)\b(?:\s*(?:is|was|number|code))?\s*[:=#]?\s*(\d{3,4})\b", re.I
)
_IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", re.IGNORECASE)
_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b"
)
_PHONE_CUE = re.compile(
    r"\b(?:phone|tel|telephone|mobile|cell|cellphone|call me|text me|whatsapp|reach me|contact me|fax|number)\b[^\n\d]{0,20}$",
    re.IGNORECASE,
)
_PHONE_WORD = re.compile(r"\b(?:phone|tel|telephone|mobile|cell|call|text|whatsapp|ring|fax)\b", re.IGNORECASE)
# "Fone: ...", "Handy - ...": any short label right before the number counts as a cue...
_LABEL_CUE = re.compile(r"\b[^\W\d_]{2,20}\.?\s*[:=-]\s*$")
# ...unless the label says the number is something else.
_NOT_PHONE_LABEL = re.compile(
    r"\b(?:order|tracking|track|invoice|ref|reference|postcode|post code|zip|postal|iban|account|acct|card|sort code"
    r"|parcel|shipment|item|sku|ticket|case|code|pin|voucher|amount|total|price|id|customer|vat|passport|licen[cs]e"
    r"|driver'?s?|routing|aba|bank|nhs|insurance|policy|member(?:ship)?|loyalty|booking|reservation|confirmation"
    r"|transaction|receipt|claim|serial|imei|isbn|tax|ein|itin|nino|social security|ssn|swift|bic|national id)\b[^\n\d]{0,20}$",
    re.IGNORECASE,
)
# A number followed by a street word is a house number, not a phone ("1600 Pennsylvania Avenue").
_STREET_AFTER = re.compile(
    r"^\s*,?\s*(?:[A-Z][\w'.-]*\s+){0,3}(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|way|close|court|ct|place|pl"
    r"|boulevard|blvd|terrace|crescent|square|sq|highway|hwy|straße|strasse|str|weg|gasse|allee|platz|rue|avenue|via"
    r"|calle|rua|laan|straat)\b",
    re.IGNORECASE,
)


@cache
def usps_suffixes() -> str:
    """Alternation of the USPS street suffixes with their abbreviations and plurals ("Parkways", "Xing",
    "Vlg") that pyap2 ships, plus a few British ones; read capitalised after a capitalised street name."""
    from pyap.source_US.data import street_type_list

    words = {w for w in street_type_list if re.fullmatch(r"[A-Za-z]+", w) and len(w) > 1}
    words |= {"Bay", "Green", "Quay", "Wynd", "Rise", "Chase", "Parade", "Esplanade", "Promenade", "Embankment"}
    return "|".join(sorted(words, key=lambda w: (-len(w), w)))


@cache
def _usps_street_after() -> re.Pattern[str]:
    """ "975 3968 Bay Street": digits before a capitalised street name and suffix are house numbers."""
    return re.compile(rf"^\s*,?\s*(?:[A-Z][\w'.-]*\s+){{1,4}}(?:{usps_suffixes()})\b")


_NUMBER_RUN = re.compile(r"(?<![\w+-])\+?\(?\d[\d ()./-]{5,22}\d(?![\w-])")


def _phone_regions() -> tuple[str, ...]:
    from . import conf

    cfg = conf.current()
    return (cfg.phone_region, *[r for r in cfg.phone_extra_regions if r != cfg.phone_region])


def _phone_candidates(text: str) -> Iterator[tuple[int, int]]:
    """Spans phonenumbers accepts as valid in the shop's region or one of the extra regions (an
    international "+" number in any), then runs of 7-15 digits that are possible numbers after
    a phone word or an unrecognised label ("Fone: 8747 6301")."""
    regions = _phone_regions()
    for region in regions:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            yield match.start, match.end
    for match in _NUMBER_RUN.finditer(text):
        before = text[max(0, match.start() - 40) : match.start()]
        if _NOT_PHONE_LABEL.search(before) or not (_PHONE_CUE.search(before) or _LABEL_CUE.search(before)):
            continue
        raw = match.group(0).strip(" .-/")
        for region in regions:
            try:
                parsed = phonenumbers.parse(raw, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_possible_number(parsed):
                yield match.start(), match.start() + len(raw)
                break


_SSN_RE = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])")
_SSN_CUE_RE = re.compile(r"\b(?:ssn|social security(?: number| no\.?)?)\b\D{0,15}(\d{9})\b", re.IGNORECASE)
_PASSWORD_RE = re.compile(
    r"\b(?P<label>password|passwd|passphrase|passcode|pwd|pass word|pin(?: code| number)?|login code|one[- ]time code|otp"
    r"|verification code|security answer)\b"
    r"(?P<sep>\s*(?:is|was|=|:|is:|would be|should be)\s*|\s+)"
    r"(?:(?P<quote>[\"'`])(?P<qvalue>[^\"'`\n]{1,64})(?P=quote)|(?P<value>[^\s\"'`]{3,64}))",
    re.IGNORECASE,
)
# Words that follow "my password is" without being a password.
_NOT_A_PASSWORD = frozenset(
    """
    not wrong incorrect invalid expired broken too the a an being still reset forgotten lost working
    correct right fine ok okay same different weak strong short long required needed missing blocked
    locked changed rejected accepted and but for that this it very no never always definitely probably
    just already now also saved stored written case sensitive compromised stolen leaked hacked gone
    there here yours mine reset. change update please help when after before because since in on at to
    from with of by as if or so into
    """.split()  # noqa: SIM905
)


def _spans_cards(text: str, context: GuardrailContext) -> Iterator[PiiSpan]:
    for match in _CARD_RE.finditer(text):
        number = _digits(match.group(0))
        if not 12 <= len(number) <= 19:
            continue
        cued = bool(_CARD_WORDS.search(text[max(0, match.start() - 40) : match.start()]))
        if (luhn_valid(number) and _card_brand_plausible(number)) or (cued and len(number) >= 13):
            yield PiiSpan(CARD, match.start(), match.end(), f"[CARD ending {number[-4:]}]")


def _spans_cvv(text: str, context: GuardrailContext) -> Iterator[PiiSpan]:
    for match in _CVV_RE.finditer(text):
        yield PiiSpan(CVV, match.start(1), match.end(1), "[CVV]")


def iban_valid(value: str) -> bool:
    """Country length and format and the mod-97 check digits (python-stdnum)."""
    return iban.is_valid(value)


def _spans_iban(text: str, context: GuardrailContext) -> Iterator[PiiSpan]:
    for match in _IBAN_RE.finditer(text):
        value = match.group(0)
        # The regex may swallow a trailing word group; shrink until the checksum holds.
        while value and not iban_valid(value):
            cut = value.rfind(" ")
            if cut < 15:
                value = ""
                break
            value = value[:cut]
        if value:
            compact = value.replace(" ", "")
            yield PiiSpan(IBAN, match.start(), match.start() + len(value), f"[IBAN ending {compact[-4:]}]")


def _spans_emails(text: str, context: GuardrailContext, shop_emails: frozenset[str]) -> Iterator[PiiSpan]:
    for match in _EMAIL_RE.finditer(text):
        address = match.group(0).lower()
        if address in context.emails or address in shop_emails:
            continue
        yield PiiSpan(EMAIL, match.start(), match.end(), "[EMAIL]")


def _own_phone(digits: str, context: GuardrailContext) -> bool:
    tail = digits[-9:]
    return any(own[-9:] == tail for own in context.phones)


def _spans_phones(text: str, context: GuardrailContext) -> Iterator[PiiSpan]:
    if len(_digits(text)) < 7:
        return  # a phone span needs 7 of the text's digits: most texts have fewer, and the matcher is costly
    seen: set[tuple[int, int]] = set()
    for start, end in _phone_candidates(text):
        digits = _digits(text[start:end])
        if not 7 <= len(digits) <= 15 or (start, end) in seen:
            continue
        seen.add((start, end))
        # Part of a longer token (TW-100234, 1Z999AA10123456784) or a house number: not a phone.
        if (start > 0 and (text[start - 1].isalnum() or text[start - 1] == "-")) or (
            end < len(text) and text[end].isalnum()
        ):
            continue
        # "passport number 533 380 006", "account number 0123456789": a label that names something else, with no
        # phone word after it, wins over the number being dialable.
        label = _NOT_PHONE_LABEL.search(text[max(0, start - 40) : start])
        if label and not _PHONE_WORD.search(label.group(0)):
            continue
        after = text[end : end + 60]
        if _STREET_AFTER.match(after) or _usps_street_after().match(after) or _own_phone(digits, context):
            continue
        yield PiiSpan(PHONE, start, end, f"[PHONE ending {digits[-2:]}]")


def _spans_ssn(text: str, context: GuardrailContext) -> Iterator[PiiSpan]:
    # python-stdnum checks area, group and serial (no 000, 666, 9xx; no 00 group; no 0000 serial).
    for match in _SSN_RE.finditer(text):
        if us_ssn.is_valid(match.group(0)):
            yield PiiSpan(SSN, match.start(), match.end(), "[SSN]")
    for match in _SSN_CUE_RE.finditer(text):
        if us_ssn.is_valid(match.group(1)):
            yield PiiSpan(SSN, match.start(1), match.end(1), "[SSN]")


def _spans_passwords(text: str, context: GuardrailContext) -> Iterator[PiiSpan]:
    for match in _PASSWORD_RE.finditer(text):
        quoted = bool(match.group("quote"))
        group = "qvalue" if quoted else "value"
        value = match.group(group) if quoted else match.group(group).rstrip(".,;!?)")
        label = match.group("label").lower()
        sep = match.group("sep").strip().lower()
        if not quoted and (len(value) < 3 or value.lower() in _NOT_A_PASSWORD):
            continue
        if label.startswith("pin") or label in (
            "otp",
            "login code",
            "one-time code",
            "one time code",
            "verification code",
        ):
            if not value.isdigit() and not quoted:
                continue
            placeholder = "[PIN]" if label.startswith("pin") else "[CODE]"
        else:
            # "password reset", "password manager": a bare word right after the label is
            # only a password when it was introduced ("is", ":") or looks like one.
            looks_secret = any(not ch.isalpha() for ch in value) or value != value.lower()
            if not (quoted or sep or looks_secret):
                continue
            placeholder = "[PASSWORD]"
        start = match.start(group)
        yield PiiSpan(PASSWORD, start, start + len(value), placeholder)


_DETECTORS: tuple[Callable[[str, GuardrailContext], Iterator[PiiSpan]], ...] = (
    _spans_iban,
    _spans_cards,
    _spans_cvv,
    _spans_ssn,
    _spans_passwords,
    _spans_phones,
)


def find_pii(text: str, *, context: GuardrailContext, shop_emails: frozenset[str] = frozenset()) -> list[PiiSpan]:
    """Non-overlapping spans, in text order. Where detectors disagree the earlier
    detector wins (IBAN before card before phone), then the longer span."""
    candidates: list[tuple[int, PiiSpan]] = []
    for rank, spans in enumerate(
        [_spans_emails(text, context, shop_emails)] + [detector(text, context) for detector in _DETECTORS]
    ):
        candidates.extend((rank, span) for span in spans)
    candidates.sort(key=lambda item: (item[0], -(item[1].end - item[1].start), item[1].start))
    chosen: list[PiiSpan] = []
    for _rank, span in candidates:
        if all(span.end <= other.start or span.start >= other.end for other in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def mask_pii(
    text: str, *, context: GuardrailContext, shop_emails: frozenset[str] = frozenset()
) -> tuple[str, list[PiiSpan]]:
    spans = find_pii(text, context=context, shop_emails=shop_emails)
    parts: list[str] = []
    cursor = 0
    for span in spans:
        parts.append(text[cursor : span.start])
        parts.append(span.replacement)
        cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts), spans
