"""A postal address out of a chat message, when the customer writes one plainly.

"to 12 Harbor Street, Apt 4, Portland, OR 97201, US" -> line1, line2, city,
region, postal code, country. Only a clear address is taken (a street with a
number, a city, a postal code, a country); anything less returns None and the
specialist asks for the address in that form rather than guessing. The country
may be left out only where the region and postal code name it unambiguously
("Chicago, IL 60606": a US state and a ZIP code; "Toronto, ON M5H 2M9": a
Canadian province and postal code); such an address may also come with fewer commas or
the state spelled out ("9 Ocean Drive Miami FL 33139", "22 Fore Street, Portland, Maine
04101"), its street line then ending in a street word. The street line starts at its house number,
so the words of the request before it ("...to my mom's, it's 18 Elm Street") stay out.
"""

from __future__ import annotations

import re

COUNTRIES = {
    "us": "US",
    "usa": "US",
    "united states": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "gb": "GB",
    "united kingdom": "GB",
    "england": "GB",
    "great britain": "GB",
    "canada": "CA",
    "ca": "CA",
    "germany": "DE",
    "de": "DE",
    "france": "FR",
    "fr": "FR",
    "spain": "ES",
    "es": "ES",
    "italy": "IT",
    "it": "IT",
    "netherlands": "NL",
    "nl": "NL",
    "ireland": "IE",
    "ie": "IE",
    "australia": "AU",
    "au": "AU",
    "mexico": "MX",
    "mx": "MX",
}
_LEAD_RE = re.compile(r"^.*?\b(?:to|is|address|at|:)\s+(?=\d|apt|unit|suite|flat)", re.IGNORECASE | re.DOTALL)
_POSTAL_RE = re.compile(r"^(?:(?P<region>[A-Za-z][A-Za-z .]{0,30}?)\s+)?(?P<postal>[A-Za-z0-9][A-Za-z0-9 -]{2,9})$")
_LINE2_RE = re.compile(r"^(?:apt|apartment|unit|suite|ste|flat|floor|fl|#)\b", re.IGNORECASE)
# A house number followed by a word: where a street line starts.
_HOUSE_NUMBER_RE = re.compile(r"(?<![\w-])\d{1,6}[A-Za-z]?\s+(?=[A-Za-z])")
_US_STATES = frozenset(
    re.findall(
        r"[A-Z]{2}",
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH "
        "OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR",
    )
)
_CA_PROVINCES = frozenset(re.findall(r"[A-Z]{2}", "AB BC MB NB NL NS NT NU ON PE QC SK YT"))
_US_TAIL_RE = re.compile(r"^(?P<region>[A-Za-z]{2})\s+\d{5}(?:-\d{4})?$")
_CA_TAIL_RE = re.compile(r"^(?P<region>[A-Za-z]{2})\s+[A-Za-z]\d[A-Za-z]\s?\d[A-Za-z]\d$")
_FILLER_TAIL_RE = re.compile(r"\s+(?:instead|please|thanks|thank you|asap|now)\b.*$", re.IGNORECASE)


def _implied_country(tail: str) -> str | None:
    """The country a region and postal code name on their own: "IL 60606" is the US, "ON M5H 2M9" Canada."""
    us, ca = _US_TAIL_RE.match(tail), _CA_TAIL_RE.match(tail)
    if us and us.group("region").upper() in _US_STATES:
        return "US"
    if ca and ca.group("region").upper() in _CA_PROVINCES:
        return "CA"
    return None


def _street_line(first: str) -> str:
    """The street line out of the first comma-separated part: from its house number on."""
    starts = list(_HOUSE_NUMBER_RE.finditer(first))
    return first[starts[-1].start() :].strip() if starts else first


