"""The learned injection detector (see model.py, training.py and docs/guardrails.md)."""

from .model import LearnedScore, get_weights, learned_score, scores

__all__ = ["LearnedScore", "get_weights", "learned_score", "scores"]
