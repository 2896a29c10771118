"""A turn's embeddings in one encode: the texts its readers will embed, gathered before any of them runs.

A customer message is embedded by four readers, each in its own form: the injection detector (its views of
the cleaned text), the router (the normalised message), the planner (each normalised piece) and the intent
classifiers (the prepared message). One at a time that was three to four encodes of one to three texts
each; one batch of the same texts costs about 60% of that (issue 14). The vectors land in the embedder's
memory of recent texts (`embedder.embed`), where each reader finds its own; a text this list misses is
encoded when its reader asks, as before, so a reader changing its form costs time, never an answer.
The router's clauses (`routing.person`) are in the list: without them each turn made a second encode (a second
round trip to the embedding server) for two or three short texts.
"""

from __future__ import annotations

import logging

from apps.agents.offline import embedder
from apps.agents.offline.learned_classifier import normalise
from apps.agents.routing.person import clauses
from apps.agents.routing.tasks import without_product_nouns
from apps.agents.understanding.intents import prepare
from apps.agents.understanding.planner import regex_pieces, split_pieces
from apps.agents.understanding.splitter import feature_texts
from apps.guardrails import conf as guardrail_conf
from apps.guardrails.detection import injection_embedding_texts

logger = logging.getLogger(__name__)

# A message with more texts than this is long (the detector's windows over it): embedded in batches of
# this size, as the detector does, so a one-sentence view is not padded to the whole message's length.
_SMALL = 8


def turn_texts(text: str) -> list[str]:
    """The distinct texts the readers of this customer message will embed, in first-use order."""
    texts = injection_embedding_texts(text, cfg=guardrail_conf.current())
    routed = len(texts)
    texts.append(normalise(text))
    texts.extend(normalise(clause) for clause in clauses(text))  # the router's look for a person, clause by clause
    # the request splitter reads each of the regex's pieces by the windows around its candidate places
    pieces = regex_pieces(text)
    for piece in pieces:
        texts.extend(feature_texts(piece.strip()))
    if len(pieces) > 1:
        texts.extend(normalise(piece) for piece in pieces)
    # the router's task gate reads each of its texts with the product nouns made neutral (`routing.tasks`)
    texts.extend([without_product_nouns(t) for t in texts[routed:]])
    texts.append(prepare(text) or " ")
    return list(dict.fromkeys(t for t in texts if t))


def prefetch_turn_embeddings(text: str) -> None:
    """Embed the message's texts in one go; later readers find them in the embedder's memory.

    Never raises: each reader embeds what it misses and handles a failing model its own way (the injection
    detector falls back to its rules), as it did before this batch existed."""
    try:
        texts = turn_texts(text)
        if len(texts) <= _SMALL:
            embedder.embed_coalesced(texts)
        else:
            embedder.embed(texts, batch_size=_SMALL)
        # pieces only the learned splitter cut (no cue word between them): the planner routes them; a second, small
        # encode, for the few messages that have such pieces
        pieces = split_pieces(text)
        if len(pieces) > 1 and pieces != regex_pieces(text):
            fresh = [normalise(piece) for piece in pieces]
            embedder.embed_coalesced(list(dict.fromkeys([*fresh, *(without_product_nouns(t) for t in fresh)])))
    except Exception:
        logger.warning("embedding the turn's texts in one batch failed; each reader embeds its own", exc_info=True)
