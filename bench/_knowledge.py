"""Shared helpers for the knowledge benchmarks (run through `python -m config.devstack bench`)."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    if os.environ.get("SWITCHBOARD_SHARED_DIR"):
        return Path(os.environ["SWITCHBOARD_SHARED_DIR"])
    # ../shared beside the checkout (a worktree in a folder of its own: two levels up).
    candidates = [ROOT.parent / "shared", ROOT.parent.parent / "shared"]
    return next((path for path in candidates if path.is_dir()), candidates[0])


def faq_path() -> Path:
    return shared_dir() / "datasets" / "retrieval" / "ecommerce_faq.json"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def p50_p95(values_ms: list[float]) -> str:
    return f"p50 {statistics.median(values_ms):7.2f} ms   p95 {percentile(values_ms, 0.95):7.2f} ms"


def reset_knowledge(*, keep_cache: bool = True) -> None:
    """Benchmarks own the bench database's knowledge tables."""
    from apps.knowledge.models import (
        Chunk,
        Document,
        EmbeddingCache,
        KnowledgeSource,
        Posting,
        RetrievalProfile,
        Term,
        UnansweredQuestion,
    )

    Posting.objects.all().delete()
    Term.objects.all().delete()
    Chunk.objects.all().delete()
    Document.objects.all().delete()
    KnowledgeSource.objects.all().delete()
    RetrievalProfile.objects.all().delete()
    UnansweredQuestion.objects.all().delete()
    if not keep_cache:
        EmbeddingCache.objects.all().delete()
