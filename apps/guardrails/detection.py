"""Injection detection: the rule scorer (injection.py) and the learned detector (detector/) combined.

The two are read side by side and the more suspicious wins. The learned
probability is mapped onto the rule scale so that one threshold
(`GUARDRAILS_INJECTION_THRESHOLD`) governs both: the detector's calibrated
threshold lands exactly on it, lower probabilities below it, higher above.
If the learned detector cannot run (the embedder fails to load), the rules
still decide and the verdict says so (`detail["learned"] is None`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from .conf import GuardrailSettings
from .injection import score_injection

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InjectionDecision:
    tripped: bool
    score: float
    detail: dict[str, Any]


def on_rule_scale(probability: float, *, learned_threshold: float, threshold: float) -> float:
    """Piecewise-linear map of [0, learned_threshold, 1] onto [0, threshold, 1]."""
    if probability >= learned_threshold:
        if learned_threshold >= 1.0:
            return 1.0
        return threshold + (probability - learned_threshold) / (1.0 - learned_threshold) * (1.0 - threshold)
    return probability / learned_threshold * threshold if learned_threshold > 0 else threshold


def injection_embedding_texts(text: str, *, cfg: GuardrailSettings) -> list[str]:
    """The texts the learned detector embeds when `check_input` reads this customer message, so a turn can
    embed them in one batch with its other texts. Empty when the detector is off, and for a message with
    more views than the detector embeds: which of those it embeds, only its own cheap scores decide."""
    if not cfg.injection_learned:
        return []
    from .detector.model import EMBED_VIEWS, views
    from .text import clean

    cleaned = clean(text[: cfg.max_input_chars])
    found = views(cleaned.text) + views(cleaned.hidden_text)
    return found if len(found) <= EMBED_VIEWS else []


# Documents and tool results read like instructions far more often than customer messages do
# (privacy policies, help articles): there the learned detector alone needs near-certainty.
UNTRUSTED_LEARNED_FLOOR = 0.99


def detect_injection(
    text: str, *, hidden_text: str, cfg: GuardrailSettings, learned_floor: float = 0.0
) -> InjectionDecision:
    rules = score_injection(text, hidden_text=hidden_text)
    detail: dict[str, Any] = {"rules": list(rules.rules), "threshold": cfg.injection_threshold}
    score = rules.score
    if cfg.injection_learned:
        try:
            from .detector import learned_score

            learned = learned_score(text, hidden_text=hidden_text)
        except Exception:  # a broken model must not take the rules down with it
            logger.exception("learned injection detector failed; rules only")
            detail["learned"] = None
        else:
            learned_threshold = max(learned.threshold, learned_floor)
            mapped = on_rule_scale(
                learned.probability, learned_threshold=learned_threshold, threshold=cfg.injection_threshold
            )
            detail["learned"] = round(learned.probability, 4)
            detail["learned_threshold"] = round(learned_threshold, 4)
            score = max(score, mapped)
    return InjectionDecision(tripped=score >= cfg.injection_threshold, score=score, detail=detail)
