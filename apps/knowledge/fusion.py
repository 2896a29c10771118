"""Fusing the two retrievers, and fitting the fusion weight and the no-answer threshold to a knowledge base.

Both halves are put on an absolute scale, so a fused score means the same in
every search (a threshold on it can be calibrated):

- vector: the cosine similarity between query and chunk, clipped at 0;
- lexical: BM25 divided by the query's unreachable maximum (every term
  saturated, `LexicalQuery.max_score`), in [0, 1).

    fused = w * similarity + (1 - w) * bm25 / max_bm25

Every candidate of either retriever gets both scores (the missing one is
computed for it), so the combination is a real convex combination, not a
merge of two truncated lists. `w` (`RetrievalProfile.vector_weight`) and the
answer threshold are fitted per knowledge base by `fit_profile` from its own
documents: each title, heading and FAQ question is a query whose answer is its
own document; the weight that ranks those answers best wins (w = 0 and w = 1,
the two halves alone, are among the choices, so on that data fusion never loses
to either). The same queries with their own document left out are questions
the knowledge base cannot answer: the threshold is the lowest fused score that
no more than `KNOWLEDGE_FALSE_ANSWER_RATE` of those left-out questions reach.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

WEIGHT_GRID = tuple(round(i * 0.05, 2) for i in range(21))
# MRR differences below this are noise on a few hundred generated queries: prefer the balanced weight.
MRR_TIE = 0.005

# A token with both letters and digits ("TW-1001", "RET30", "X200") names something exactly.
_IDENTIFIER = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[^\W\d_])[^\W_]+(?:-[^\W_]+)*(?![\w-])")
_QUOTED = re.compile(r"\"([^\"]{2,80})\"")


@dataclass(frozen=True)
class Scored:
    """One candidate with both halves' scores (`similarity` None: the chunk has no comparable vector)."""

    chunk_id: int
    document_id: int
    similarity: float | None
    lexical: float

    def fused(self, vector_weight: float) -> float:
        return fused_score(similarity=self.similarity, lexical=self.lexical, vector_weight=vector_weight)


def fused_score(*, similarity: float | None, lexical: float, vector_weight: float) -> float:
    vector = max(similarity, 0.0) if similarity is not None else 0.0
    return vector_weight * vector + (1.0 - vector_weight) * lexical


def exact_terms(query: str) -> list[str]:
    """Identifier-shaped tokens and quoted phrases of the query: names a chunk must contain to be the hit."""
    found = [m.group(0) for m in _IDENTIFIER.finditer(query)]
    found.extend(m.group(1) for m in _QUOTED.finditer(query))
    return found


def rank(candidates: Sequence[Scored], *, vector_weight: float, pinned: frozenset[int] = frozenset()) -> list[Scored]:
    """Best first: chunks holding the query's exact terms (`pinned`) first, then by fused score;
    ties go to the higher similarity, then the lower id (stable)."""
    return sorted(
        candidates,
        key=lambda c: (
            c.chunk_id not in pinned,
            -c.fused(vector_weight),
            -(c.similarity if c.similarity is not None else -1.0),
            c.chunk_id,
        ),
    )


@dataclass(frozen=True)
class FitQuery:
    """A generated query, its answer document, and every candidate both retrievers returned for it.

    `candidates` holds the answer document only as its chunk with the query hidden from it (what the
    weight is fitted on: copied words would favour BM25); `present` holds the answer document's chunks
    as stored, as the search found them (what the threshold's answered side is scored on, against the
    same whole chunks as the left-out side)."""

    text: str
    document_id: int
    candidates: tuple[Scored, ...]
    present: tuple[Scored, ...] = ()


@dataclass(frozen=True)
class FitResult:
    vector_weight: float
    answer_threshold: float
    mrr_by_weight: dict[float, float]
    answered_rate: float
    refused_rate: float
    queries: int
    present_quantiles: tuple[float, ...] = ()
    left_out_quantiles: tuple[float, ...] = ()


QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def quantiles(values: Sequence[float]) -> tuple[float, ...]:
    ordered = sorted(values)
    return tuple(round(ordered[int(q * (len(ordered) - 1))], 4) for q in QUANTILES) if ordered else ()


def _reciprocal_rank(query: FitQuery, vector_weight: float) -> float:
    seen: list[int] = []
    for cand in rank(query.candidates, vector_weight=vector_weight):
        if cand.document_id not in seen:
            seen.append(cand.document_id)
            if cand.document_id == query.document_id:
                return 1.0 / len(seen)
    return 0.0


def choose_weight(queries: Sequence[FitQuery]) -> tuple[float, dict[float, float]]:
    """The grid weight with the best MRR on `queries`; near-ties go to the weight closest to 0.5."""
    mrr = {w: sum(_reciprocal_rank(q, w) for q in queries) / len(queries) for w in WEIGHT_GRID}
    best = max(mrr.values())
    contenders = [w for w in WEIGHT_GRID if mrr[w] >= best - MRR_TIE]
    return min(contenders, key=lambda w: (abs(w - 0.5), w)), mrr


def choose_threshold(
    positives: Sequence[float], negatives: Sequence[float], *, false_answer_rate: float
) -> tuple[float, float, float]:
    """(threshold, share of positives at or above it, share of negatives below it).

    The lowest score that no more than `false_answer_rate` of the negatives (questions whose
    answer was left out) reach: answer as much as possible while false answers stay under the
    bound. Only the left-out side places the cut: it is the same kind of question as a customer's
    that the knowledge base cannot answer (on the shared e-commerce set its scores matched real
    left-out questions' within 0.01 at every decile), while generated queries' answered side is
    biased whichever way it is scored (the answer stripped of the query's words is harder than any
    real answer; the answer as stored holds the query's very words). The positives are reported.
    """
    if not negatives:
        return 0.0, 1.0, 0.0
    ordered = sorted(negatives, reverse=True)
    allowed = int(false_answer_rate * len(ordered))  # how many negatives may reach it
    threshold = ordered[allowed] + 1e-9 if allowed < len(ordered) else 0.0
    answered = sum(p >= threshold for p in positives) / len(positives) if positives else 0.0
    refused = sum(n < threshold for n in negatives) / len(negatives)
    return threshold, answered, refused


def fit(queries: Sequence[FitQuery], *, false_answer_rate: float) -> FitResult:
    """Weight by MRR (answers hidden from their own words), then the threshold from each query's best
    score with its own document left out (`choose_threshold`). Reported beside it: the share of the
    queries whose answer, as stored, ranks first and reaches the threshold."""
    weight, mrr = choose_weight(queries)
    positives: list[float] = []
    negatives: list[float] = []
    for query in queries:
        ordered = rank(query.candidates, vector_weight=weight)
        others = [c for c in ordered if c.document_id != query.document_id]
        if others:
            negatives.append(others[0].fused(weight))
        answered = rank((*query.present, *others), vector_weight=weight) if query.present else ordered
        if answered and answered[0].document_id == query.document_id:
            positives.append(answered[0].fused(weight))
    threshold, answered, refused = choose_threshold(positives, negatives, false_answer_rate=false_answer_rate)
    return FitResult(
        vector_weight=weight,
        answer_threshold=threshold,
        mrr_by_weight=mrr,
        answered_rate=answered,
        refused_rate=refused,
        queries=len(queries),
        present_quantiles=quantiles(positives),
        left_out_quantiles=quantiles(negatives),
    )
