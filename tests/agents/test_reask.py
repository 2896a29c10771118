from __future__ import annotations

from typing import Any

import pytest

from apps.agents.models import PendingAction, PendingActionStatus
from apps.agents.reask import carries_nothing_of_its_own
from apps.agents.turns import turn_run
from apps.conversations.models import Message
from apps.observability.models import Span
from tests.agents.scripted_order import CALLS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_order_specialist")]

REASKED = (
    "Sorry, I didn't catch that. Shall I cancel order TW-7? Please answer **yes** to go ahead or **no** to leave it "
    "as it is."
)
LAPSED = (
    "I still couldn't tell whether you want me to cancel order TW-7, so I have not done it and nothing was changed. "
    "Ask me again whenever you want it."
)


def _reply(message: Message) -> str:
    return Message.objects.get(in_reply_to=message).text


def test_an_answer_neither_yes_nor_no_with_nothing_of_its_own_is_asked_again_and_keeps_the_action(say: Any) -> None:
    # given: a cancellation waits for the customer's yes
    turn_run(message_id=say("cancel TW-7").pk)
    # when: the answer cannot be read as yes or no, and says nothing else
    answer = say("y e s")
    turn_run(message_id=answer.pk)
    # then: asked again once, naming the action; the one action still waits, nothing ran
    assert _reply(answer) == REASKED
    action = PendingAction.objects.get()
    assert (action.status, action.decided_by_id, action.decided_at) == (PendingActionStatus.PENDING, None, None)
    assert action.reasked_at is not None
    assert CALLS == []
    span = Span.objects.get(kind="tool_call", trace__message=answer)
    assert (span.data["result"], span.data["executed"], span.data["reasked"]) == (
        "not run: unclear, asked again",
        False,
        True,
    )


def test_a_yes_after_the_question_asked_again_runs_the_write_once(say: Any) -> None:
    # given: an unclear answer was asked again
    turn_run(message_id=say("cancel TW-7").pk)
    turn_run(message_id=say("hmm ok?").pk)
    # when
    yes = say("yes")
    turn_run(message_id=yes.pk)
    turn_run(message_id=yes.pk)  # redelivered
    # then
    assert CALLS == [("fake_order_cancel", {"number": "TW-7", "customer": "ada@example.com"})]
    action = PendingAction.objects.get()
    assert (action.status, action.decided_by_id) == (PendingActionStatus.EXECUTED, yes.pk)
    assert _reply(yes) == "Order TW-7 is cancelled."


def test_a_second_unclear_answer_lapses_the_action_and_says_nothing_changed(say: Any) -> None:
    # given: an unclear answer was asked again
    turn_run(message_id=say("cancel TW-7").pk)
    turn_run(message_id=say("y e s").pk)
    # when: the next answer is no clearer
    again = say("hmm")
    turn_run(message_id=again.pk)
    # then
    assert _reply(again) == LAPSED
    action = PendingAction.objects.get()
    assert (action.status, action.decided_by_id) == (PendingActionStatus.EXPIRED, again.pk)
    assert CALLS == []
    # and a late yes finds nothing waiting
    late = say("yes")
    turn_run(message_id=late.pk)
    assert CALLS == []
    assert _reply(late) == "How can I help?"


def test_a_question_while_an_action_waits_lapses_it_and_is_answered_as_new(say: Any) -> None:
    # given
    turn_run(message_id=say("cancel TW-7").pk)
    # when
    question = say("what's your return policy?")
    turn_run(message_id=question.pk)
    # then: as before, the action lapses and the message is handled as a request of its own
    assert PendingAction.objects.get().status == PendingActionStatus.EXPIRED
    assert PendingAction.objects.get().reasked_at is None
    assert CALLS == []
    assert _reply(question) == "How can I help?"


def test_a_request_after_the_question_asked_again_is_answered_as_new(say: Any) -> None:
    # given
    turn_run(message_id=say("cancel TW-7").pk)
    turn_run(message_id=say("y e s").pk)
    # when
    request = say("status TW-8")
    turn_run(message_id=request.pk)
    # then
    assert PendingAction.objects.get().status == PendingActionStatus.EXPIRED
    assert CALLS == [("fake_order_status", {"number": "TW-8", "customer": "ada@example.com"})]
    assert _reply(request) == "Order TW-8 is shipped."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("y e s", True),
        ("hmm ok?", True),
        ("maybe", True),
        ("🤔", True),
        ("hmm not sure", True),
        ("what's your return policy?", False),
        ("is that the right one?", False),
        ("where is my order", False),
        ("TW-100004", False),
        ("can I talk to a person", False),
        ("no. where are my trail runners instead?", False),
        ("hmm ok i guess that is fine but i had wanted something a little different", False),
    ],
)
def test_what_an_unclear_answer_carries_of_its_own(conversation: Any, text: str, expected: bool) -> None:
    # when / then
    assert carries_nothing_of_its_own(text, conversation=conversation) is expected
