"""Items found by what the customer's words mean, not by a word list: "my cafetiere", "the cotton stuff", "my cooking
and coffee things".

The lexical matcher (`cues.match_item`) knows the product names, their typos and the synonyms and category words of
`vocabulary.py`; a customer has more words than any list. When it finds no item, the message's content phrases (its
words that are not support vocabulary, one and two at a time) are compared with each of the customer's own items on
the router's local embeddings (all-MiniLM-L6-v2): the item's name, each word of it, its category and the catalogue's
description, each on its own, and the description's words as they are ("cotton"). A phrase names the items within
`TIE` of its best one, when that best reaches `SIMILARITY` and is closer than any word of a support request ("packed"
is the package, not the tote bag). The resolver reads it as its weakest cue: it narrows what the date, state, amount
and action left, and several fitting means one short question.

`SIMILARITY` and `TIE` were fitted on the shop's own vocabulary, never on customer cases (`bench/bench_meaning.py`:
the 138 synonyms and category words of `vocabulary.py` against the 55 products of the demo catalogue, each product's
name, words, category and description). From 0.50, 115 of the 138 phrases reach it and their best product is one the
lists pair them with 0.80 of the time; most of the rest are a near kind the lists do not pair ("shirt": the linen
shirt; "bag": the dry bag; "coffee": the mug). A customer's own dozen items have fewer rivals than the catalogue. A
second item within `TIE` of the best counts too ("sneakers": the canvas sneakers and the trail runners), under the
25th percentile (0.108) of how far the first wrong product is below a right best one.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from apps.agents.understanding.cues import ORDER_WORDS, POINTING_WORDS, product_words, singular, text_words
from apps.agents.understanding.order_facts import ItemFacts, OrderFacts
from apps.agents.understanding.vocabulary import REQUEST_WORDS, SIZE_WORDS, STOPWORDS

SIMILARITY = 0.50
TIE = 0.05

_DIGITS_RE = re.compile(r"\d")


def content_phrases(text: str) -> list[str]:
    """The message's words that could name what was bought, one at a time and each pair side by side ("coffee
    thing" -> "coffee"; "cast iron" -> "cast", "iron", "cast iron")."""
    words = text_words(text)
    keep = [
        w
        for w in words
        if len(w) > 2
        and not _DIGITS_RE.search(w)
        and w not in STOPWORDS
        and w not in POINTING_WORDS
        and w not in ORDER_WORDS
        and w not in REQUEST_WORDS
        and w not in SIZE_WORDS
    ]
    phrases = list(dict.fromkeys(keep))
    for a, b in itertools.pairwise(words):
        if a in keep and b in keep:
            phrases.append(f"{a} {b}")
    return list(dict.fromkeys(phrases))


def item_segments(item: ItemFacts, description: str = "") -> list[str]:
    """What an item is called, each compared with a phrase on its own (a whole description dilutes the one word a
    customer remembers): its name, each word of it, its category and its description."""
    segments = [item.product, *product_words(item.product)]
    if item.category:
        segments.append(item.category)
    if description:
        segments.append(description)
    return list(dict.fromkeys(segments))


def description_words(description: str) -> frozenset[str]:
    """The words of a description a customer may name an item by ("the cotton stuff": "Stretch cotton chinos"), read
    as they are: one word's embedding is close to too many others ("tight" and "fit") to be read loosely."""
    return frozenset(singular(w) for w in text_words(description) if len(w) > 2 and w not in STOPWORDS)


@dataclass(frozen=True)
class MeaningMatch:
    orders: tuple[OrderFacts, ...]  # the orders holding an item the phrases name
    items: dict[str, tuple[ItemFacts, ...]]  # per order number, the items named
    cues: tuple[str, ...]  # "meaning: cotton~Harbor Crew T-Shirt"


Embed = Callable[[list[str]], np.ndarray]


def match_by_meaning(
    text: str,
    orders: Sequence[OrderFacts],
    *,
    descriptions: dict[str, str] | None = None,
    embed: Embed | None = None,
) -> MeaningMatch | None:
    """The orders whose items the text's phrases mean (None when no phrase is close enough to any item)."""
    phrases = content_phrases(text)
    pairs = [(o, i) for o in orders for i in o.items]
    if not phrases or not pairs:
        return None
    if descriptions is None:
        descriptions = catalogue_descriptions({i.product for _, i in pairs})
    embed = embed or _embed
    per_item = [item_segments(i, descriptions.get(i.product, "")) for _, i in pairs]
    segments = list(dict.fromkeys(t for texts in per_item for t in texts))
    place = {t: k for k, t in enumerate(segments)}
    vectors = embed([*phrases, *segments])
    by_segment = vectors[: len(phrases)] @ vectors[len(phrases) :].T
    similarity = np.stack([by_segment[:, [place[t] for t in texts]].max(axis=1) for texts in per_item], axis=1)
    for k, (_, item) in enumerate(pairs):
        words = description_words(descriptions.get(item.product, ""))
        said = [j for j, phrase in enumerate(phrases) if singular(phrase) in words]
        similarity[said, k] = 1.0
    # A phrase closer to a word of the support request itself than to any item is about the request ("has it been
    # packed yet": the package, not the tote bag).
    background = (vectors[: len(phrases)] @ _support_vectors(embed).T).max(axis=1)
    named: dict[str, list[ItemFacts]] = {}
    cues: list[str] = []
    for row, phrase, request in zip(similarity, phrases, background, strict=True):
        best = float(row.max())
        if best < SIMILARITY or best <= request:
            continue
        for (order, item), score in zip(pairs, row, strict=True):
            if score >= best - TIE and item not in named.get(order.number, []):
                named.setdefault(order.number, []).append(item)
                cues.append(f"meaning: {phrase}~{item.product}")
    if not named:
        return None
    return MeaningMatch(
        orders=tuple(o for o in orders if o.number in named),
        items={number: tuple(items) for number, items in named.items()},
        cues=tuple(dict.fromkeys(cues)),
    )


def catalogue_descriptions(products: set[str]) -> dict[str, str]:
    """The catalogue's description of each product named (public catalogue text, no customer data)."""
    from apps.commerce.selectors import product_descriptions

    try:
        return product_descriptions(names=products)
    except Exception:  # noqa: BLE001 - no database (a unit test, a script): the names and categories still say much
        return {}


_support: dict[Embed, np.ndarray] = {}


def _support_vectors(embed: Embed) -> np.ndarray:
    """The words of support requests (`vocabulary.STOPWORDS` and the words above), embedded once per process."""
    if embed not in _support:
        _support[embed] = embed(sorted(STOPWORDS | REQUEST_WORDS))
    return _support[embed]


def _embed(texts: list[str]) -> np.ndarray:
    from apps.agents.offline.embedder import embed

    return embed(texts)
