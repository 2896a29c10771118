"""A message in another language than English: recognised, and read through a glossary as rough English.

    reading = read_message("hola, ¿dónde está mi mochila?")
    reading.language, reading.english   # "es", "hello, where is my backpack?"

The local models read English only: the router's and the specialists' classifiers sit on all-MiniLM-L6-v2 (an
English embedder; no multilingual one installs here) and the item references match English product words. Read
as it is, "¿dónde está mi mochila?" is unlike any shop request and was refused as out of scope. So a message is
first told apart by its language (py3langid's model, restricted to English and the languages a glossary exists
for), and one in another language is read word by word, longest phrase first, through that language's glossary
(`glossary/<code>.yaml`: the words of a support conversation and the names of what the shop sells, general
vocabulary, not sentences of particular messages). Words the glossary lacks stay as they are: a product's own
name ("mi Day Pack") or an order number still reads as written. The gloss is only what the local models read;
the customer's own words are what a remote model is given and what the transcript keeps.

A message is read as another language only when English is unlikely (`MAX_ENGLISH`, measured on the English
routing dev set), so a customer's typos and abbreviations are never "translated".
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from apps.core.phrases import read_phrases

ENGLISH = "en"
GLOSSARY_DIR = Path(__file__).resolve().parent / "glossary"
# Measured on the English routing dev set (5,864 messages, typos and all): none is below 0.1 English (7 are
# below 0.2: "is flu contagious", "trackorder {{Order Number}}", "do ya ship toCanada"...).
MAX_ENGLISH = 0.1
_LIKELY = 0.05
_MAX_PHRASE = 4
# A word with an elided article or pronoun in front ("l'adresse", "n'est", "dov'è") is read as two words.
_ELISION_RE = re.compile(r"^([a-z]{1,5}')(\w.*)$")
_EDGE_RE = re.compile(r"^([^\w]*)(.*?)([^\w']*)$")


@dataclass(frozen=True)
class Glossary:
    language: str
    name: str
    note: str  # one sentence in the language: the reply is in English
    terms: dict[tuple[str, ...], str]


@dataclass(frozen=True)
class Reading:
    text: str  # what the customer wrote
    language: str  # "en", or the code of the glossary it was read through
    english: str  # what the local models read: the text itself when it is English

    @property
    def foreign(self) -> bool:
        return self.language != ENGLISH

    def note(self, role: str) -> str:
        """One sentence in the customer's language saying the reply is in English, when the model of `role` that
        answers is the local one (it writes English only); "" for English, or when a remote model answers."""
        from apps.agents.providers import configured_chain

        local_only = configured_chain(role) == ["local"]
        return glossaries()[self.language].note if self.foreign and local_only else ""


def fold(word: str) -> str:
    """Lower case without accents: "Dónde" and "donde" are one word to the glossary."""
    decomposed = unicodedata.normalize("NFKD", word.lower().replace("’", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def read_glossary_file(path: Path) -> tuple[dict[str, str], dict[tuple[str, ...], str]]:
    """A glossary file's header fields and its terms, each key as the folded words `gloss` matches on."""
    # Every key and value is a string: "no", "si" and "on" are words here, not YAML's booleans.
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # noqa: S506 -- strings only
    terms = {tuple(fold(w) for _, w, _ in _words(str(k))): str(v or "") for k, v in data["terms"].items()}
    return data, terms


@functools.cache
def glossaries() -> dict[str, Glossary]:
    out: dict[str, Glossary] = {}
    for path in sorted(GLOSSARY_DIR.glob("*.yaml")):
        data, terms = read_glossary_file(path)
        out[data["language"]] = Glossary(data["language"], data["name"], data["note"], terms)
    return out


# py3langid's tokeniser (its automaton: 9.8M 4-byte states, 39 MiB) is the same for every restriction of the model:
# the first identifier built in the process keeps it here and every later one shares it.
_SHARED_TOKENISER: list[tuple] = []


def restricted_identifier(languages: Sequence[str]):  # py3langid has no type hints
    """py3langid's identifier restricted to `languages`, holding only their columns and the shared tokeniser.

    `set_languages` keeps the full model beside the restricted one (`_full_model`: 100k features x 142 languages,
    27 MiB per process) so it can be reset; an identifier built from the restricted arrays alone classifies the
    same (the same columns, the same arithmetic) without it. The injection detector restricts to its own
    languages (`apps.guardrails.detector.reading`); a second tokeniser would be 39 MiB more per worker."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    full = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if not _SHARED_TOKENISER:
        _SHARED_TOKENISER.append((full.tk_nextmove, full.tk_output, full.tk_row))
    nextmove, output, row = _SHARED_TOKENISER[0]
    full.set_languages(list(languages))
    return LanguageIdentifier(full.nb_ptc, full.nb_pc, full.nb_classes, nextmove, output, norm_probs=True, tk_row=row)


@functools.cache
def _identifier():  # py3langid has no type hints
    """py3langid's identifier restricted to English and the glossaries' languages."""
    return restricted_identifier([ENGLISH, *glossaries()])


def detect_language(text: str) -> tuple[str, float]:
    """The text's likeliest language among English and the glossaries', with its probability."""
    language, probability = _identifier().classify(text)
    return str(language), float(probability)


def _words(text: str) -> list[tuple[str, str, str]]:
    """(leading punctuation, word, trailing punctuation) for each whitespace-separated chunk; an elided article
    becomes a word of its own."""
    out: list[tuple[str, str, str]] = []
    for chunk in text.replace("’", "'").replace("¿", " ").replace("¡", " ").split():
        lead, word, trail = _EDGE_RE.match(chunk).groups()  # type: ignore[union-attr]
        elided = _ELISION_RE.match(fold(word)) if word else None
        if elided and not word.upper().startswith("TW-"):
            cut = len(elided.group(1))
            out.append((lead, word[:cut], ""))
            out.append(("", word[cut:], trail))
        else:
            out.append((lead, word, trail))
    return out


def gloss(text: str, glossary: Glossary) -> str:
    """The text read through the glossary, longest phrase first; unknown words (names, numbers) kept as written."""
    words = _words(text)
    return read_phrases(words, [fold(w) for _, w, _ in words], glossary.terms.get, max_phrase=_MAX_PHRASE)


def _known_words(words: list[str], glossary: Glossary) -> int:
    return sum((w,) in glossary.terms for w in words)


@functools.lru_cache(maxsize=256)  # the turn, its router and its planner read the same message
def read_message(text: str) -> Reading:
    """The message as the local models read it: English as it is, another language through its glossary.

    Another language when English is unlikely (below `MAX_ENGLISH`); of the likely ones, the glossary that knows
    most of its words reads it (Spanish, Portuguese and Italian are close: "necesito la factura" is 0.79 Spanish).
    """
    if not text.strip():
        return Reading(text, ENGLISH, text)
    ranked = dict(_identifier().rank(text))
    if ranked.get(ENGLISH, 0.0) >= MAX_ENGLISH:
        return Reading(text, ENGLISH, text)
    words = [fold(w) for _, w, _ in _words(text)]
    likely = [g for code, g in glossaries().items() if ranked.get(code, 0.0) >= _LIKELY]
    if not likely:
        return Reading(text, ENGLISH, text)
    glossary = max(likely, key=lambda g: (_known_words(words, g), ranked[g.language]))
    return Reading(text, glossary.language, gloss(text, glossary))
