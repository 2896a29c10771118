"""The English reading of a message in another language, for the injection detector (model.labelled_views).

The embedder is English: an override in Polish or Korean reads to it as noise. A message that is surely not
English is read word by word into English through a glossary (`glossary/<code>.yaml`): what one says to an
assistant about its instructions, rules, role and what to show or do, and the common words of a shop's
conversation, so that an attack and a customer's message in that language both read as what they say. For the
languages the understanding layer has a glossary for (German, French, Spanish, Italian, Portuguese) its words are
read too, the detector's on top (`apps/agents/understanding/glossary/`); the other languages have the detector's
alone.

A glossary key may end a word with `*`: any word starting so matches (inflected languages: "инструкц*" reads
"инструкции", "инструкций", "инструкциям"). A glossary whose header says `substrings: "yes"` (Chinese, Japanese,
Arabic, Hebrew: no spaces between words, or articles and prepositions fused to them) is read by replacing each
key wherever it occurs, longest first. Keys are folded like the text (lower case, accents and other combining
marks dropped: `understanding.language.fold`). General vocabulary, never sentences of particular messages.

Which language: py3langid restricted to English and the glossaries' languages; a message is read only when
English is unlikely (`MAX_ENGLISH`, the understanding layer's bound), and of the likely languages the glossary
that knows most of its words reads it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from apps.core.phrases import read_phrases

GLOSSARY_DIR = Path(__file__).resolve().parent / "glossary"
_LIKELY = 0.05
_MAX_PHRASE = 4
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Lexicon:
    """One language's words: whole phrases (folded words), phrases whose words may be prefixes (`*`), or, for a
    language written without spaces, substrings longest first."""

    language: str
    exact: dict[tuple[str, ...], str]
    prefixes: tuple[tuple[tuple[tuple[str, bool], ...], str], ...]  # ((word, is_prefix), ...), english
    substrings: tuple[tuple[str, str], ...]  # (folded key, english), longest key first

    def known(self, words: list[str]) -> int:
        if self.substrings:
            text = " ".join(words)
            return sum(1 for key, _ in self.substrings if key in text)
        return sum((w,) in self.exact or any(_matches(p, (w,)) for p, _ in self.prefixes) for w in words)


def _matches(pattern: tuple[tuple[str, bool], ...], words: tuple[str, ...]) -> bool:
    return len(pattern) == len(words) and all(
        word.startswith(key) if prefix else word == key for (key, prefix), word in zip(pattern, words, strict=True)
    )


def _language():
    # Imported here, as before this module existed: the guardrails import without the agents app loaded.
    from apps.agents.understanding import language

    return language


def fold(text: str) -> str:
    return _language().fold(text)


def _words(text: str) -> list[tuple[str, str, str]]:
    return _language()._words(text)


def _read_file(path: Path) -> tuple[dict, dict[str, str]]:
    # Every key and value is a string: "no", "si" and "on" are words here, not YAML's booleans.
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # noqa: S506 -- strings only
    return data, {str(k): str(v or "") for k, v in (data.get("terms") or {}).items()}


def _lexicon(language: str, terms: dict[str, str], *, substrings: bool) -> Lexicon:
    if substrings:
        folded = {fold(k).replace("*", ""): v for k, v in terms.items()}
        ordered = tuple(sorted(folded.items(), key=lambda item: -len(item[0])))
        return Lexicon(language, {}, (), ordered)
    exact: dict[tuple[str, ...], str] = {}
    prefixes: list[tuple[tuple[tuple[str, bool], ...], str]] = []
    for key, english in terms.items():
        # Split and folded as the understanding layer splits its keys (elisions, edge punctuation); a `*`
        # after a word makes it a prefix.
        words = tuple((fold(w), "*" in trail) for _, w, trail in _words(key))
        if any(prefix for _, prefix in words):
            prefixes.append((words, english))
        else:
            exact[tuple(w for w, _ in words)] = english
    return Lexicon(language, exact, tuple(prefixes), ())


@functools.cache
def lexicons() -> dict[str, Lexicon]:
    """Every language the detector reads: the understanding layer's glossaries with the detector's words on
    top, and the languages only the detector has a glossary for."""
    out: dict[str, Lexicon] = {}
    understood = _language().glossaries()
    for path in sorted(GLOSSARY_DIR.glob("*.yaml")):
        data, terms = _read_file(path)
        code = str(data.get("language") or path.stem)
        substrings = str(data.get("substrings", "")).lower() in {"yes", "true"}
        out[code] = _lexicon(code, terms, substrings=substrings)
    for code, glossary in understood.items():
        own = out.get(code)
        exact = {**glossary.terms, **(own.exact if own else {})}
        out[code] = Lexicon(code, exact, own.prefixes if own else (), ())
    return out


@functools.cache
def _identifier():  # py3langid has no type hints
    """py3langid restricted to English and the lexicons' languages, sharing the understanding layer's tokeniser."""
    return _language().restricted_identifier([_language().ENGLISH, *sorted(lexicons())])


def gloss(text: str, lexicon: Lexicon) -> str:
    """The text read through the lexicon, longest phrase first; unknown words kept as written."""
    if lexicon.substrings:
        out = fold(text)
        for key, english in lexicon.substrings:
            if key in out:
                out = out.replace(key, f" {english} ")
        return _SPACES.sub(" ", out).strip()
    words = _words(text)

    def lookup(span: tuple[str, ...]) -> str | None:
        english = lexicon.exact.get(span)
        return english if english is not None else next((e for p, e in lexicon.prefixes if _matches(p, span)), None)

    return read_phrases(words, [fold(w) for _, w, _ in words], lookup, max_phrase=_MAX_PHRASE)


def language_of(text: str) -> str:
    """The text's likeliest language among English and the lexicons' (training's language balance)."""
    return str(_identifier().classify(text)[0]) if text.strip() else _language().ENGLISH


@functools.lru_cache(maxsize=1024)
def english_reading(text: str) -> str | None:
    """The message read into English when it is surely in a language a lexicon covers, else None."""
    if not text.strip():
        return None
    ranked = dict(_identifier().rank(text))
    if ranked.get(_language().ENGLISH, 0.0) >= _language().MAX_ENGLISH:
        return None
    words = [fold(w) for _, w, _ in _words(text)]
    likely = [lexicon for code, lexicon in lexicons().items() if ranked.get(code, 0.0) >= _LIKELY]
    if not likely:
        return None
    lexicon = max(likely, key=lambda lx: (lx.known(words), ranked[lx.language]))
    english = gloss(text, lexicon)
    return english if english != text else None
