"""The router's task gate: a request for a task the shop does not do, whatever of the shop's things it names.

"write me a poem about my espresso machine" is, to a classifier of topics, a message about an espresso machine: the
product words outweigh the one word that says what is asked. The route classifier's examples are about topics, so
adding poems to its `out_of_scope` examples moves its boundaries between the specialists too. The gate is a second,
binary classifier on the same features (the router's embedding and character n-grams): `task` examples
(`tasks.yaml`: write, code, compute, cook, teach, play, often naming the shop's things) against every in-scope
example of the routes plus `support` examples that use the same words ("the discount code isn't working", "explain
the return policy"). Both sides name the same things, so what tells them apart is the task. It is trained and cached
with the route classifier (the same digest), and it only ever refuses: when it is surer than `threshold` (chosen on
its own out-of-fold predictions for a precision of `MIN_PRECISION`), the message is `out_of_scope`, and neither the
settling of unclear refusals nor the reading of the customer's own items takes it back
(`Prediction.task`). Held out, never trained on: `understanding/heldout/task.yaml`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from apps.agents.offline import learned_classifier as learned
from apps.agents.understanding.vocabulary import EVERYDAY_NOUNS, NOUN_SYNONYMS

TASKS_FILE = Path(__file__).resolve().parent / "tasks.yaml"
SUPPORT, TASK = "support", "task"
# Refusing a real customer costs more than answering a poem request with order details: the gate refuses only where
# its out-of-fold refusals were right this often.
MIN_PRECISION = 0.98
_FOLDS = 5
_REGRESSION = learned.Regression(c=4.0, max_iter=3000)
_LEXICAL_WEIGHT = 0.5


_NEUTRAL_NOUN = "item"
_WORD_RE = re.compile(r"[A-Za-z]+")


@lru_cache(maxsize=1)
def _product_words() -> tuple[frozenset[str], re.Pattern[str]]:
    nouns = {noun for noun in NOUN_SYNONYMS if " " not in noun}
    nouns.update(s for synonyms in NOUN_SYNONYMS.values() for s in synonyms if " " not in s)
    phrases = sorted({s for synonyms in NOUN_SYNONYMS.values() for s in synonyms if " " in s}, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in phrases) + r")\b", re.IGNORECASE)
    return frozenset(nouns - EVERYDAY_NOUNS), pattern


def without_product_nouns(text: str) -> str:
    """The text with the shop's product nouns, as spelled in its vocabulary (plurals too), made one neutral noun:
    what the gate reads, so that "raincoat" says nothing about the task ("and what about the raincoat" and "draw a
    dog in a raincoat" differ only in what is asked). No fuzzy spellings: "wedding" is not "bedding"."""
    nouns, phrases = _product_words()

    def neutral(m: re.Match[str]) -> str:
        word = m.group(0).lower()
        singular = word[:-2] if word.endswith("es") and word[:-2] in nouns else word.rstrip("s")
        return _NEUTRAL_NOUN if word in nouns or singular in nouns else m.group(0)

    out = _WORD_RE.sub(neutral, phrases.sub(_NEUTRAL_NOUN, text))
    return re.sub(rf"\b{_NEUTRAL_NOUN}(?:\s+{_NEUTRAL_NOUN})+\b", _NEUTRAL_NOUN, out)


def neutral_views(texts: list[str], vectors: np.ndarray, embed: Callable[[list[str]], np.ndarray]) -> tuple:
    """`texts` (normalised) with their product nouns made neutral, and their vectors: those of `vectors` where
    nothing changed, `embed`'s for the others."""
    neutral = [without_product_nouns(t) for t in texts]
    changed = [i for i, (a, b) in enumerate(zip(texts, neutral, strict=True)) if a != b]
    out = np.array(vectors, copy=True)
    if changed:
        out[changed] = embed([neutral[i] for i in changed])
    return neutral, out


@dataclass(frozen=True)
class TaskExamples:
    tasks: list[str]
    support: list[str]


def load_task_examples(path: Path = TASKS_FILE) -> TaskExamples:
    """`task:` and `support:` of the gate's file, each `{group: [messages]}`."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return TaskExamples(
        tasks=[str(m) for group in data[TASK].values() for m in group],
        support=[str(m) for group in data[SUPPORT].values() for m in group],
    )


@dataclass
class TaskReport:
    tasks: int
    support: int
    threshold: float
    oof_recall: float  # share of the task examples the gate refuses out of fold
    oof_support_refused: int  # support examples it refuses out of fold


class TaskGate(learned.LearnedClassifier):
    """Fitted with `TaskGate.train(...)`; `task_probabilities(vectors, texts)` per message."""

    def __init__(self, *, fit: learned.CalibratedFit, threshold: float, report: TaskReport) -> None:
        super().__init__(fit=fit, classes=[SUPPORT, TASK])
        self.threshold = threshold
        self.report = report

    @classmethod
    def train(cls, vectors: np.ndarray, texts: list[str], is_task: np.ndarray) -> TaskGate:
        """`vectors` and `texts` (as `learned.normalise` left them) of every example; `is_task` says which are."""
        labels = is_task.astype(int)
        fit = learned.fit_calibrated(
            vectors,
            texts,
            labels,
            classes=2,
            folds=_FOLDS,
            regression=_REGRESSION,
            lexical_weight=_LEXICAL_WEIGHT,
        )
        oof = learned.softmax(fit.oof_logits, fit.temperature)[:, 1]
        threshold = max(0.5, learned.precision_threshold(oof, labels == 1, MIN_PRECISION))
        refused = oof >= threshold
        report = TaskReport(
            tasks=int(labels.sum()),
            support=int((labels == 0).sum()),
            threshold=round(threshold, 4),
            oof_recall=round(float(refused[labels == 1].mean()), 4),
            oof_support_refused=int(refused[labels == 0].sum()),
        )
        return cls(fit=fit, threshold=threshold, report=report)

    def task_probabilities(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        return self.probabilities(vectors, texts)[:, 1]
