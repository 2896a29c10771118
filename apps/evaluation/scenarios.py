"""Scenario files: a conversation to play and what must be true afterwards.

One YAML file per scenario, in one of three folders (the suite's portions, see
docs/specialists.md and apps/evaluation/README.md):

- `scenarios/` (`tuned`): must all pass on the local model (`make test` fails otherwise);
- `scenarios_backlog/` (`backlog`): customer-first scenarios of the tuned set that do not
  pass yet; reported apart, not required; a scenario moves to `scenarios/` once it passes;
- `scenarios_heldout/` (`heldout`): kept apart so nobody tunes against it; reported, never required.

A file looks like this:

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
        reply_contains: [TW-100001, "yes"] # substrings; case and "-" vs " " are ignored
        reply_not_contains: [cancelled]
        cites: [Return policy]             # help-center sources listed under the reply ([]: none may be)
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

Quote a `say` text that contains ` #`: unquoted, YAML reads the rest of the line as a
comment and the message is silently cut, so the loader refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_HERE = Path(__file__).resolve().parent
SCENARIOS_DIR = _HERE / "scenarios"
BACKLOG_DIR = _HERE / "scenarios_backlog"
HELDOUT_DIR = _HERE / "scenarios_heldout"
# The suite's portions, in report order: name -> folder.
PORTIONS: dict[str, Path] = {"tuned": SCENARIOS_DIR, "backlog": BACKLOG_DIR, "heldout": HELDOUT_DIR}
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
    cites: tuple[str, ...] | None = None  # substrings of the sources listed under the reply; () = no sources


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
    portion: str = "tuned"

    @property
    def messages(self) -> int:
        return sum(1 for t in self.turns if t.say)


_TURN_KEYS = {
    "say",
    "route",
    "tools",
    "no_tools",
    "reply_contains",
    "reply_not_contains",
    "cites",
    "advance_minutes",
    "staff",
}
_TOP_KEYS = {"name", "description", "tags", "customer", "guest", "turns", "expect"}


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return tuple(str(v) for v in value)
    raise ScenarioError(f"{where}: expected a string or a list of strings")


def parse(data: dict[str, Any], *, default_name: str = "", path: str = "", portion: str = "tuned") -> Scenario:
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
                cites=_strings(raw.get("cites"), f"{where} turn {index} cites") if "cites" in raw else None,
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
        portion=portion,
    )


_COMMENT_AFTER = re.compile(r"[ \t]+#")


def _cut_say_texts(root: yaml.Node, lines: list[str]) -> list[str]:
    """Turns whose unquoted `say` text is followed by ` #` on its line: YAML took the rest for a comment."""
    problems: list[str] = []
    if not isinstance(root, yaml.MappingNode):
        return problems
    turns = next((value for key, value in root.value if getattr(key, "value", None) == "turns"), None)
    if not isinstance(turns, yaml.SequenceNode):
        return problems
    for index, turn in enumerate(turns.value, start=1):
        if not isinstance(turn, yaml.MappingNode):
            continue
        for key, value in turn.value:
            if getattr(key, "value", None) != "say" or not isinstance(value, yaml.ScalarNode) or value.style:
                continue
            end = value.end_mark
            rest = lines[end.line][end.column :] if end.line < len(lines) else ""
            if _COMMENT_AFTER.match(rest):
                problems.append(
                    f"line {end.line + 1}: turn {index}: the say text is cut at ' #' (YAML reads the rest as a "
                    f"comment); quote the whole text"
                )
    return problems


def read_scenario_file(path: Path, *, portion: str = "tuned") -> Scenario:
    """One scenario file, parsed and checked; every problem is a `ScenarioError` naming the file (and line)."""
    label = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{label}: cannot be read ({exc})") from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{label}:{mark.line + 1}:{mark.column + 1}" if mark is not None else label
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = f"{problem} ({context})" if context else problem
        raise ScenarioError(f"{where}: not valid YAML: {detail}") from None
    if root is not None:
        problems = _cut_say_texts(root, text.splitlines())
        if problems:
            raise ScenarioError(f"{label}: " + "; ".join(problems))
    return parse(data, default_name=path.stem, path=label, portion=portion)


def _filter(scenarios: list[Scenario], only: str) -> list[Scenario]:
    if not only:
        return scenarios
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    return [s for s in scenarios if any(w == s.name or w in s.name or w in s.tags for w in wanted)]


def _check_unique(scenarios: list[Scenario]) -> None:
    names = [s.name for s in scenarios]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ScenarioError(f"duplicate scenario names: {sorted(duplicates)}")


def _read_folder(directory: Path, portion: str) -> list[Scenario]:
    return [read_scenario_file(path, portion=portion) for path in sorted(directory.glob("*.y*ml"))]


def load_scenarios(directory: Path = SCENARIOS_DIR, *, only: str = "", portion: str = "tuned") -> list[Scenario]:
    """Every scenario of one folder (default: the tuned portion), sorted by name; `only` keeps names (or tags)
    containing it, comma-separated."""
    scenarios = _read_folder(directory, portion)
    _check_unique(scenarios)
    return sorted(_filter(scenarios, only), key=lambda s: s.name)


def load_suite(portions: Iterable[str] = tuple(PORTIONS), *, only: str = "") -> list[Scenario]:
    """The scenarios of the named portions, grouped by portion (in `PORTIONS` order) and sorted by name.

    Names are unique across all three folders whichever portions are asked for, so a scenario
    moved between folders is never played twice under one name.
    """
    wanted = list(portions)
    unknown = [p for p in wanted if p not in PORTIONS]
    if unknown:
        raise ScenarioError(f"unknown portion(s) {unknown} (use {', '.join(PORTIONS)})")
    every = {portion: _read_folder(folder, portion) for portion, folder in PORTIONS.items()}
    _check_unique([s for scenarios in every.values() for s in scenarios])
    chosen: list[Scenario] = []
    for portion in PORTIONS:
        if portion in wanted:
            chosen.extend(sorted(_filter(every[portion], only), key=lambda s: s.name))
    return chosen
