"""What every support admin screen shares: links, the reason form and applying an action object by object."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from apps.core.errors import ApplicationError


def admin_link(viewname: str, pk: Any, label: str) -> str:
    return format_html('<a href="{}">{}</a>', reverse(viewname, args=[pk]), label)


def transcript_url(conversation: Any) -> str:
    """The operator review page of a conversation: its transcript with the turn traces."""
    return reverse("conversations:review-detail", args=[conversation.public_id])


def transcript_link(conversation: Any) -> str:
    if conversation is None:
        return "–"
    return format_html('<a href="{}">transcript</a>', transcript_url(conversation))


def apply_each(
    request: HttpRequest,
    objects: Iterable[Any],
    call: Callable[[Any], Any],
    *,
    done: str,
    label: Callable[[Any], str] = str,
) -> None:
    """`call(obj)` for each object, one service call each; report how many were `done` ("{count} ... approved.")
    and each refusal with the service's message."""
    count, refused = 0, []
    for obj in objects:
        try:
            call(obj)
            count += 1
        except ApplicationError as exc:
            refused.append(f"{label(obj)}: {exc.message}")
    if count:
        messages.success(request, done.format(count=count))
    for line in refused:
        messages.error(request, line)


def apply_action(request: HttpRequest, queryset: QuerySet, call: Callable[[Any], Any], verb: str) -> None:
    """`apply_each` reported as "3 tickets assigned."."""
    apply_each(request, queryset, call, done=f"{{count}} {queryset.model._meta.verbose_name_plural} {verb}.")


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=2000,
        help_text="Shown to the customer in their chat: write it for them.",
    )


def ask_for_reason(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    form: forms.Form,
    action: str,
    title: str,
    submit_label: str,
) -> HttpResponse:
    """The intermediate page of an action that needs a reason (or a code) before it runs."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.model._meta,
        "queryset": queryset,
        "form": form,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "submit_label": submit_label,
    }
    return TemplateResponse(request, "admin/support/action_with_reason.html", context)
