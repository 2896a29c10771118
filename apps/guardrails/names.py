"""Word lists the name recogniser reads (`entities.py`): first names of many countries, and English words.

- First names: the name dictionary that `gender-guesser` ships (`nam_dict.txt`, Jörg Michael's list of
  about 48,000 given names with their frequency in 54 countries and regions, GNU FDL; only the data file
  is read). A name counts when it is at least moderately common in one country (frequency 4 of 13), so
  rare entries that are also words ("Floor", "Royal", "Merino") do not.
- English words: the lemma index of spaCy's English lemmatizer (WordNet's nouns, verbs, adjectives and
  adverbs, in lower case), loaded with the name model. WordNet lists some people too ("maria", "chen"),
  so a word that is a first name is never taken for a common word.

Both load lazily once per process, in what renders operator views (never in the turn workers).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from importlib import resources

_MIN_FREQUENCY = 4
_HEX = "123456789ABCD"


def fold(word: str) -> str:
    """Lower case without accents ("Siobhán" -> "siobhan", "Thị" -> "thi")."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("’", "'")


@cache
def stop_words() -> frozenset[str]:
    """spaCy's English stop words. Imported on first use: importing spaCy takes about 5 s and 250 MiB,
    and this module is imported wherever operator views are (the turn workers included)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


@cache
def first_names() -> frozenset[str]:
    path = resources.files("gender_guesser") / "data" / "nam_dict.txt"
    names: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line or line[0] in "#=" or len(line) < 31:
                continue
            frequencies = line[30:].rstrip("\r\n$ ")
            best = max((_HEX.index(ch) + 1 for ch in frequencies if ch in _HEX), default=0)
            if best < _MIN_FREQUENCY:
                continue
            name = line[3:29].strip()
            for variant in {name.replace("+", ""), name.replace("+", "-")}:
                names.add(fold(variant))
    return frozenset(names)


def is_first_name(word: str) -> bool:
    folded = fold(word.rstrip("."))
    return folded in first_names() and folded not in stop_words()


_english: frozenset[str] = frozenset()


def set_english_words(words: frozenset[str]) -> None:
    """The lemma index of the loaded name model (entities._pipeline calls this once it has loaded)."""
    global _english
    _english = words


def is_english_word(word: str) -> bool:
    """In the English word lists at all, first names included ("rowan", "maria", "grace")."""
    folded = fold(word)
    return folded in _english or folded in stop_words()


def is_common_word(word: str) -> bool:
    """A lower-case English word or a stop word, and no first name ("wallet", "mug", "deliver"; not "maria")."""
    folded = fold(word)
    return (folded in _english or folded in stop_words()) and folded not in first_names()


# A word written like a name: a capital then lower case, maybe hyphenated or with an apostrophe
# ("Müller-Schmidt", "O'Neill", "Nguyễn"); an initial ("J."); a particle inside a name.
_TOKEN = re.compile(r"[^\W\d_][\w'’-]*\.?")
_PARTICLES = frozenset(
    "van von de da das dos del della di du le la der den ter ten zu al el bin ibn ni nic mac ap y e".split()  # noqa: SIM905
)


def _name_like(word: str) -> bool:
    return len(word) > 1 and word[0].isupper() and any(ch.islower() for ch in word[1:])


def name_runs(text: str, *, not_names: frozenset[str]) -> Iterator[tuple[int, int]]:
    """Runs of two to five words written like a name on one line, one of them a known first name and
    none an ordinary capitalised word (`not_names`), with English words before the first name left out
    ("Deliver Hannah Schmidt" -> "Hannah Schmidt"): names spaCy's small English model does not know."""
    run: list[tuple[int, int, str]] = []
    previous_end: int | None = None
    for match in _TOKEN.finditer(text):
        start, end, token = match.start(), match.end(), match.group(0)
        word = token.rstrip(".")
        initial = len(word) == 1 and word.isupper() and token.endswith(".")
        folded = fold(word)
        usable = (
            (_name_like(word) or initial or (bool(run) and folded in _PARTICLES))
            and folded not in not_names
            and folded not in stop_words()
        )
        contiguous = previous_end is not None and text[previous_end:start] in (" ", "\t")
        if run and not (usable and contiguous and len(run) < 5):
            yield from _accept(run)
            run = []
        if usable:
            run.append((start, end if initial else start + len(word), word))
        previous_end = end
        if token.endswith(".") and not initial and run:  # the end of a sentence ends the run
            yield from _accept(run)
            run = []
    if run:
        yield from _accept(run)


def lone_first_names(text: str, *, not_names: frozenset[str]) -> Iterator[tuple[int, int]]:
    """A capitalised known first name standing alone that is no English word ("Priya", "Sven", "Giulia";
    not "Rowan", "Grace", "Will")."""
    for match in _TOKEN.finditer(text):
        word = match.group(0).rstrip(".")
        folded = fold(word)
        if (
            len(word) >= 3
            and _name_like(word)
            and folded not in not_names
            and is_first_name(word)
            and not is_english_word(word)
        ):
            yield match.start(), match.start() + len(word)


def _accept(run: list[tuple[int, int, str]]) -> Iterator[tuple[int, int]]:
    words = list(run)
    while words and fold(words[-1][2]) in _PARTICLES:
        words.pop()
    first = next((i for i, w in enumerate(words) if is_first_name(w[2])), None)
    if first is None:
        return
    while first > 0 and is_common_word(words[0][2]):
        words.pop(0)
        first -= 1
    if sum(fold(w[2]) not in _PARTICLES for w in words) >= 2:
        yield words[0][0], words[-1][1]
