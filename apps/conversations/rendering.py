"""Message text to safe HTML: a small Markdown subset, rendered once when the message is stored.

A real parser (markdown-it-py, CommonMark, raw HTML off) turns the text into HTML, then an allow-list
sanitiser (nh3) keeps only the tags below. Links stay clickable only when they point (over http/https)
at a domain in `GUARDRAILS_LINK_ALLOWED_DOMAINS` or one of its subdomains; any other link is rendered
as its plain text with the address after it, so the customer sees where it would have gone but cannot
click it. The chat page, the widget and the transcripts all show this stored HTML.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import nh3
from django.conf import settings
from markdown_it import MarkdownIt

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "code", "pre", "blockquote", "a", "span"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href", "title"}, "ol": {"start"}}
BLOCKED_LINK_CLASS = "link-blocked"


def _allowed_domains() -> tuple[str, ...]:
    return tuple(d.strip().lower().lstrip(".") for d in settings.GUARDRAILS_LINK_ALLOWED_DOMAINS if d.strip())


def link_allowed(href: str, domains: tuple[str, ...] | None = None) -> bool:
    """An absolute http(s) link to an allowed domain (or a subdomain of one)."""
    domains = _allowed_domains() if domains is None else domains
    try:
        parts = urlsplit(href.strip())
    except ValueError:
        return False
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return False
    return any(host == d or host.endswith("." + d) for d in domains)


@lru_cache(maxsize=8)
def _parser(domains: tuple[str, ...]) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
    # Headings, rules and images have no place in a chat bubble (and an image would fetch a URL).
    md.disable(["heading", "lheading", "hr", "image", "html_block", "html_inline"])

    def link_open(renderer: Any, tokens: list[Any], idx: int, options: Any, env: dict[str, Any]) -> str:
        href = tokens[idx].attrGet("href") or ""
        blocked = env.setdefault("blocked", [])
        if link_allowed(href, domains):
            blocked.append(None)
            return renderer.renderToken(tokens, idx, options, env)
        blocked.append(href)
        return f'<span class="{BLOCKED_LINK_CLASS}">'

    def link_close(renderer: Any, tokens: list[Any], idx: int, options: Any, env: dict[str, Any]) -> str:
        href = env.get("blocked", [None]).pop()
        if href is None:
            return renderer.renderToken(tokens, idx, options, env)
        shown = md.utils.escapeHtml(_display_address(href))
        return f"</span> ({shown})" if shown else "</span>"

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("link_close", link_close)
    return md


def _display_address(href: str) -> str:
    try:
        host = urlsplit(href.strip()).hostname or ""
    except ValueError:
        host = ""
    return host


def render_markdown(text: str) -> str:
    """Sanitised HTML for a message's text (empty text gives an empty string)."""
    if not text:
        return ""
    domains = _allowed_domains()
    html = _parser(domains).render(text, {})
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        allowed_classes={"span": {BLOCKED_LINK_CLASS}},
        # The sanitiser is the last word on links too: nothing but an allowed domain keeps its href.
        attribute_filter=lambda tag, attr, value: (
            None if tag == "a" and attr == "href" and not link_allowed(value, domains) else value
        ),
    ).strip()


_CITED = re.compile(r"\[(\d{1,3})\]")


def source_labels(text: str, citations: list[Any]) -> list[str]:
    """The sources a reply shows under it: the excerpts its text cites by number (`[2]`), else all of them,
    each once, as "[2] Title > Section". One label per excerpt, not per chunk of the same article."""
    cited = set(_CITED.findall(text or ""))
    labels: list[str] = []
    for c in citations or []:
        if isinstance(c, dict):
            number = str(c.get("id", ""))
            if cited and number not in cited:
                continue
            name = str(c.get("section") or c.get("title") or c.get("source") or c.get("document") or "source")
            label = f"[{number}] {name}" if number and cited else name
        else:
            label = str(c)
        if label not in labels:
            labels.append(label)
    return labels
