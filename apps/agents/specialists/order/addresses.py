"""A postal address out of a chat message, when the customer writes one plainly.

"to 12 Harbor Street, Apt 4, Portland, OR 97201, US" -> line1, line2, city,
region, postal code, country. Only a clear address is taken (a street with a
number, a city, a postal code, a country); anything less returns None and the
specialist asks for the address in that form rather than guessing. The country
may be left out only where the region and postal code name it unambiguously
("Chicago, IL 60606": a US state and a ZIP code; "Toronto, ON M5H 2M9": a
Canadian province and postal code). The street line starts at its house number,
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
    if len(parts) < 3:
        return None
    tail = _FILLER_TAIL_RE.sub("", parts[-1]).strip(".!? ")
    country = COUNTRIES.get(tail.lower())
    if country is not None:
        parts = parts[:-1]
    else:
        country = _implied_country(tail)
        if country is None:
            return None
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
