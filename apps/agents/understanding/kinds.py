"""Kinds of products a message points at that the customer never bought: "where is my parka", "the teapot i ordered".

The lexical matcher knows the shop's vocabulary; the meaning matcher (`meaning.match_by_meaning`) finds the customer's
item nearest a word no list knows. Neither can say that a word names something else the customer never bought, so
"my parka" used to reach the nearest kind they did buy, or whatever the action fit. Two learned readings decide it:

- what the message points at: the words after "my", "the", "this"... up to the first word of the request ("where is
  my parka" -> "parka", "the teapot i ordered" -> "teapot");
- whether such a phrase is a kind of product at all: a classifier on the router's MiniLM embedding and character
  n-grams (`examples/product_kind.yaml`: kinds of things shops sell, against people, places, times, payments,
  qualities and the request's own words; held out in `heldout/product_kind.yaml`; calibrated, precision 0.95).

A kind of product none of the customer's items is named by is not theirs when the meaning matcher finds none of their
items for it, or when the shop's catalogue holds a product nearer to it than any of theirs by more than `meaning.TIE`
(the same embedding of the item's name, words, category and description: "teapot" is nearer the pour-over kettle
than the mug). The resolver then answers that none of their orders holds it (`references.resolve_order`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

import numpy as np

from apps.agents.understanding.cues import ORDER_WORDS, POINTING_WORDS, singular
from apps.agents.understanding.intents import get_intent_classifier
from apps.agents.understanding.meaning import (
    SIMILARITY,
    TIE,
    Embed,
    MeaningMatch,
    description_words,
    item_segments,
)
from apps.agents.understanding.order_facts import ItemFacts, OrderFacts
from apps.agents.understanding.vocabulary import REQUEST_WORDS, STOPWORDS

__all__ = ["kinds_not_bought", "pointed_phrases"]

_POINTER_RE = re.compile(r"\b(?:my|the|your|this|that|these|those|our)\s+([a-z][a-z'-]*)(?:\s+([a-z][a-z'-]*))?")
_DIGITS_RE = re.compile(r"\d")

# The classifier's name and its examples' file stem. Its examples are words and short phrases ("parka",
# "my sister"), not customer messages: the injection detector, which reads the intent files as benign
# customer text, leaves this one out (apps.guardrails.detector.examples.understanding_examples).
CLASSIFIER = "product_kind"


def pointed_phrases(text: str) -> list[str]:
    """What the message points at with "my" / "the" / "this"..., up to the first word of the request or of pointing
    ("where is my parka" -> ["parka"], "my bucket hat" -> ["bucket hat"], "the black one" -> ["black"])."""
    found: list[str] = []
    for m in _POINTER_RE.finditer(text.lower()):
        words: list[str] = []
        for word in (w for w in m.groups() if w):
            word = word.strip("'-")
            if (
                not word
                or _DIGITS_RE.search(word)
                or word in STOPWORDS
                or word in POINTING_WORDS
                or word in ORDER_WORDS
                or word in REQUEST_WORDS
            ):
                break
            words.append(word)
        if words:
            found.append(" ".join(words))
    return list(dict.fromkeys(found))


def product_kinds(phrases: Sequence[str]) -> list[str]:
    """The phrases the classifier surely reads as kinds of products."""
    if not phrases:
        return []
    predictions = get_intent_classifier(CLASSIFIER).predict(list(phrases))
    return [p for p, pred in zip(phrases, predictions, strict=True) if pred.intent == "product"]


def kinds_not_bought(
    text: str,
    orders: Sequence[OrderFacts],
    meant: MeaningMatch | None,
    *,
    embed: Embed | None = None,
    catalogue: Sequence[tuple[str, str, str]] | None = None,
) -> list[str]:
    """The kinds of products the text points at that none of the customer's items is (empty: none such)."""
    kinds = product_kinds(pointed_phrases(text))
    if not kinds:
        return []
    found = {cue.split(":", 1)[1].split("~", 1)[0].strip() for cue in (meant.cues if meant else ())}
    own = {i.product for o in orders for i in o.items}
    catalogue = _catalogue() if catalogue is None else catalogue
    rivals = [(name, category, description) for name, category, description in catalogue if name not in own]
    not_bought = []
    for kind in kinds:
        said = {kind, *kind.split()}
        if not (said & found):
            not_bought.append(kind)  # no item of theirs is near it at all
            continue
        if rivals and _rival_nearer(kind, orders, rivals, embed or _embed):
            not_bought.append(kind)
    return not_bought


def _rival_nearer(
    kind: str, orders: Sequence[OrderFacts], rivals: Sequence[tuple[str, str, str]], embed: Embed
) -> bool:
    """Whether a product of the catalogue the customer never bought is nearer the kind than any of their items by more
    than `TIE` (each item read as `meaning.match_by_meaning` reads it: name, words, category, description)."""
    from apps.agents.understanding.meaning import catalogue_descriptions

    items = list({i.product: i for o in orders for i in o.items}.values())
    described = catalogue_descriptions({i.product for i in items})
    own = _best(kind, [(i, described.get(i.product, "")) for i in items], embed)
    other = _best(kind, [(ItemFacts(product=n, variant="", category=c), d) for n, c, d in rivals], embed)
    return other >= SIMILARITY and other > own + TIE


def _best(phrase: str, items: list[tuple[ItemFacts, str]], embed: Embed) -> float:
    if not items:
        return 0.0
    best = 0.0
    segments = [s for item, description in items for s in item_segments(item, description)]
    vectors = _vectors(tuple(dict.fromkeys(segments)), embed)
    phrase_vector = embed([phrase])[0]
    best = float((vectors @ phrase_vector).max())
    if any(singular(phrase) in description_words(d) for _, d in items):
        best = 1.0
    return best


_lock = threading.Lock()
_segment_vectors: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}


def _vectors(segments: tuple[str, ...], embed: Embed) -> np.ndarray:
    """The embeddings of item segments, kept per process (the catalogue's are the same turn after turn)."""
    key = (id(embed), segments)
    with _lock:
        cached = _segment_vectors.get(key)
    if cached is None:
        cached = embed(list(segments))
        with _lock:
            if len(_segment_vectors) > 256:
                _segment_vectors.clear()
            _segment_vectors[key] = cached
    return cached


_catalogue_rows: list[tuple[str, str, str]] | None = None


def _catalogue() -> list[tuple[str, str, str]]:
    global _catalogue_rows
    if _catalogue_rows is None:
        from apps.commerce.selectors import product_catalogue

        try:
            rows = product_catalogue()
        except Exception:  # noqa: BLE001 - no database (a unit test, a script): no rivals to compare with
            return []
        _catalogue_rows = rows
    return _catalogue_rows


def _embed(texts: list[str]) -> np.ndarray:
    from apps.agents.offline.embedder import embed

    return embed(texts)
