"""Which messages the turn runs as a plan, and in what order: the bridge between the planner and the turn.

A message is planned only when it asks two or more things that specialists
answer; a piece no specialist answers sends the whole message through the
router as before, and a piece that asks for a person gets the customer a person
(the same clause check as the router's, `routing.person`), whatever the rest
asks, unless the message as a whole asks how to reach the shop. Every step runs,
in the message's order; several writes are held side by side and confirmed
together by one yes, with one question that lists them all
(`apps.agents.pending_requests`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from apps.agents.routing.person import asks_how_to_reach
from apps.agents.understanding.intents import SPECIALISTS
from apps.agents.understanding.planner import Plan, Step, plan_message, refers_back, route_pieces, split_pieces

__all__ = ["PLAN_EARLIER", "PLAN_MESSAGE", "TurnPlan", "earlier_steps", "plan_for_turn"]

HUMAN = "human"
# deps.facts key: the texts of the plan's earlier steps a step points back at (`planner.refers_back`), read by the local
# model as said just before the step.
PLAN_EARLIER = "plan_earlier"
# deps.facts key: the whole message while one of its steps runs (the help center reads what a step's part of it is
# about in the light of the rest: "the blanket went on sale the day after" + "can i get the difference back?").
PLAN_MESSAGE = "plan_message"


@dataclass(frozen=True)
class TurnPlan:
    plan: Plan
    run: tuple[Step, ...]  # in the message's order
    asks_for_person: bool = False  # a piece asks for a person: the turn hands over instead of running the plan


def plan_for_turn(text: str, *, conversation: Any = None) -> TurnPlan | None:
    """The plan to run for this message, or None to answer it as one request. With the conversation, a piece that
    names the session's own item is routed as the router would route it ("wheres my backpack and did the earbuds
    ship": two order steps, not a refusal)."""
    if len(split_pieces(text)) < 2:
        return None  # most messages: nothing to classify twice
    plan = plan_message(text, route=functools.partial(route_pieces, conversation=conversation))
    if not plan.is_multi:
        return None
    if any(s.asks_for_person for s in plan.steps):
        if asks_how_to_reach(text):
            # "are you open on sundays? i might need to talk to someone then": as a whole, it asks when people are
            # there (the learned `human` intents), so the help center answers it as one request
            return None
        return TurnPlan(plan=plan, run=(), asks_for_person=True)
    if any(s.route not in SPECIALISTS for s in plan.steps):
        return None
    return TurnPlan(plan=plan, run=plan.steps)


def earlier_steps(run: tuple[Step, ...], position: int) -> list[str]:
    """The texts of the steps before `run[position]` that it points back at (`planner.refers_back`): the one before,
    when the step says "it" and names nothing of its own; the local model reads them as said just before the step."""
    if position < 1 or not refers_back(run[position - 1], run[position]):
        return []
    return [run[position - 1].text]