def parse_address(text: str) -> dict[str, str] | None:
    match = _LEAD_RE.match(text)
    body = text[match.end() :] if match else text
    body = body.strip().rstrip(".!")
    parts = [p.strip() for p in body.split(",") if p.strip()]
    street_at = next((i for i, p in enumerate(parts) if _HOUSE_NUMBER_RE.search(p)), 0)
    if street_at:
        # "can you send it to my new place instead, 48 Fore Street, ...": the request's words before the street stay out
        parts = parts[street_at:]
        body = ", ".join(parts)
    if len(parts) < 3:
        return _us_or_canadian(body)
    tail = _FILLER_TAIL_RE.sub("", parts[-1]).strip(".!? ")
    country = COUNTRIES.get(tail.lower())
    if country is not None:
        parts = parts[:-1]
    else:
        country = _implied_country(tail)
        if country is None:
            return _us_or_canadian(body)  # "22 Fore Street, Portland, Maine 04101"
        parts[-1] = tail
    line1 = _street_line(parts.pop(0))
    if not re.search(r"\d", line1) or len(line1) > 200:
        return None
    line2 = parts.pop(0) if parts and _LINE2_RE.match(parts[0]) else ""
    if len(parts) == 1:
        # "Portland OR 97201": city, region and postal code without commas.
        words = parts[0].rsplit(" ", 2)
        if len(words) < 2 or not re.search(r"\d", words[-1]):
            return None
        city = words[0]
        region = words[1] if len(words) == 3 else ""
        postal = words[-1]
    elif len(parts) == 2:
        city = parts[0]
        postal_match = _POSTAL_RE.match(parts[1])
        if postal_match is None or not re.search(r"\d", postal_match.group("postal")):
            return None
        region = (postal_match.group("region") or "").strip()
        postal = postal_match.group("postal").strip()
    elif len(parts) == 3:
        city, region, postal = parts
        if not re.search(r"\d", postal):
            return None
    else:
        return None
    if not city or re.search(r"\d", city):
        return None
    return {
        "line1": line1,
        "line2": line2,
        "city": city,
        "region": region,
        "postal_code": postal,
        "country": country,
    }


# A US or Canadian address written with fewer commas ("9 Ocean Drive Miami FL 33139", "12 Elm St Apt 4, Portland ME
# 04101", "22 Fore Street, Portland Maine 04101"): the state and postal code end it and name the country.
_STATE_CODES = {
    "AL": "alabama",
    "AK": "alaska",
    "AZ": "arizona",
    "AR": "arkansas",
    "CA": "california",
    "CO": "colorado",
    "CT": "connecticut",
    "DE": "delaware",
    "FL": "florida",
    "GA": "georgia",
    "HI": "hawaii",
    "ID": "idaho",
    "IL": "illinois",
    "IN": "indiana",
    "IA": "iowa",
    "KS": "kansas",
    "KY": "kentucky",
    "LA": "louisiana",
    "ME": "maine",
    "MD": "maryland",
    "MA": "massachusetts",
    "MI": "michigan",
    "MN": "minnesota",
    "MS": "mississippi",
    "MO": "missouri",
    "MT": "montana",
    "NE": "nebraska",
    "NV": "nevada",
    "NH": "new hampshire",
    "NJ": "new jersey",
    "NM": "new mexico",
    "NY": "new york",
    "NC": "north carolina",
    "ND": "north dakota",
    "OH": "ohio",
    "OK": "oklahoma",
    "OR": "oregon",
    "PA": "pennsylvania",
    "RI": "rhode island",
    "SC": "south carolina",
    "SD": "south dakota",
    "TN": "tennessee",
    "TX": "texas",
    "UT": "utah",
    "VT": "vermont",
    "VA": "virginia",
    "WA": "washington",
    "WV": "west virginia",
    "WI": "wisconsin",
    "WY": "wyoming",
    "ON": "ontario",
    "QC": "quebec",
    "BC": "british columbia",
    "AB": "alberta",
    "MB": "manitoba",
    "NS": "nova scotia",
    "NB": "new brunswick",
    "SK": "saskatchewan",
}
_STATE_NAMES = {name: code for code, name in _STATE_CODES.items()}
_REGION = "|".join(sorted((re.escape(n) for n in _STATE_NAMES), key=len, reverse=True))
_LOOSE_TAIL_RE = re.compile(
    rf"[,\s]+(?P<region>{_REGION}|[A-Za-z]{{2}})[,\s]+(?P<postal>\d{{5}}(?:-\d{{4}})?|[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d)"
    r"(?:[,\s]+(?P<country>us|usa|united states|canada))?\s*$",
    re.IGNORECASE,
)
_STREET_END_RE = re.compile(
    r"\b(?:street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|way|court|ct|place|pl|terrace|circle|"
    r"parkway|pkwy|highway|hwy|square)\.?(?:\s+(?:n|s|e|w|ne|nw|se|sw))?(?:\s+(?:apt|apartment|unit|suite|ste|#)"
    r"\s*\w+)?(?=\s)",
    re.IGNORECASE,
)
_LINE2_TAIL_RE = re.compile(r"[,\s]+((?:apt|apartment|unit|suite|ste|flat|#)\s*\w+)$", re.IGNORECASE)


