"""A yes to a held write may restate what the call's outcome is called, read from its arguments (`outcome_verbs`)."""

import pytest

from apps.agents.confirmation import Confirmation
from apps.agents.models import PendingAction
from apps.agents.pending import _decide

pytestmark = pytest.mark.slow

_RETURN = {"order_number": "TW-100015", "items": [{"order_item_id": 1, "quantity": 1}], "reason": "damaged"}


def test_a_yes_choosing_the_refund_confirms_a_return_that_refunds():
    # given a return waiting for the customer's answer
    action = PendingAction(tool_name="create_return", arguments=_RETURN)
    # when
    decision = _decide("refund please, not another one. yes go ahead", [action])
    # then
    assert decision is Confirmation.YES


def test_a_yes_asking_for_a_refund_does_not_confirm_an_exchange():
    # given an exchange waiting for the customer's answer
    action = PendingAction(tool_name="create_return", arguments={**_RETURN, "exchange_for": "size L"})
    # when
    decision = _decide("refund please, not another one. yes go ahead", [action])
    # then
    assert decision is Confirmation.UNCLEAR
