"""Which messages the turn runs as a plan, and in what order: the bridge between the planner and the turn.

A message is planned only when it asks two or more things that specialists
answer (an explicit request for a person, or a piece no specialist answers,
sends the whole message through the router as before). Reads run together; of
several writes, only the first runs this turn, because each write waits for its
own yes: the reply names the others so the customer can ask for them next,
one clear confirmation at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.agents.understanding.intents import SPECIALISTS
from apps.agents.understanding.planner import Plan, Step, plan_message, split_pieces


@dataclass(frozen=True)
class TurnPlan:
    plan: Plan
    run: tuple[Step, ...]  # in the message's order
    deferred: tuple[Step, ...]  # writes after the first: asked for again by the customer

    def deferred_note(self) -> str:
        if not self.deferred:
            return ""
        asks = "; ".join(f'"{s.text.strip(" ?.!")}"' for s in self.deferred)
        return (
            "Changes need your confirmation one at a time, so I've started with the first one. "
            f"Once it's settled, send me the next one again: {asks}."
        )


def plan_for_turn(text: str) -> TurnPlan | None:
    """The plan to run for this message, or None to answer it as one request."""
    if len(split_pieces(text)) < 2:
        return None  # most messages: nothing to classify twice
    plan = plan_message(text)
    if not plan.is_multi or any(s.route not in SPECIALISTS for s in plan.steps):
        return None
    run: list[Step] = []
    deferred: list[Step] = []
    for step in plan.steps:
        if step.is_write and any(s.is_write for s in run):
            deferred.append(step)
        else:
            run.append(step)
    return TurnPlan(plan=plan, run=tuple(run), deferred=tuple(deferred))