def _us_or_canadian(body: str) -> dict[str, str] | None:
    body = _FILLER_TAIL_RE.sub("", body).strip(".!? ")
    tail = _LOOSE_TAIL_RE.search(body)
    if tail is None:
        return None
    said = tail.group("region")
    region = _STATE_NAMES.get(said.lower(), said.upper())
    postal = tail.group("postal").upper()
    country = "CA" if re.match(r"[A-Z]\d", postal) else "US"
    if region not in (_CA_PROVINCES if country == "CA" else _US_STATES) or (
        tail.group("country") and COUNTRIES.get(tail.group("country").lower()) != country
    ):
        return None
    head = body[: tail.start()].strip(" ,")
    if "," in head:
        street, city = (p.strip() for p in head.rsplit(",", 1))
    else:
        ends = list(_STREET_END_RE.finditer(head))
        if not ends:
            return None
        street, city = head[: ends[-1].end()].strip(), head[ends[-1].end() :].strip()
    line2_match = _LINE2_TAIL_RE.search(street)
    line2 = line2_match.group(1) if line2_match else ""
    line1 = _street_line(street[: line2_match.start()] if line2_match else street)
    if not re.search(r"\d", line1) or not _STREET_END_RE.search(f"{line1} ") or len(line1) > 200:
        return None  # a street line names its street ("Fore Street", "Madison St")
    if not city or re.search(r"\d", city):
        return None
    return {"line1": line1, "line2": line2, "city": city, "region": region, "postal_code": postal, "country": country}


# A postal code said alone, as a correction ("the zip is 04111 not 04101", "postcode should be M5H 2N2").
_POSTAL_CODE_RE = re.compile(r"(?<![\w-])(\d{5}(?:-\d{4})?|[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d)(?![\w-])")
_NOT_RE = re.compile(r"\b(?:not|instead of|rather than)\s+(?:the\s+)?$", re.IGNORECASE)


def amend_address(address: dict[str, str], text: str) -> dict[str, str] | None:
    """`address` with the correction `text` makes to it, or None when it corrects nothing.

    The whole address said again wins; otherwise a postal code of the address's own form that differs from the one
    given ("the zip is 04111 not 04101": the code after "not" is the old one) replaces it.
    """
    whole = parse_address(text)
    if whole:
        return whole
    said = [m for m in _POSTAL_CODE_RE.finditer(text) if not _NOT_RE.search(text[: m.start()])]
    old = address["postal_code"].replace(" ", "").upper()
    new = [m.group(1).upper() for m in said if m.group(1).replace(" ", "").upper() != old]
    same_form = [code for code in new if code[0].isdigit() == old[:1].isdigit()]
    if len(set(same_form)) != 1:
        return None
    return {**address, "postal_code": same_form[0]}


def without_address(text: str) -> str:
    """The text with the address it gives left out, so its street and city are not read as anything else ("12 Harbor
    Street" names no Harbor Crew T-Shirt)."""
    address = parse_address(text)
    if address is None:
        return text
    start = text.find(address["line1"])
    return text[:start] if start >= 0 else text
