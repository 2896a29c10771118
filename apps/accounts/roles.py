"""Staff roles: the groups and the permissions each needs.

`sync_roles` is idempotent; migrations call it with the historical app
registry so the groups exist from a fresh `migrate`, and `manage.py
sync_roles` re-applies it after new models arrive.
"""

from __future__ import annotations

from typing import Any

SUPPORT_AGENT = "support_agent"
REFUND_APPROVER = "refund_approver"
SUPPORT_LEAD = "support_lead"
OPERATOR = "operator"
ROLES = (SUPPORT_AGENT, REFUND_APPROVER, SUPPORT_LEAD, OPERATOR)

# app_label -> {model: actions}. Missing models are skipped so the table can
# name models that a later migration adds.
_READ_SHOP = {
    "commerce": {
        m: ("view",)
        for m in (
            "customer",
            "address",
            "product",
            "productvariant",
            "order",
            "orderitem",
            "shipment",
            "trackingevent",
            "payment",
            "paymentmethod",
            "invoice",
            "returnrequest",
            "refund",
            "auditevent",
        )
    }
}
_SUPPORT_WORK = {
    "support": {
        "ticket": ("view", "add", "change"),
        "escalation": ("view", "add", "change"),
        "refundapproval": ("view",),
        "approvaldecision": ("view",),
        "supportauditevent": ("view",),
        # The console: notes for colleagues, saved replies to insert (leads maintain them).
        "internalnote": ("view", "add"),
        "savedreply": ("view",),
    },
    # Support agents (and approvers, leads) work escalations in the live console: take over, reply,
    # assign to themselves. Assigning to someone else is `support.assign_escalation` (leads).
    "conversations": {
        "conversation": ("view", "change", "takeover"),
        "message": ("view", "add"),
        "feedback": ("view",),
        "replyflag": ("view",),
    },
    "observability": {"trace": ("view",), "span": ("view",)},
    "agents": {"pendingaction": ("view",)},
}

ROLE_PERMISSIONS: dict[str, list[dict[str, dict[str, tuple[str, ...]]]]] = {
    SUPPORT_AGENT: [_READ_SHOP, _SUPPORT_WORK],
    REFUND_APPROVER: [_READ_SHOP, _SUPPORT_WORK, {"support": {"refundapproval": ("view", "decide")}}],
    SUPPORT_LEAD: [
        _READ_SHOP,
        _SUPPORT_WORK,
        {
            "support": {
                "refundapproval": ("view", "decide"),
                "ticket": ("view", "add", "change", "assign"),
                "escalation": ("view", "add", "change", "assign"),
                "savedreply": ("view", "add", "change", "delete"),
            },
            "conversations": {"conversation": ("view", "change", "takeover", "review")},
        },
    ],
    OPERATOR: [
        _READ_SHOP,
        {
            "conversations": {
                "conversation": ("view", "review"),
                "message": ("view",),
                "feedback": ("view",),
                "replyflag": ("view", "add", "change"),
                "conversationevent": ("view",),
            },
            "observability": {"trace": ("view",), "span": ("view",)},
            "knowledge": {m: ("view", "add", "change", "delete") for m in ("knowledgesource", "document", "chunk")},
            "evaluation": {"evaluationrun": ("view", "add"), "scenarioresult": ("view",)},
            "support": {
                "ticket": ("view",),
                "escalation": ("view",),
                "refundapproval": ("view",),
                "internalnote": ("view",),
            },
        },
    ],
}


def _codenames(role: str) -> set[tuple[str, str]]:
    wanted: set[tuple[str, str]] = set()
    for block in ROLE_PERMISSIONS[role]:
        for app_label, models in block.items():
            for model, actions in models.items():
                wanted.update((app_label, f"{action}_{model}") for action in actions)
    return wanted


def sync_roles(apps: Any = None) -> dict[str, int]:
    """Create the role groups and give each exactly the permissions listed that exist."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    registry = apps or global_apps
    for app_config in registry.get_app_configs():
        app_config.models_module = True  # historical configs need this for create_permissions
        create_permissions(app_config, verbosity=0, apps=registry)
    Group = registry.get_model("auth", "Group")
    Permission = registry.get_model("auth", "Permission")
    counts: dict[str, int] = {}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        perms = [
            p
            for p in Permission.objects.select_related("content_type")
            if (p.content_type.app_label, p.codename) in _codenames(role)
        ]
        group.permissions.set(perms)
        counts[role] = len(perms)
    return counts
