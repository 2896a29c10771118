"""Tokens per turn of the two LLM modes: the plain specialist and plan-then-solve, on the fake wire server.

The specialists run on `openai:gpt-4.1-mini` pointed at `tests/fakes/llm_server.py`, which answers from a script
(the tool calls and texts a good model would give) and reports usage counted on what was really sent and answered
(`count_tokens`: the request's messages, instructions and tool definitions; the reply's text and tool calls, with
the o200k tokenizer of `apps.agents.accounting`). The router stays local. Per message and mode: model requests,
input, output and total tokens of the turn (from its trace).

- plain: the turn's planner is off; one specialist answers the whole message with its own tools;
- plan: a message asking several things is planned (`turn_plan`), each step's specialist runs on its own piece.

Run: `.venv/bin/python -m config.devstack bench bench/bench_plan_tokens.py` (demo data of its own).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
django.setup()

from django.conf import settings  # noqa: E402

from apps.agents import turns  # noqa: E402
from apps.agents.accounting import count_tokens  # noqa: E402
from apps.commerce.models import Customer  # noqa: E402
from apps.conversations.models import Conversation, MessageRole, MessageStatus  # noqa: E402
from apps.conversations.services import message_create  # noqa: E402
from apps.evaluation.runner import prepare_demo_data  # noqa: E402
from apps.observability.models import Trace  # noqa: E402
from tests.fakes.llm_server import FakeLLMServer, Reply, text, tool_calls  # noqa: E402

TRACK = "Where is TW-100003?"
TWO = "Where is TW-100003, and can you email me the invoice for TW-100004?"
TRACKED = (
    "Order TW-100003 is with FedEx, tracking number 893004288625: in transit, expected in two days. "
    "The latest scan is at the sorting facility."
)
CONFIRM = "I can email the invoice for order TW-100004 to the address on your account: reply yes to send it."
# What a good model does with each message, mode by mode (one reply per model request).
SCRIPTS: dict[tuple[str, str], list[Reply]] = {
    ("plain", TRACK): [tool_calls(("track_shipment", {"order_number": "TW-100003"})), text(TRACKED)],
    ("plan", TRACK): [tool_calls(("track_shipment", {"order_number": "TW-100003"})), text(TRACKED)],
    # One specialist (order) has no invoice tool: it answers the tracking and says where the invoice is handled.
    ("plain", TWO): [
        tool_calls(("track_shipment", {"order_number": "TW-100003"})),
        text(TRACKED + " I can't email invoices from here: ask me for the invoice again and billing will send it."),
    ],
    ("plan", TWO): [
        tool_calls(("track_shipment", {"order_number": "TW-100003"})),
        text(TRACKED),
        tool_calls(("send_invoice_copy", {"number": "TW-100004"})),
        text(CONFIRM),
    ],
}


@contextmanager
def planner(on: bool) -> Any:
    original = turns.plan_for_turn
    if not on:
        turns.plan_for_turn = lambda text: None
    try:
        yield
    finally:
        turns.plan_for_turn = original


def one_turn(server: FakeLLMServer, customer: Customer, mode: str, message_text: str) -> dict[str, Any]:
    conversation = Conversation.objects.create(customer=customer)
    server.push(*SCRIPTS[(mode, message_text)])
    before = len(server.requests)
    message = message_create(
        conversation=conversation, role=MessageRole.CUSTOMER, text=message_text, status=MessageStatus.RECEIVED
    )
    with planner(mode == "plan"):
        turns.turn_run(message_id=message.pk)
    trace = Trace.objects.get(message=message)
    return {
        "requests": len(server.requests) - before,
        "input": trace.input_tokens,
        "output": trace.output_tokens,
        "unused_script": server.pending(),
        "route": trace.route,
    }


def main() -> None:
    prepare_demo_data()
    customer = Customer.objects.get(user__username="alice")
    settings.SWITCHBOARD_CONVERSATION_MAX_TURNS = 0
    with FakeLLMServer(count_tokens=count_tokens) as server:
        settings.OPENAI_API_KEY = "sk-bench"
        settings.OPENAI_BASE_URL = server.openai_base_url
        settings.SWITCHBOARD_AGENT_MODEL = "openai:gpt-4.1-mini"
        settings.SWITCHBOARD_AGENT_FALLBACKS = []
        print(f"{'message':<70} {'mode':<6} {'requests':>8} {'input':>7} {'output':>7} {'total':>7}")
        for message_text in (TRACK, TWO):
            for mode in ("plain", "plan"):
                row = one_turn(server, customer, mode, message_text)
                note = f"  (script left unused: {row['unused_script']})" if row["unused_script"] else ""
                print(
                    f"{message_text[:68]:<70} {mode:<6} {row['requests']:>8} {row['input']:>7} {row['output']:>7} "
                    f"{row['input'] + row['output']:>7}{note}"
                )
                while server.pending():
                    server._next()  # a turn that used less of its script must not hand the rest to the next turn
    print("tokens counted with o200k on the JSON sent (instructions, history, tool definitions) and the reply")


if __name__ == "__main__":
    main()
