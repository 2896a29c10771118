"""Dates a customer names an order by: relative ("3 days ago", "last week") and on the calendar ("nov 28", "on the
5th", "last thursday"), as a window of time to hold an order's dates against (`cues`, `references.resolve_order`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

__all__ = ["ARRIVED_RE", "PLACED_RE", "date_window"]


_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "a couple of": 2}
_NUMBER_WORDS |= {"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14}
_NUMBER_WORDS |= {"a couple": 2, "fifteen": 15, "twenty": 20, "thirty": 30}
_NUM = r"(\d{1,3}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")"


def _count(token: str) -> int:
    return int(token) if token.isdigit() else _NUMBER_WORDS[token]


# Relative dates, first match wins (a counted "3 days ago" before the vague "a few days ago"): the pattern, the
# window as (newest, oldest) days ago from the count it captured (0 when none), and the label.
_RELATIVE_DATES: tuple[tuple[str, Callable[[int], tuple[int, int]], str], ...] = (
    (r"\bday before yesterday\b", lambda n: (2, 2), "the day before yesterday"),
    (r"\byesterday\b|\blast night\b", lambda n: (1, 1), "yesterday"),
    (r"\btoday\b|\bthis morning\b", lambda n: (0, 0), "today"),
    # "in the last ten days", "within the past month": from then until today
    (rf"\b(?:in|within|during|over) the (?:last|past) {_NUM} days?\b", lambda n: (0, n), "in the last {n} days"),
    (rf"\b(?:in|within|during|over) the (?:last|past) {_NUM} weeks?\b", lambda n: (0, 7 * n), "in the last {n} weeks"),
    (r"\b(?:in|within|during|over) the (?:last|past) week\b", lambda n: (0, 7), "in the last week"),
    (r"\b(?:in|within|during|over) the (?:last|past) month\b", lambda n: (0, 31), "in the last month"),
    (rf"\b{_NUM} days? ago\b", lambda n: (max(1, n - 1), n + 1), "{n} days ago"),
    (r"\b(?:a )?(?:few|couple(?: of)?) days ago\b", lambda n: (1, 5), "a few days ago"),
    (rf"\b{_NUM} weeks? ago\b", lambda n: (7 * n - 3, 7 * n + 3), "{n} weeks ago"),
    (r"\blast week\b", lambda n: (3, 14), "last week"),
    (r"\bthis week\b", lambda n: (0, 7), "this week"),
    (rf"\b{_NUM} months? ago\b", lambda n: (30 * n - 8, 30 * n + 8 * n), "{n} months ago"),
    (r"\blast month\b", lambda n: (20, 62), "last month"),
    (r"\bthis month\b", lambda n: (0, 31), "this month"),
    (rf"\b{_NUM} years? ago\b", lambda n: (365 * n - 60, 365 * n + 120), "{n} years ago"),
)


# Keyed by a month word's first three letters: every spelling _MONTH matches ("sept", "june", "december") has them.
_MONTHS = {
    m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)
}
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?"
    r"|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_CALENDAR_RES = (
    re.compile(rf"\b{_MONTH}\.?\s+{_DAY}\b(?!\s*(?:%|dollars?|usd|items?|x\b))", re.I),  # "nov 28", "december 3rd"
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\b", re.I),  # "28 november", "3rd of dec"
)
_ORDINAL_DAY_RE = re.compile(r"\bon the (\d{1,2})(?:st|nd|rd|th)\b", re.I)  # "the one i placed on the 5th"
_WEEKDAYS = {"monday": 0, "tuesday": 1, "tues": 1, "wednesday": 2, "weds": 2, "thursday": 3, "thurs": 3}
_WEEKDAYS |= {"friday": 4, "saturday": 5, "sunday": 6}
# "by friday", "next monday": a deadline or a plan, not the day of an order.
_WEEKDAY_RE = re.compile(r"(?<!by )(?<!until )(?<!till )(?<!next )(?<!before )\b(" + "|".join(_WEEKDAYS) + r")\b", re.I)


def _calendar_day(text: str, today: datetime) -> tuple[datetime, str] | None:
    """A date the text names on the calendar ("nov 28", "on the 5th", "last thursday"): the latest such day up to
    today, and its label."""
    for pattern in _CALENDAR_RES:
        m = pattern.search(text)
        if m:
            month_word, day_word = (m.group(1), m.group(2)) if m.group(1).isalpha() else (m.group(2), m.group(1))
            month, day = _MONTHS[month_word.lower()[:3]], int(day_word)
            for year in (today.year, today.year - 1):
                try:
                    when = today.replace(year=year, month=month, day=day)
                except ValueError:
                    return None
                if when <= today:
                    return when, f"{month_word} {day}"
            return None
    m = _ORDINAL_DAY_RE.search(text)
    if m:
        day = int(m.group(1))
        month_start = today.replace(day=1)
        for first in (month_start, (month_start - timedelta(days=1)).replace(day=1)):
            try:
                when = first.replace(day=day)
            except ValueError:
                continue
            if when <= today:
                return when, f"the {day}th"
        return None
    m = _WEEKDAY_RE.search(text)
    if m:
        back = (today.weekday() - _WEEKDAYS[m.group(1).lower()]) % 7 or 7
        return today - timedelta(days=back), m.group(1).lower()
    return None


def date_window(text: str, now: datetime) -> tuple[datetime, datetime, str] | None:
    """The span of time a date in the text names, in calendar days, widened by a few hours for time zones.

    Vague counts are read loosely: "3 days ago" is 2 to 4 days ago, "last week" 3 to 14 days ago. A date on the
    calendar ("nov 28", "on the 5th", "last thursday") is that day.
    """
    lowered = text.lower()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    slack = timedelta(hours=6)
    calendar = _calendar_day(lowered, midnight)
    if calendar is not None:
        day, label = calendar
        return day - slack, day + timedelta(days=1) + slack, label
    for pattern, window, label in _RELATIVE_DATES:
        m = re.search(pattern, lowered)
        if m:
            n = _count(m.group(1)) if m.groups() else 0
            newest, oldest = window(n)
            # Day 0 is today; day n runs from midnight n days ago to midnight n-1 days ago.
            return (
                midnight - timedelta(days=oldest) - slack,
                midnight - timedelta(days=newest - 1) + slack,
                label.format(n=n),
            )
    return None


# Which of an order's dates a date means: "the one i ordered on monday" the day it was placed, "the one that came
# yesterday" the day it arrived; without such a verb, any of them.
PLACED_RE = re.compile(r"\b(?:ordered|placed|bought|purchased|order(?:ed)? (?:from|on|of))\b", re.I)
# "something came up" is no delivery.
ARRIVED_RE = re.compile(r"\b(?:arrived|came(?! up\b)|delivered|showed up|turned up|received)\b", re.I)
