"""The beat job: requests waiting too long go to the leads once; approved ones never executed run again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.commerce.models import Refund
from apps.support.beat import sweep_refund_approvals
from apps.support.models import ApprovalStatus, RefundApproval, SupportAuditEvent
from apps.support.services import refund_approval_decide, refund_approval_request
from tests.support.conftest import make_order

pytestmark = pytest.mark.django_db


def _request(order, hours_ago: float) -> RefundApproval:
    approval = refund_approval_request(order=order, customer=order.customer, amount="10.00", reason="r", items=[])
    RefundApproval.objects.filter(pk=approval.pk).update(created_at=timezone.now() - timedelta(hours=hours_ago))
    approval.refresh_from_db()
    return approval


def test_overdue_requests_are_escalated_to_the_leads_once(
    order, customer, lead, approver, settings, pushed, django_capture_on_commit_callbacks
):
    # given
    settings.REFUND_APPROVAL_ESCALATE_AFTER_HOURS = 24
    overdue = _request(order, hours_ago=25)
    fresh = _request(make_order(customer), hours_ago=23)
    decided = _request(make_order(customer), hours_ago=30)
    refund_approval_decide(approval=decided, approver=approver, approve=False, reason="No.")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        sweep_refund_approvals()
    # then
    overdue.refresh_from_db()
    fresh.refresh_from_db()
    assert overdue.escalated_at is not None
    assert overdue.status == ApprovalStatus.PENDING
    assert fresh.escalated_at is None
    assert RefundApproval.objects.get(pk=decided.pk).escalated_at is None
    [event] = SupportAuditEvent.objects.filter(action="escalated")
    assert (event.subject_id, event.actor_label, event.data) == (overdue.pk, "system", {"waiting_hours": 25.0})
    [email] = mail.outbox
    assert email.to == [lead.email]
    assert email.subject == "[Tidewater Goods] 1 refund request(s) waiting over 24 h"
    assert f"R-{overdue.pk:06d}: 10.00 USD on order {order.number}, waiting 25 h (0/1 approvals)" in email.body
    assert f"http://127.0.0.1:8000/admin/support/refundapproval/{overdue.pk}/change/" in email.body
    assert [e["approval_ids"] for e in pushed.to_staff("refund_approvals_escalated")] == [[overdue.pk]]
    # when: the job runs again
    with django_capture_on_commit_callbacks(execute=True):
        sweep_refund_approvals()
    # then: nothing new
    assert len(mail.outbox) == 1
    assert SupportAuditEvent.objects.filter(action="escalated").count() == 1


def test_escalated_request_can_still_be_decided(order, approver, django_capture_on_commit_callbacks):
    # given
    approval = _request(order, hours_ago=48)
    with django_capture_on_commit_callbacks(execute=True):
        sweep_refund_approvals()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        refund_approval_decide(approval=approval, approver=approver, approve=True)
    # then
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXECUTED
    assert Refund.objects.count() == 1


def test_no_email_without_overdue_requests(order, lead, django_capture_on_commit_callbacks):
    # given
    _request(order, hours_ago=1)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        sweep_refund_approvals()
    # then
    assert mail.outbox == []
    assert SupportAuditEvent.objects.filter(action="escalated").count() == 0


def test_approved_request_whose_task_was_lost_is_executed_by_the_sweep(
    order, approver, settings, django_capture_on_commit_callbacks
):
    # given: approved, but the broker lost the task
    settings.REFUND_APPROVAL_REQUEUE_AFTER_MINUTES = 15
    approval = _request(order, hours_ago=1)
    with django_capture_on_commit_callbacks(execute=False):
        refund_approval_decide(approval=approval, approver=approver, approve=True)
    RefundApproval.objects.filter(pk=approval.pk).update(decided_at=timezone.now() - timedelta(minutes=16))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        sweep_refund_approvals()
        sweep_refund_approvals()
    # then
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXECUTED
    assert Refund.objects.count() == 1


def test_recently_approved_request_is_left_to_its_task(order, approver, django_capture_on_commit_callbacks):
    # given
    approval = _request(order, hours_ago=1)
    with django_capture_on_commit_callbacks(execute=False):
        refund_approval_decide(approval=approval, approver=approver, approve=True)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        sweep_refund_approvals()
    # then
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED
    assert Refund.objects.count() == 0


def test_escalation_email_is_retried_when_the_mail_server_is_down(order, lead, monkeypatch):
    # given: the first two sends fail
    from apps.support import tasks

    calls: list[str] = []

    def flaky(subject, body, sender, recipients, fail_silently):
        if len(calls) < 2:
            calls.append("refused")
            raise ConnectionRefusedError("mail server down")
        calls.append("sent")
        return 1

    monkeypatch.setattr(tasks, "send_mail", flaky)
    # eager retries re-run in-process; a worker would schedule them with backoff instead
    monkeypatch.setitem(tasks.send_staff_email.app.conf, "task_eager_propagates", False)
    # when
    result = tasks.send_staff_email.apply(args=("subject", "body", [lead.email]))
    # then
    assert calls == ["refused", "refused", "sent"]
    assert result.state == "SUCCESS"
