"""Display helpers for transcripts and traces. Output is escaped by the template as usual."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder

register = template.Library()


@register.filter
def pretty(value: Any) -> str:
    """Structured trace values (tool arguments, verdicts) as indented JSON text; scalars as they are."""
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder, indent=1, ensure_ascii=False)
    return str(value)


@register.filter
def sources(message: Any) -> list[str]:
    """The labels of the sources a reply shows (`rendering.source_labels`, as the chat page shows them)."""
    from apps.conversations.rendering import source_labels

    return source_labels(message.text, message.citations)


@register.filter
def is_structured(value: Any) -> bool:
    return isinstance(value, dict | list)


@register.filter
def label(name: str) -> str:
    return str(name).replace("_", " ")
