"""Prompt-injection and jailbreak scoring: weighted patterns, combined as a noisy-OR.

Each rule (`injection_rules.RULES`) is evidence with a weight in (0, 1); the score is
`1 - prod(1 - weight)` over the rules that matched, so one unambiguous phrase
("ignore all previous instructions") trips the threshold alone while words that
also appear in ordinary messages ("role-play", "system prompt", "jailbreak") need
company. Rules read the folded text (lower case, no accents, look-alikes mapped),
except delimiter rules, which read the cleaned text as written.

A detector like this is a tripwire, not the security boundary: a hijacked model
can still only act as the session's customer (see docs/guardrails.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from .injection_rules import RULES, Rule
from .obfuscation import decoded_payloads, deobfuscate
from .text import fold

__all__ = ["RULES", "InjectionScore", "Rule", "decoded_payloads", "deobfuscate", "score_injection"]

_HIDDEN_WEIGHT = 0.9
_ENCODED_WEIGHT = 0.3
_MAX_DEPTH = 2


@dataclass(frozen=True, slots=True)
class InjectionScore:
    score: float
    rules: tuple[str, ...]


def score_injection(text: str, *, hidden_text: str = "", only: frozenset[str] | None = None) -> InjectionScore:
    """Score `text` (already cleaned of invisible characters). `hidden_text` is
    whatever the cleaner decoded from Unicode tag characters: its mere presence is
    evidence, and its content is scored like the rest. `only`: read just these rules
    (a window of a longer text that tripped them; the rest cannot match in a part)."""
    matched: dict[str, float] = {}
    _collect(text, matched, depth=0, only=only)
    if hidden_text.strip():
        matched["encoded.hidden_tags"] = _HIDDEN_WEIGHT
        _collect(hidden_text, matched, depth=1, only=only)
    remaining = 1.0
    for weight in matched.values():
        remaining *= 1.0 - weight
    return InjectionScore(score=1.0 - remaining, rules=tuple(sorted(matched)))


def _collect(text: str, matched: dict[str, float], *, depth: int, only: frozenset[str] | None = None) -> None:
    folded = fold(text)
    variants = [folded]
    plain = deobfuscate(folded)
    if plain != folded:
        variants.append(plain)
    for rule in RULES:
        if rule.id in matched or (only is not None and rule.id not in only):
            continue
        if rule.raw:
            hit = rule.pattern.search(text) is not None
        else:
            hit = any(rule.pattern.search(variant) for variant in variants)
        if hit:
            matched[rule.id] = rule.weight
    if depth >= _MAX_DEPTH:
        return
    for decoded in decoded_payloads(text):
        matched.setdefault("encoded.payload", _ENCODED_WEIGHT)
        _collect(decoded, matched, depth=depth + 1, only=only)
