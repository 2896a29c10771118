# ruff: noqa: E501  -- pattern tables read better unwrapped
"""Street addresses in free text, for what operators read (`entities.redact_for_operators`).

A street is found by its shape (a house number next to a street name with a street word or a USPS
suffix, street words fused to the name or written before it in many languages, a street name and
number followed by a postcode and town), and whole US, Canadian and British addresses as pyap2 finds
them. The town, state and postcode written after the street ("..., Leeds LS6 2AB", "..., 1016 GV
Amsterdam", "..., Fitzroy VIC 3065") belong to the address and are masked with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from .pii import PiiSpan, usps_suffixes

STREET_ADDRESS = "STREET_ADDRESS"

# Street words in any case ("12 baker street").
_STREET_WORDS = (
    r"street|st|road|rd|avenue|ave|av|lane|ln|drive|dr|way|close|court|ct|place|pl|boulevard|blvd|terrace|crescent"
    r"|square|sq|highway|hwy|parkway|pkwy|row|mews|grove|gardens|hill|park|walk|circle|cir|trail|alley|cross|cres"
    # Nordic street words written apart from the name ("Karl Johans gate 22", "Storgata 4" is fused, below)
    r"|gate|gata|gatan|vei|veien|vej|veg|vegen|väg|vägen|allé|plass|torg|torget|gade|tie|katu"
)

# French, Spanish, Catalan, Italian, Portuguese, Polish and Czech street words: they come before the name.
_ROMANCE_STREET_WORDS = (
    r"rue|avenue|boulevard|bd|chemin|impasse|allée|place|quai|route|cours|passage|calle|c/|avenida|avda\.?|av\.|paseo"
    r"|plaza|camino|carretera|ronda|travesía|travesia|cuesta|cañada|urbanización|urbanizacion|alameda|acceso|callejón"
    r"|callejon|pasaje|pasadizo|glorieta|rambla|carrer|passeig|via|viale|piazza|piazzale|corso|largo|vicolo|contrada"
    r"|strada|borgo|lungomare|rua|travessa|praça|praca|estrada|rodovia|ladeira|vereda|viela|vila|quadra|setor"
    r"|ul\.|ulica|al\.|aleja|os\.|osiedle|pl\.|plac|nám\.|náměstí|třída"
)
_UPPER = "A-ZÀ-ÖØ-ÞĀ-Ž"
_CAP = rf"(?:[{_UPPER}][\w'’.-]*|\d{{1,3}}(?:st|nd|rd|th)|de|la|del|of|the|du|des|di)"
_NAME = rf"[{_UPPER}][\w'’.-]*"
_UNIT_WORD = r"(?i:flat|apt|apartment|unit|suite|ste|floor|studio|room|building|bldg|villa|house)\.?"
# "Flat 3, 18 ...", "Unit 4/27 ..." (unit 4 of number 27)
_UNIT = rf"(?:{_UNIT_WORD}\s*#?(?:\w{{1,5}},?\s+|(?=\d{{1,4}}/\d)))?"
_UNIT_AFTER = rf"(?:,?\s+(?:{_UNIT_WORD}|#)\s*\w{{1,5}}\b)?"
_DIRECTION = r"(?:\s+(?:NW|NE|SW|SE|N|S|E|W|North|South|East|West|Ouest|Est|Nord|Sud)\b)?"
_HOUSE = r"(?:\d{1,4}/)?\d{1,5}[A-Za-z]?"
# Postcodes of many countries: British, Canadian, Irish (Eircode), Dutch, Brazilian, Portuguese,
# Japanese, Polish, US (ZIP+4), Swedish/Czech/Greek ("111 21"), and plain 4 to 6 digits.
_POSTCODE = (
    r"(?:(?:[A-Z]{1,2}-)?(?:(?i:[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|[A-Z]\d[A-Z]\s?\d[A-Z]\d)|[A-Z]\d{2}\s?[A-Z\d]{4}"
    r"|\d{4}\s?[A-Z]{2}(?![\w])|\d{5}-\d{3}|\d{4}-\d{3}|\d{3}-\d{4}|\d{2}-\d{3}|\d{5}-\d{4}|\d{3}\s\d{2}(?!\d)|\d{4,6}))(?![\w-])"
)
# A town: capitalised words in lower case after the capital, with the particles of place names ("Ciudad de
# México", "Co. Cork", "Shibuya-ku"), so a postcode ("BS1 5TY") or a state ("VIC 3065") is not read as one.
_TOWN_WORD = rf"[{_UPPER}](?:[a-z]{{1,2}}\.(?=[ \t])|[a-zß-ÿā-ž'’]+(?:-[\w'’]+)*)"
_PLACE = rf"{_TOWN_WORD}(?:\s+(?:(?:de|del|la|le|les|do|da|am|an|der|sur|upon|on)\s+)?{_TOWN_WORD}){{0,3}}"
_SEPARATOR = r"(?:\s*,\s*|\s+[-–]\s+|\s*\n\s*)"
_TOWN = re.compile(rf"{_SEPARATOR}(?P<place>{_PLACE})")
# A postcode, maybe after a state or province ("IL 62704", "VIC 3065", "SP, 01310-200"), and a country.
_POSTCODE_AFTER = re.compile(rf"(?:{_SEPARATOR}|\s+)(?:[A-Z]{{2,3}}(?:\s+|{_SEPARATOR}))?{_POSTCODE}")
_TOWN_AFTER_CODE = re.compile(rf"(?:{_SEPARATOR}|\s+)(?P<place>{_PLACE})(?:\s+(?:\d{{1,2}}|[A-Z])\b)?")
# Capitalised words after a street that are not a town ("..., Thanks", "..., Monday works").
_NOT_PLACES = frozenset(
    """
    i im i'm thanks thank please cheers regards best kind hi hello hey dear ok okay yes no and but or so the a an my
    your our this that it is was monday tuesday wednesday thursday friday saturday sunday today tomorrow tonight
    january february march april may june july august september october november december asap sorry also just
    """.split()  # noqa: SIM905
)


@cache
def _street_patterns() -> tuple[re.Pattern[str], ...]:
    """Compiled on first use: the USPS suffix list comes from pyap2, whose import costs a third of a second."""
    return (
        # 221B Baker Street, 1600 Pennsylvania Avenue NW, Flat 3, 18 Queen's Road, Unit 4/27 Smith Street
        # Case matters for the name words ("2 items on the way" is not an address); common street words in any case.
        re.compile(rf"\b{_UNIT}{_HOUSE},?\s+(?:{_CAP}\s+){{0,4}}(?i:{_STREET_WORDS})\b{_DIRECTION}{_UNIT_AFTER}"),
        re.compile(
            rf"\b{_UNIT}{_HOUSE},?\s+(?:{_CAP}\s+){{0,3}}{_NAME}\s+(?:{usps_suffixes()})\b{_DIRECTION}{_UNIT_AFTER}"
        ),
        # Flat 9\nFrancis Roads, Studio 7 Mohammed Mission (a unit, then the street without a number)
        re.compile(rf"\b{_UNIT_WORD}\s*#?\w{{1,5}},?\s+(?:{_CAP}\s+){{0,3}}{_NAME}\s+(?:{usps_suffixes()})\b"),
        # Hauptstraße 12, Lindenweg 3a, Kalverstraat 92, Drottninggatan 53, Mannerheimintie 10 A 5,
        # Hans-Werner-Pohl-Straße 50/80 (street word fused to the name), Karl Johans gate 22
        re.compile(
            rf"\b(?:[{_UPPER}][\w'-]*[ \t]+){{0,2}}[{_UPPER}][\w'-]*?(?i:straße|strasse|str\.|weg|gasse|allee|platz|ring|damm|ufer|chaussee|pfad|steig|markt"
            r"|straat|laan|gracht|plein|kade|singel|dijk|steeg|hof|baan|dreef|pad|boulevard|vej|gatan|gata|gate|gade|vägen|veien|vegen|väg|gränd|torget|allé"
            r"|tie|katu|kuja|polku|väylä|\sgate|\sgata|\svei|\sveg|\sväg)"
            r"\s+\d{1,5}[a-z]?(?:\s?[/-]\s?\d{1,4}[a-z]?)*(?:\s[A-Z](?:\s\d{1,3})?\b)?(?:,?\s+\d{1,2}\.\s?(?:th|tv|mf|sal)\.?)?(?![\w])"
        ),
        # 7 rue de la Paix, 14 avenue Victor Hugo, Calle Mayor 5, Via Roma 10, Rua Augusta 100, Av. Paulista, 1578,
        # C/ de Alcalá 45, 3º izq, ul. Długa 15/4 m. 2
        re.compile(
            rf"\b(?:\d{{1,5}}[a-z]?,?\s+)?(?i:{_ROMANCE_STREET_WORDS})\s*(?:(?:de|la|du|des|del|di|da|do|dos|das|le|les|l'|d'|della|delle|dei)\s*)*"
            rf"[{_UPPER}][\w'’-]+"
            rf"(?:\s+(?:(?:de|la|du|des|del|di|da|do|dos|das|le|della|e|y)\s+)*[{_UPPER}][\w'’.-]+){{0,4}}"
            # the number after the name; a comma and five digits then a town is a postcode ("..., 75005 Paris")
            rf"(?:,?\s+(?:n[º°o.]\s*)?(?:\d{{1,4}}|\d{{5}}(?![ \t]+[{_UPPER}][a-z]))[a-zA-Z]?(?:/\d{{1,4}}[a-z]?)?\b)?"
            r"(?:,?\s+(?i:piso|puerta|apt\.?|apto\.?|bloco|andar|int\.?|scala|casa|appartamento|piano|m\.|lok\.|mieszkania)\s*\w{1,4}\b"
            r"|,?\s+\d{1,2}\s?[º°ª]\s?(?:(?i:izq(?:da)?|dcha|der|izquierda|derecha)\b|[A-Da-d]\b)?\.?)?"
        ),
        # Vinohradská 12, 120 00 Praha 2 / Prinsengracht 263, 1016 GV Amsterdam: a street written as a name and a
        # number, known by the postcode and town after it.
        re.compile(
            rf"\b(?:[{_UPPER}][\w'’.-]+[ \t]+){{1,3}}\d{{1,4}}[a-zA-Z]?(?:/\d{{1,4}})?(?=,\s*{_POSTCODE}\s+[{_UPPER}])"
        ),
        # 1-2-3 Shibuya, Shibuya-ku (Japanese block numbers before the district and ward)
        re.compile(
            rf"\b\d{{1,4}}(?:-\d{{1,4}}){{1,2}},?\s+[{_UPPER}][a-z]+(?=,?\s+[{_UPPER}][a-z]+-(?:ku|shi|cho|machi|gun)\b)"
        ),
        # US military mail: PSC 4115, Box 7815 / Unit 2230 Box 4410 / USS Harmon, then APO|FPO|DPO AA|AE|AP 09123
        re.compile(
            r"\b(?:(?:PSC|CMR|Unit)\s+\d{3,5},?\s+Box\s+\d{3,5}|(?:USNS|USNV|USS|USCGC)\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)"
            r"(?:,?\s+(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+\d{5})?\b"
        ),
        # PO Box 4412 / P.O. Box 12345-00100
        re.compile(
            r"\b(?i:p\.?\s?o\.?\s?box|post office box|postfach|apartado(?: de correos)?|caixa postal)\s*\d{1,6}(?:-\d{3,5})?\b"
        ),
    )


# "address is", "ship to", "deliver to", "live at": after these, a street may be written all in lower case.
_CUED_LOWER = re.compile(
    r"(?i:\b(?:address(?: is)?:?|ship(?:ped)?(?: it)? to|deliver(?:ed)?(?: it)? to|send(?: it| them)? to|post(?: it)? to"
    r"|live at|living at|moved to|move to|staying at)\s+)"
    rf"(?P<street>\d{{1,5}}[a-z]?,?\s+(?:[\w'’.-]+\s+){{0,3}}(?i:{_STREET_WORDS}|{_ROMANCE_STREET_WORDS})\b{_DIRECTION})"
)
# The town and postcode of a lower-case address: words up to a postcode, within five words.
_LOWER_LOCALITY = re.compile(rf"^(?:,?\s+[a-zà-ÿ]+){{0,5}},?\s+(?i:{_POSTCODE})")


def _locality_end(text: str, end: int) -> int:
    """Where the towns, state and postcode written after a street end ("..., Leeds LS6 2AB", "..., 75005
    Paris", ", Bela Vista, São Paulo - SP, 01310-200"): up to three towns before a postcode and one after
    it. Without a postcode only the first town counts ("9 Orchard Lane, Harrogate")."""
    cursor = end
    towns: list[int] = []
    for _ in range(4):
        window = text[cursor : cursor + 80]
        if code := _POSTCODE_AFTER.match(window):
            cursor += code.end()
            town = _TOWN_AFTER_CODE.match(text[cursor : cursor + 60])
            if town and town.group("place").split()[0].lower().rstrip(".,") not in _NOT_PLACES:
                cursor += town.end()
            return cursor
        town = _TOWN.match(window)
        if not town or town.group("place").split()[0].lower().rstrip(".,") in _NOT_PLACES:
            break
        cursor += town.end()
        towns.append(cursor)
    return towns[0] if towns else end


def pyap_spans(text: str) -> Iterator[tuple[int, int]]:
    """Whole postal addresses (street, city, state or county, postcode) that pyap2 finds in US, Canadian
    and British formats. pyap2 reads a copy with spaces and commas evened out, so each match is found
    again in the text as written."""
    import pyap

    for country in ("US", "CA", "GB"):
        for found in pyap.parse(text, country=country):
            tokens = [t for t in re.split(r"[\s,]+", found.full_address) if t]
            if not tokens:
                continue
            match = re.search(r"[\s,]+".join(map(re.escape, tokens)), text)
            if match:
                yield match.start(), match.end()


def spans_addresses(text: str) -> Iterator[PiiSpan]:
    if not any(ch.isdigit() for ch in text):  # every format read here has a house number, box or postcode
        return
    for start, end in pyap_spans(text):
        yield PiiSpan(STREET_ADDRESS, start, _locality_end(text, end), "[ADDRESS]")
    for pattern in _street_patterns():
        for match in pattern.finditer(text):
            yield PiiSpan(STREET_ADDRESS, match.start(), _locality_end(text, match.end()), "[ADDRESS]")
    for match in _CUED_LOWER.finditer(text):
        end = match.end("street")
        tail = _LOWER_LOCALITY.match(text[end : end + 80])
        yield PiiSpan(STREET_ADDRESS, match.start("street"), end + (tail.end() if tail else 0), "[ADDRESS]")
