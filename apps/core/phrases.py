"""A message read through a phrase table, longest phrase first.

One walk for every glossary: the understanding layer reads five languages into English with it
(`apps.agents.understanding.language.gloss`) and the injection detector reads twenty-four
(`apps.guardrails.detector.reading.gloss`); each brings its own way of looking a phrase up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

# (leading punctuation, word, trailing punctuation) of one whitespace-separated chunk.
Word = tuple[str, str, str]

_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,.!?;:])")


def read_phrases(
    words: Sequence[Word],
    folded: Sequence[str],
    lookup: Callable[[tuple[str, ...]], str | None],
    *,
    max_phrase: int,
) -> str:
    """`words` with every phrase `lookup` knows replaced by its reading ("" drops it), longest first; a phrase is
    read whole only when no punctuation cuts it ("pedido, la" is not one phrase). `folded[i]` is the form of
    `words[i]` the table is keyed on; words it does not know are kept as written."""
    parts: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(max_phrase, len(words) - i), 0, -1):
            if any(words[j][2] or words[j + 1][0] for j in range(i, i + size - 1)):
                continue
            reading = lookup(tuple(folded[i : i + size]))
            if reading is not None:
                lead, trail = words[i][0], words[i + size - 1][2]
                parts.append(f"{lead}{reading}{trail}" if reading else f"{lead}{trail}")
                i += size
                break
        else:
            lead, word, trail = words[i]
            parts.append(f"{lead}{word}{trail}")
            i += 1
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(p for p in parts if p)).strip()
