"""The support audit trail: one `SupportAuditEvent` per state change."""

from __future__ import annotations

from typing import Any

from apps.support.models import SupportAuditEvent


def actor_label_for(user: Any) -> str:
    return f"staff:{user.get_username()}" if user is not None else "system"


def audit_record(
    *,
    subject: Any,
    subject_type: str,
    action: str,
    from_state: str = "",
    to_state: str = "",
    actor: Any = None,
    actor_label: str = "",
    data: dict[str, Any] | None = None,
) -> SupportAuditEvent:
    return SupportAuditEvent.objects.create(
        subject_type=subject_type,
        subject_id=subject.pk,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        actor_label=actor_label or actor_label_for(actor),
        data=data or {},
    )
