"""The approval queue in the Django admin, driven through the test client."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.commerce.models import Refund
from apps.support.models import ApprovalDecision, ApprovalStatus, RefundApproval
from apps.support.services import refund_approval_decide, refund_approval_request, refund_approvals_escalate_overdue
from tests.support.conftest import make_order

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:support_refundapproval_changelist")


def _request(order, amount="20.00", conversation=None, hours_ago=0.0) -> RefundApproval:
    approval = refund_approval_request(
        order=order, customer=order.customer, amount=amount, reason="Damaged", items=[], conversation=conversation
    )
    if hours_ago:
        RefundApproval.objects.filter(pk=approval.pk).update(created_at=timezone.now() - timedelta(hours=hours_ago))
    return approval


def _change(approval) -> str:
    return reverse("admin:support_refundapproval_change", args=[approval.pk])


def _decide(approval) -> str:
    return reverse("admin:support_refundapproval_decide", args=[approval.pk])


def test_queue_lists_pending_requests_oldest_first(client, approver, customer, conversation):
    # given
    newer = _request(make_order(customer), hours_ago=1, conversation=conversation)
    older = _request(make_order(customer), hours_ago=5)
    rejected = _request(make_order(customer), hours_ago=9)
    refund_approval_decide(approval=rejected, approver=approver, approve=False, reason="No.")
    client.force_login(approver)
    # when
    response = client.get(CHANGELIST)
    # then
    assert response.status_code == 200
    assert [a.pk for a in response.context["cl"].result_list] == [older.pk, newer.pk]
    page = response.content.decode()
    assert "eligible (policy refund 94.05)" in page
    assert f"/review/{conversation.public_id}/" in page
    assert newer.order.number in page
    actions = [name for name, _ in response.context["action_form"].fields["action"].choices]
    assert actions == ["", "approve_selected", "reject_selected"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=all", ["small", "large", "old"]),
        ("amount=over-threshold", ["large"]),
        ("age=overdue", ["old"]),
        ("escalated=yes", ["old"]),
        ("escalated=no", ["small", "large"]),
    ],
)
def test_queue_filters(client, approver, customer, settings, query, expected):
    # given
    settings.REFUND_SECOND_APPROVER_THRESHOLD = Decimal("50.00")
    made = {
        "old": _request(make_order(customer), amount="10.00", hours_ago=48),
        "small": _request(make_order(customer), amount="10.00", hours_ago=2),
        "large": _request(make_order(customer), amount="90.00", hours_ago=1),
    }
    refund_approvals_escalate_overdue()
    client.force_login(approver)
    # when
    response = client.get(f"{CHANGELIST}?{query}")
    # then
    by_pk = {a.pk: name for name, a in made.items()}
    assert sorted(by_pk[a.pk] for a in response.context["cl"].result_list) == sorted(expected)


def test_approve_action_executes_the_refund(client, approver, order, django_capture_on_commit_callbacks):
    # given
    approval = _request(order)
    client.force_login(approver)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CHANGELIST, {"action": "approve_selected", "_selected_action": [approval.pk]})
    # then
    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXECUTED
    assert Refund.objects.get().idempotency_key == approval.idempotency_key


def test_approve_action_reports_a_refusal(client, approver, order):
    # given: the approver raised it
    approval = refund_approval_request(
        order=order, customer=order.customer, amount="20.00", reason="r", items=[], requested_by=approver
    )
    client.force_login(approver)
    # when
    response = client.post(CHANGELIST, {"action": "approve_selected", "_selected_action": [approval.pk]}, follow=True)
    # then
    assert [str(m) for m in response.context["messages"]] == [
        f"R-{approval.pk:06d}: You cannot decide a refund request you raised."
    ]
    assert ApprovalDecision.objects.count() == 0
    assert Refund.objects.count() == 0


def test_reject_action_asks_for_a_reason_first(client, approver, order):
    # given
    approval = _request(order)
    client.force_login(approver)
    # when
    response = client.post(CHANGELIST, {"action": "reject_selected", "_selected_action": [approval.pk]})
    # then
    assert response.status_code == 200
    assert response.templates[0].name == "admin/support/action_with_reason.html"
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    # when: submitted without a reason
    response = client.post(
        CHANGELIST, {"action": "reject_selected", "_selected_action": [approval.pk], "apply": "1", "reason": " "}
    )
    # then: the form again, nothing decided
    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    assert ApprovalDecision.objects.count() == 0
    # when: with a reason
    response = client.post(
        CHANGELIST,
        {"action": "reject_selected", "_selected_action": [approval.pk], "apply": "1", "reason": "Outside policy."},
    )
    # then
    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.REJECTED
    assert ApprovalDecision.objects.get().reason == "Outside policy."


def test_detail_page_decides(client, approver, order, django_capture_on_commit_callbacks):
    # given
    approval = _request(order)
    client.force_login(approver)
    page = client.get(_change(approval))
    assert page.status_code == 200
    assert _decide(approval) in page.content.decode()
    # when: reject without a reason
    response = client.post(_decide(approval), {"decision": "reject", "reason": ""}, follow=True)
    # then
    assert [str(m) for m in response.context["messages"]] == ["A reason is required to reject a refund request."]
    assert ApprovalDecision.objects.count() == 0
    # when: approve
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_decide(approval), {"decision": "approve", "reason": ""})
    # then
    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXECUTED
    assert Refund.objects.count() == 1
    # and the decided request shows no decision form any more
    assert _decide(approval) not in client.get(_change(approval)).content.decode()


def test_agent_sees_the_queue_but_cannot_decide(client, agent_user, order, django_capture_on_commit_callbacks):
    # given
    approval = _request(order)
    client.force_login(agent_user)
    # when
    listing = client.get(CHANGELIST)
    detail = client.get(_change(approval))
    with django_capture_on_commit_callbacks(execute=True):
        action = client.post(CHANGELIST, {"action": "approve_selected", "_selected_action": [approval.pk]})
        direct = client.post(_decide(approval), {"decision": "approve"})
    # then
    assert listing.status_code == 200
    assert listing.context["action_form"] is None  # no actions offered
    assert detail.status_code == 200
    assert _decide(approval) not in detail.content.decode()
    assert action.status_code == 200  # the plain changelist: the action does not exist for this user
    assert direct.status_code == 403
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    assert ApprovalDecision.objects.count() == 0
    assert Refund.objects.count() == 0


def test_customer_without_staff_access_cannot_open_the_queue(client, order):
    # given
    approval = _request(order)
    client.force_login(order.customer.user)
    # when
    response = client.post(_decide(approval), {"decision": "approve"})
    # then
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")
    assert ApprovalDecision.objects.count() == 0
