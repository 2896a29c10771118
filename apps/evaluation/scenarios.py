"""Scenario files: a conversation to play and what must be true afterwards.

One YAML file per scenario under `apps/evaluation/scenarios/` (see docs/specialists.md):

    name: order_cancel_confirmed          # unique; defaults to the file name
    description: Alice cancels her pending order and confirms.
    tags: [order, write, confirmation]
    customer: alice                        # a demo customer's username...
    # guest: {order: TW-100021, email: dana.guest@example.com}   # ...or a verified guest
    turns:
      - say: Please cancel order TW-100001
        route: order                       # expected route, or a list of acceptable ones (omit: not checked)
        tools: [cancel_order]              # these tool calls, in this order (others may come between)
        no_tools: [request_refund]         # none of these
        reply_contains: [TW-100001, "yes"] # case-insensitive substrings
        reply_not_contains: [cancelled]
      - advance_minutes: 20                # optional, before the message: the clock moves on
        say: "yes"
        tools: [cancel_order]
      - staff: hand_back                   # a step without a message: staff takes over and hands back
    expect:
      db:                                  # rows that must exist (count) with these field values
        - {model: order, where: {number: TW-100001}, fields: {status: cancelled}}
        - {model: ticket, where: {conversation: $conversation}, count: 1}
      unchanged: [refund, refund_approval] # these tables must not change at all

`$conversation` and `$customer` in `where` stand for the scenario's
conversation and customer. Models are named by the aliases in `MODELS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
STAFF_STEPS = ("hand_back",)
MODELS = {
    "order": "commerce.Order",
    "payment": "commerce.Payment",
    "refund": "commerce.Refund",
    "return_request": "commerce.ReturnRequest",
    "invoice": "commerce.Invoice",
    "audit_event": "commerce.AuditEvent",
    "refund_approval": "support.RefundApproval",
    "ticket": "support.Ticket",
    "escalation": "support.Escalation",
    "conversation": "conversations.Conversation",
    "pending_action": "agents.PendingAction",
}
# Money never moves in a chat: every scenario checks these are untouched, whatever it lists.
ALWAYS_UNCHANGED = ("refund",)


class ScenarioError(ValueError):
    """A scenario file is malformed."""


@dataclass(frozen=True)
class TurnSpec:
    say: str = ""
    route: tuple[str, ...] | None = None  # acceptable routes
    tools: tuple[str, ...] = ()
    no_tools: tuple[str, ...] = ()
    reply_contains: tuple[str, ...] = ()
    reply_not_contains: tuple[str, ...] = ()
    advance_minutes: int = 0
    staff: str = ""


@dataclass(frozen=True)
class DbCheck:
    model: str
    where: dict[str, Any]
    count: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    tags: tuple[str, ...]
    customer: str
    guest: dict[str, str] | None
    turns: tuple[TurnSpec, ...]
    db: tuple[DbCheck, ...]
    unchanged: tuple[str, ...]
    path: str = ""

    @property
    def messages(self) -> int:
        return sum(1 for t in self.turns if t.say)


_TURN_KEYS = {"say", "route", "tools", "no_tools", "reply_contains", "reply_not_contains", "advance_minutes", "staff"}
_TOP_KEYS = {"name", "description", "tags", "customer", "guest", "turns", "expect"}


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return tuple(str(v) for v in value)
    raise ScenarioError(f"{where}: expected a string or a list of strings")


def parse(data: dict[str, Any], *, default_name: str = "", path: str = "") -> Scenario:
    where = path or default_name or "scenario"
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: not a mapping")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}")
    name = str(data.get("name") or default_name)
    customer = str(data.get("customer") or "")
    guest = data.get("guest")
    if bool(customer) == bool(guest):
        raise ScenarioError(f"{where}: give exactly one of customer or guest")
    if guest is not None and (not isinstance(guest, dict) or set(guest) != {"order", "email"}):
        raise ScenarioError(f"{where}: guest needs exactly order and email")
    turns = []
    for index, raw in enumerate(data.get("turns") or [], start=1):
        if not isinstance(raw, dict) or set(raw) - _TURN_KEYS:
            raise ScenarioError(f"{where}: turn {index} has unknown keys or is not a mapping")
        staff = str(raw.get("staff") or "")
        if staff and staff not in STAFF_STEPS:
            raise ScenarioError(f"{where}: turn {index}: unknown staff step {staff!r}")
        if not raw.get("say") and not staff:
            raise ScenarioError(f"{where}: turn {index} has neither say nor staff")
        turns.append(
            TurnSpec(
                say=str(raw.get("say") or ""),
                route=_strings(raw["route"], f"{where} turn {index} route") if raw.get("route") else None,
                tools=_strings(raw.get("tools"), f"{where} turn {index} tools"),
                no_tools=_strings(raw.get("no_tools"), f"{where} turn {index} no_tools"),
                reply_contains=_strings(raw.get("reply_contains"), f"{where} turn {index} reply_contains"),
                reply_not_contains=_strings(raw.get("reply_not_contains"), f"{where} turn {index} reply_not_contains"),
                advance_minutes=int(raw.get("advance_minutes") or 0),
                staff=staff,
            )
        )
    if not turns:
        raise ScenarioError(f"{where}: no turns")
    expect = data.get("expect") or {}
    checks = []
    for raw in expect.get("db") or []:
        model = raw.get("model")
        if model not in MODELS:
            raise ScenarioError(f"{where}: unknown model {model!r} (use one of {', '.join(MODELS)})")
        count = raw.get("count")
        checks.append(
            DbCheck(
                model=model,
                where=dict(raw.get("where") or {}),
                count=int(count) if count is not None else None,
                fields=dict(raw.get("fields") or {}),
            )
        )
    unchanged = _strings(expect.get("unchanged"), f"{where} unchanged")
    for model in unchanged:
        if model not in MODELS:
            raise ScenarioError(f"{where}: unknown model {model!r} in unchanged")
    return Scenario(
        name=name,
        description=str(data.get("description") or ""),
        tags=_strings(data.get("tags"), f"{where} tags"),
        customer=customer,
        guest=dict(guest) if guest else None,
        turns=tuple(turns),
        db=tuple(checks),
        unchanged=tuple(dict.fromkeys((*ALWAYS_UNCHANGED, *unchanged))),
        path=path,
    )


def load_scenarios(directory: Path = SCENARIOS_DIR, *, only: str = "") -> list[Scenario]:
    """Every scenario, sorted by name; `only` keeps names (or tags) containing it, comma-separated."""
    scenarios = []
    for path in sorted(directory.glob("*.y*ml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        scenarios.append(parse(data, default_name=path.stem, path=str(path.name)))
    names = [s.name for s in scenarios]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ScenarioError(f"duplicate scenario names: {sorted(duplicates)}")
    if only:
        wanted = [w.strip() for w in only.split(",") if w.strip()]
        scenarios = [s for s in scenarios if any(w == s.name or w in s.name or w in s.tags for w in wanted)]
    return sorted(scenarios, key=lambda s: s.name)
