"""How much each development text weighs when the detector is fitted (training.fit_and_calibrate): language balance.

The examples in other languages were written as matched pairs, about as many attacks as look-alikes per
language, while English has about two customer messages for every attack (the routing and intent examples).
With classes weighted to balance, a message being German or Polish is then evidence of an attack in itself, and
plain customer messages in those languages score high ("Bitte nicht den Nachbarn beliefern, sondern nur an mich
persoenlich." at 0.998 with that writer's examples left out). Each language's benign texts are weighted up so
that its attack-to-benign ratio is English's (by at most `MAX_LANGUAGE_WEIGHT`): the language alone says nothing.
Languages are told apart as the English reading does (`reading.language_of`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from . import examples as ex
from .reading import language_of

MAX_LANGUAGE_WEIGHT = 3.0
ENGLISH = "en"


def text_weights(development: Sequence[ex.Example]) -> np.ndarray:
    """Each development text's weight in fitting (module docstring)."""
    languages = [language_of(e.text) for e in development]
    counts = Counter(zip(languages, (e.label for e in development), strict=True))
    english = counts[(ENGLISH, ex.ATTACK)] / max(counts[(ENGLISH, ex.BENIGN)], 1)
    weights = np.ones(len(development), dtype=np.float64)
    for row, (example, language) in enumerate(zip(development, languages, strict=True)):
        if example.label != ex.BENIGN:
            continue
        if language != ENGLISH and english > 0:
            ratio = counts[(language, ex.ATTACK)] / max(counts[(language, ex.BENIGN)], 1)
            weights[row] = float(np.clip(ratio / english, 1.0, MAX_LANGUAGE_WEIGHT))
    return weights
