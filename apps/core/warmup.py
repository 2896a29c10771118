"""Load the models a turn needs when a worker starts, not when the first customer writes.

Without this, the first message after `make run` (or a deploy) waited ~11 s while the worker imported
sentence-transformers, loaded the embedding model and the route classifier. `warm_models()` runs once per
turn worker process (`apps.agents.turn_worker.serve`) before it reads its first turn; each step is
optional (an app that is not installed is skipped) and a failure is logged, never fatal: the model then
loads on first use as before.
"""

from __future__ import annotations

import importlib
import logging
import time

logger = logging.getLogger(__name__)


def _import_runtime() -> None:
    importlib.import_module("apps.agents.turns")  # pydantic-ai and the provider SDKs


def _route_classifier() -> None:
    from apps.agents.routing.classifier import get_classifier

    get_classifier().report  # noqa: B018 -- loading (or training) is the point


def _agent_embedder() -> None:
    from apps.agents.offline.embedder import embed

    embed(["warm up"])


def _token_counter() -> None:
    from apps.agents.accounting import count_tokens

    count_tokens("warm up")  # builds the o200k encoding (seconds of CPU) before the first turn


def _knowledge_embedder() -> None:
    from apps.knowledge.embeddings import embed_query

    embed_query("warm up")


def _language_identifier() -> None:
    from apps.agents.understanding.language import detect_language

    detect_language("warm up")  # py3langid's model (an LZMA file) and the glossaries (YAML): ~0.8 s of CPU


def _injection_detector() -> None:
    from apps.guardrails.detector.model import get_weights
    from apps.guardrails.detector.reading import language_of

    get_weights()
    language_of("warm up")  # its language identifier: the model file is read once at start, not during a turn


def _intent_classifiers() -> None:
    from apps.agents.understanding import intents

    for examples in sorted(intents.EXAMPLES_DIR.glob("*.yaml")):
        intents.get_intent_classifier(examples.stem)


def _specialist_tools() -> None:
    from apps.agents.local_run import _agent_tools
    from apps.agents.registry import SPECIALISTS

    for spec in SPECIALISTS.values():
        _agent_tools(spec)  # each tool's pydantic-ai schema and validator


WARMERS = (
    ("agent runtime", _import_runtime),
    ("route classifier", _route_classifier),
    ("agent embedder", _agent_embedder),
    ("knowledge embedder", _knowledge_embedder),
    ("token counter", _token_counter),
    ("language identifier", _language_identifier),
    ("injection detector", _injection_detector),
    ("intent classifiers", _intent_classifiers),
    ("specialist tools", _specialist_tools),
)


def warm_models() -> dict[str, float]:
    """Seconds each warmer took (absent when it was skipped or failed)."""
    took: dict[str, float] = {}
    for name, warm in WARMERS:
        started = time.perf_counter()
        try:
            warm()
        except ImportError as exc:
            logger.info("warm-up: %s skipped (%s)", name, exc)
            continue
        except Exception:  # warming is an optimisation; the model loads on first use instead
            logger.warning("warm-up: %s failed; it will load on first use", name, exc_info=True)
            continue
        took[name] = time.perf_counter() - started
    logger.info("warm-up done: %s", ", ".join(f"{k} {v:.1f}s" for k, v in took.items()))
    return took
