"""The guardrails' vocabulary: what a check returns and what it is told about the customer."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """What the caller must do with the text. Ordered from mild to severe."""

    ALLOW = "allow"
    MASK = "mask"  # the text was changed (masked, stripped); use the returned text
    BLOCK = "block"  # do not send the text to a model / do not show the reply
    ESCALATE = "escalate"  # block, and hand the conversation to a person

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Action.ALLOW: 0, Action.MASK: 1, Action.BLOCK: 2, Action.ESCALATE: 3}


@dataclass(frozen=True, slots=True)
class GuardrailVerdict:
    """One check's outcome. `detail` never holds the personal data the check found:
    verdicts are written to traces and logs."""

    name: str
    tripped: bool
    action: Action
    score: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)
    latency_ms: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.tripped

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, the shape recorded as a trace span's attributes."""
        return {
            "name": self.name,
            "passed": self.passed,
            "action": self.action.value,
            "score": round(self.score, 4),
            "detail": self.detail,
            "latency_ms": round(self.latency_ms, 3),
        }


@dataclass(frozen=True, slots=True)
class GuardrailContext:
    """What the checks may know about the conversation. Everything here is the
    session's own customer: identifiers found in text that are not listed here
    belong to someone else.

    - `emails`, `order_numbers`, `phones`, `names`: the customer's own identifiers
      (a verified guest: the one order and the email they verified with).
    - `customer_text`: what the customer wrote in this conversation; a reply may
      repeat an identifier the customer typed without leaking anything.
    - `system_prompts`: the prompts the model was given this turn (leak check).
    - `refunded_orders`: orders whose refund really was executed (a tool said so),
      so the reply may say the money was refunded.
    - `grounding`: this turn's tool results and retrieved excerpts. A phrase the
      promise check would stop ("30-day money-back guarantee") is allowed when the
      shop's own data says it.
    - `injection_strikes`: earlier tripped messages in this conversation.
    """

    emails: frozenset[str] = frozenset()
    order_numbers: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    customer_text: str = ""
    system_prompts: tuple[str, ...] = ()
    refunded_orders: frozenset[str] = frozenset()
    grounding: str = ""
    injection_strikes: int = 0

    @classmethod
    def build(
        cls,
        *,
        emails: object = (),
        order_numbers: object = (),
        phones: object = (),
        names: object = (),
        customer_text: str = "",
        system_prompts: object = (),
        refunded_orders: object = (),
        grounding: object = "",
        injection_strikes: int = 0,
    ) -> GuardrailContext:
        """Normalising constructor: any iterables, blanks dropped, emails lower-cased,
        order numbers upper-cased, phones reduced to digits."""
        return cls(
            emails=frozenset(e.strip().lower() for e in _iter(emails) if e and e.strip()),
            order_numbers=frozenset(n.strip().upper().lstrip("#") for n in _iter(order_numbers) if n and n.strip()),
            phones=frozenset(d for d in (_digits(p) for p in _iter(phones)) if len(d) >= 6),
            names=frozenset(n.strip() for n in _iter(names) if n and n.strip()),
            customer_text=customer_text or "",
            system_prompts=tuple(p for p in _iter(system_prompts) if p),
            refunded_orders=frozenset(n.strip().upper().lstrip("#") for n in _iter(refunded_orders) if n),
            grounding="\n".join(_iter(grounding)),
            injection_strikes=injection_strikes,
        )


def _iter(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]  # type: ignore[attr-defined]


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _worst(verdicts: list[GuardrailVerdict] | tuple[GuardrailVerdict, ...]) -> Action:
    action = Action.ALLOW
    for verdict in verdicts:
        if verdict.action.severity > action.severity:
            action = verdict.action
    return action


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The checked text and every verdict; the worst verdict decides the action."""

    text: str
    verdicts: tuple[GuardrailVerdict, ...]

    @property
    def action(self) -> Action:
        return _worst(self.verdicts)

    @property
    def blocked(self) -> bool:
        return self.action.severity >= Action.BLOCK.severity

    @property
    def escalate(self) -> bool:
        return self.action is Action.ESCALATE

    def verdict(self, name: str) -> GuardrailVerdict:
        return next(v for v in self.verdicts if v.name == name)


@dataclass(frozen=True, slots=True)
class InputResult(CheckResult):
    """`text` is what may be sent to a model or written to a log (never the raw input)."""


@dataclass(frozen=True, slots=True)
class OutputResult(CheckResult):
    """`text` is what may be shown to the customer: the reply, cleaned, or a safe
    replacement when the reply was blocked (`blocked` tells which)."""
