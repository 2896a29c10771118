import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db


def _perms(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_migrations_create_the_four_staff_roles():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "support_agent",
        "refund_approver",
        "support_lead",
        "operator",
    }


def test_only_approvers_and_leads_decide_refunds():
    assert "support.decide_refundapproval" not in _perms("support_agent")
    assert "support.decide_refundapproval" in _perms("refund_approver")
    assert "support.decide_refundapproval" in _perms("support_lead")
    assert "support.decide_refundapproval" not in _perms("operator")


def test_support_staff_take_over_chats_and_operators_review_them():
    assert "conversations.takeover_conversation" in _perms("support_agent")
    assert "conversations.takeover_conversation" in _perms("support_lead")
    assert "conversations.takeover_conversation" not in _perms("operator")
    assert "conversations.review_conversation" in _perms("operator")
    assert "conversations.review_conversation" not in _perms("support_agent")


def test_nobody_but_a_superuser_may_edit_money_or_orders():
    every_role = set().union(*(_perms(r) for r in ("support_agent", "refund_approver", "support_lead", "operator")))
    assert not {p for p in every_role if p.startswith("commerce.") and not p.startswith("commerce.view_")}
    assert "support.change_refundapproval" not in every_role


def test_operators_manage_the_knowledge_base_and_evaluation_runs():
    perms = _perms("operator")
    assert {"knowledge.add_document", "knowledge.change_document", "evaluation.view_evaluationrun"} <= perms
