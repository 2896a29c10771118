"""How well one sentence of a help-center section answers the customer's question (the offline model's choice).

Two signals beyond the words the question and the sentence share:

- **Misspelt or shortened words.** A customer writes "20 min", "adress", "recieve"; the section says "minutes",
  "address", "receive". A question word the section does not contain is matched to a section word it begins
  ("min": "minutes") or is one edit away from, and counts half a shared word.
- **What kind of answer is asked for.** "how often" is answered by a frequency ("at most once a week"), "how long"
  and "how much" by a duration or an amount. A sentence that states one answers such a question even when it
  shares no word with it: it scores the bonus alone.
- **The section's heading.** A section's first sentence answers what its heading names ("What we keep": "Your name,
  email address, ..."): a question sharing a word with the heading gives that sentence a bonus.
"""

from __future__ import annotations

import re
from typing import Any

from rapidfuzz.distance import OSA

FUZZY_WEIGHT = 0.5
ANSWER_TYPE_BONUS = 0.5
HEADING_BONUS = 1.0
MIN_PREFIX = 3
MIN_EDIT = 5

QUANTITY_QUESTION_RE = re.compile(
    r"\b(?:how (?:long|many|much|soon|fast|quick(?:ly)?|often|frequently|late)|when|by when|until when|deadline|"
    r"what does .* cost|price|fee)\b",
    re.I,
)
# A quantity said in digits or words, a frequency, or a unit of time.
QUANTITY_RE = re.compile(
    r"\d|\b(?:once|twice|one|two|three|four|five|six|seven|eight|nine|ten|dozen|hundred|daily|weekly|monthly|yearly|"
    r"annually|every|(?:minute|hour|day|week|month|year)s?)\b",
    re.I,
)


def _one_edit(a: str, b: str) -> bool:
    """a and b differ by one inserted, deleted or replaced letter, or two swapped neighbours."""
    return a != b and OSA.distance(a, b, score_cutoff=1) <= 1


def fuzzy_matches(unmatched: set[str], words: set[str]) -> int:
    """How many of the question's unmatched words are a shortening or a misspelling of one of the sentence's."""
    found = 0
    for asked in unmatched:
        if asked.isdigit() or len(asked) < MIN_PREFIX:
            continue
        if any(
            (len(w) > len(asked) and w.startswith(asked)) or (len(asked) >= MIN_EDIT and _one_edit(asked, w))
            for w in words
        ):
            found += 1
    return found


def answer_type_bonus(question: str, sentence: str) -> float:
    """The bonus of a sentence stating the quantity, time or frequency the question asks for."""
    return ANSWER_TYPE_BONUS if QUANTITY_QUESTION_RE.search(question) and QUANTITY_RE.search(sentence) else 0.0


def loose_score(question: str, unmatched: set[str], words: set[str], sentence: str) -> float:
    """What a sentence scores beyond the words it shares with the question: misspelt or shortened words of the
    question it has (`unmatched`: the question's words its section has nowhere), and the kind of answer asked."""
    return FUZZY_WEIGHT * fuzzy_matches(unmatched, words) + answer_type_bonus(question, sentence)


def excerpt_heading(excerpt: dict[str, Any]) -> str:
    """The excerpt's own section heading (its page's title for the page's opening)."""
    return str(excerpt.get("section") or excerpt.get("title") or "").split(" > ")[-1].strip()


# -- the words a question and a section share ---------------------------------------------------------------
STOP = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "can",
        "do",
        "does",
        "for",
        "from",
        "have",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "my",
        "of",
        "on",
        "or",
        "the",
        "to",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "me",
        "we",
        "our",
        "us",
        "this",
        "that",
        "there",
        "any",
        "about",
        "get",
        "much",
        "many",
        "long",
    }
)
WORD_RE = re.compile(r"[a-z0-9]+")


def words(text: str) -> set[str]:
    return {w for w in WORD_RE.findall(text.lower()) if w not in STOP and len(w) > 1}


def stem(word: str) -> str:
    """The word without its ending, the same for "change", "changes", "changed" and "changing" ("chang")."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def stems(text: str) -> set[str]:
    """The text's words (stop words left out), stemmed."""
    return {stem(w) for w in words(text)}
