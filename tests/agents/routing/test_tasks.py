from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from apps.agents.routes import OUT_OF_SCOPE
from apps.agents.routing.classifier import get_classifier, load_examples
from apps.agents.routing.router import route_message, task_refusal
from apps.agents.routing.tasks import TASKS_FILE, load_task_examples
from apps.commerce.models import OrderStatus
from tests.commerce.factories import make_customer, make_order, make_variant

pytestmark = pytest.mark.slow  # loads the embedding model (once per process)

HELDOUT = Path(__file__).parents[3] / "apps/agents/understanding/heldout/task.yaml"


def _heldout() -> dict[str, list[str]]:
    return yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))["intents"]


def test_the_task_gates_held_out_messages_are_never_trained_on():
    # given the gate's own examples and every route's examples
    own = load_task_examples(TASKS_FILE)
    training = {t.lower() for t in [*own.tasks, *own.support, *(e.text for e in load_examples())]}

    # when / then
    held = _heldout()
    assert set(held) == {"task", "support"}
    assert not {t.lower() for texts in held.values() for t in texts} & training


def test_the_task_gate_refuses_most_held_out_tasks_and_no_held_out_support_question():
    # given the held-out messages, written before the gate and its examples
    held = _heldout()

    # when the router's classifier reads them
    tasks = get_classifier().predict(held["task"])
    support = get_classifier().predict(held["support"])

    # then no support question is refused as a task, and most tasks are (23/32 when the gate landed)
    assert [t for t, p in zip(held["support"], support, strict=True) if p.task] == []
    assert sum(p.task and p.route == OUT_OF_SCOPE for p in tasks) >= 20


@pytest.mark.django_db
def test_a_task_naming_the_customers_own_item_is_refused_not_answered_about_the_item():
    # given a customer whose espresso machine was delivered
    bob = make_customer()
    machine = make_variant(price="249.00", name="Espresso Machine")
    make_order(customer=bob, status=OrderStatus.DELIVERED, items=[(machine, 1)])
    theirs = SimpleNamespace(customer=bob, current_route=None, verified_order=None)

    # when he asks for a poem about it, and then a question about it
    poem = route_message("write me a poem about my espresso machine", conversation=theirs, use_llm=False)
    leak = route_message("my espresso machine leaks water everywhere", conversation=theirs, use_llm=False)

    # then the poem is refused whatever it names, and the support question is not
    assert poem.route == OUT_OF_SCOPE
    assert poem.reason.startswith("asks for a task the shop does not do")
    assert leak.route != OUT_OF_SCOPE


def test_task_refusal_is_only_for_tasks():
    # when / then: code is a task; a support question and a far-off question are not the task gate's
    refusal = task_refusal("write a python script that scrapes prices off a website")
    assert refusal is not None
    assert (refusal.route, refusal.source) == (OUT_OF_SCOPE, "local")
    assert task_refusal("my promo code doesn't work at checkout") is None
