"""Parse markdown, HTML and plain text into heading sections, then cut token-budgeted chunks.

Pure functions, no database: easy to test and to benchmark.

- Markdown: optional front matter (`title`, `url`, `tags`), ATX headings (`#`..`######`)
  outside fenced code. Each heading opens a section whose path is the chain of
  enclosing headings.
- HTML: scripts, styles and page chrome (nav, header, footer, aside, forms) are
  dropped; `h1`..`h6` become headings and block elements paragraphs, then it is
  read as markdown. The title is `<title>` (else the first `h1`), the URL the
  canonical link or `og:url` when present.
- Plain text: one section; the title is the first line when it is short.
- FAQ-shaped content (any format): a paragraph that is a single question line
  ("Q: ...?", "**...?**", or a line ending in "?") followed by its answer becomes a
  section of its own whose last heading is the question, so each question+answer
  pair is one chunk and the question is indexed as an FAQ question (a heading that
  ends in "?" weighs most in BM25, see `lexical.py`). "A:" before an answer is dropped.

Chunks never cross a heading. Inside a section, paragraphs are packed up to the
token budget; a paragraph over budget is split by lines, then sentences, then
words. A chunk that continues a section starts with the tail (at most the overlap
budget) of the previous one.

Token counts use the MiniLM WordPiece tokenizer (`tokenizer.json` next to the
model, read by the `tokenizers` library: no torch import, about 20 ms to load),
without special tokens. When that file is missing (a custom model path) the
count falls back to an estimate of 1.3 tokens per word.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

CHUNKER_VERSION = 3

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class Section:
    heading_path: tuple[str, ...]
    blocks: tuple[str, ...]


@dataclass(frozen=True)
class ParsedDocument:
    title: str
    sections: tuple[Section, ...]
    url: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChunkDraft:
    position: int
    heading_path: tuple[str, ...]
    text: str
    token_count: int


@dataclass
class _Unit:
    text: str
    tokens: int
    joiner: str = field(default="\n\n")  # what separates it from the unit before


# --- token counting ---------------------------------------------------------

_tokenizer_lock = threading.Lock()


@cache
def _wordpiece_tokenizer(path: str):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text.split()) * 1.3)


def token_counter(model_path: Path | None = None) -> TokenCounter:
    """A counter using the model's own tokenizer, or the estimate when it has none."""
    if model_path is None:
        from .embeddings import local_model_path

        model_path = local_model_path()
    tokenizer_file = model_path / "tokenizer.json"
    if not tokenizer_file.is_file():
        return estimate_tokens
    with _tokenizer_lock:
        tokenizer = _wordpiece_tokenizer(str(tokenizer_file))

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count


# --- parsing ----------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_ATX_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


def _front_matter(text: str) -> tuple[dict[str, str | list[str]], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta: dict[str, str | list[str]] = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "tags":
            meta[key] = [t.strip().strip("'\"") for t in value.strip("[]").split(",") if t.strip()]
        else:
            meta[key] = value.strip("'\"")
    return meta, text[match.end() :]


def _clean_heading(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("*", "").replace("`", "")).strip()[:300]


def parse_markdown(text: str, *, default_title: str = "") -> ParsedDocument:
    meta, body = _front_matter(text.replace("\r\n", "\n").replace("\r", "\n"))
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    blocks: list[str] = []
    paragraph: list[str] = []
    in_fence = False
    first_h1 = ""

    def end_paragraph() -> None:
        if paragraph:
            block = "\n".join(paragraph).strip("\n")
            if block.strip():
                blocks.append(block)
            paragraph.clear()

    def end_section() -> None:
        end_paragraph()
        if blocks:
            sections.append(Section(tuple(h for _, h in stack), tuple(blocks)))
            blocks.clear()

    for line in body.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
            paragraph.append(line)
            continue
        if in_fence:
            paragraph.append(line)
            continue
        heading = _ATX_HEADING.match(line)
        if heading:
            end_section()
            level, title = len(heading.group(1)), _clean_heading(heading.group(2))
            if level == 1 and not first_h1:
                first_h1 = title
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            continue
        if not line.strip():
            end_paragraph()
            continue
        paragraph.append(line.rstrip())
    end_section()

    title = str(meta.get("title") or first_h1 or default_title or "Untitled")
    tags = meta.get("tags") or []
    return ParsedDocument(
        title=title[:300],
        sections=tuple(sections),
        url=str(meta.get("url") or ""),
        tags=tuple(tags) if isinstance(tags, list) else (str(tags),),
    )


_HTML_DROP = ("script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form", "iframe")
_HTML_BLOCKS = (
    "p",
    "div",
    "section",
    "article",
    "main",
    "ul",
    "ol",
    "table",
    "tr",
    "blockquote",
    "pre",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
)


def parse_html(html: str, *, default_title: str = "") -> ParsedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    url = ""
    canonical = soup.find("link", rel="canonical")
    if canonical and canonical.get("href"):
        url = str(canonical["href"])
    else:
        og_url = soup.find("meta", attrs={"property": "og:url"})
        if og_url and og_url.get("content"):
            url = str(og_url["content"])
    root = soup.body or soup
    for tag in root.find_all(_HTML_DROP):
        tag.decompose()
    for tag in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6"]):
        text = _clean_heading(tag.get_text(" ", strip=True))
        tag.replace_with(f"\n\n{'#' * int(tag.name[1])} {text}\n\n" if text else "\n\n")
    for tag in root.find_all("li"):
        tag.insert_before("\n- ")
    for tag in root.find_all("br"):
        tag.replace_with("\n")
    for tag in root.find_all(["td", "th"]):
        tag.insert_after(" | ")
    for tag in root.find_all(_HTML_BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    text = root.get_text()
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.split("\n")]
    # A line of page text that starts with '#' is not a heading of ours.
    lines = [line if not line.startswith("#") or _ATX_HEADING.match(line) else line.lstrip("#") for line in lines]
    parsed = parse_markdown("\n".join(lines), default_title=default_title)
    return ParsedDocument(
        title=(title or parsed.title)[:300], sections=parsed.sections, url=url or parsed.url, tags=parsed.tags
    )


def parse_text(text: str, *, default_title: str = "") -> ParsedDocument:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line for line in text.split("\n") if line.strip()]
    title = default_title or "Untitled"
    blocks = tuple(b.strip() for b in re.split(r"\n[ \t]*\n", text) if b.strip())
    if lines and len(lines[0].strip()) <= 120:
        title = lines[0].strip()
        # A title line on its own is a heading, not content (unless it is all there is).
        if len(blocks) > 1 and blocks[0] == title:
            blocks = blocks[1:]
    return ParsedDocument(title=title, sections=(Section((), blocks),) if blocks else ())


def parse_document(raw: str, fmt: str, *, default_title: str = "") -> ParsedDocument:
    if fmt == "markdown":
        parsed = parse_markdown(raw, default_title=default_title)
    elif fmt == "html":
        parsed = parse_html(raw, default_title=default_title)
    elif fmt == "text":
        parsed = parse_text(raw, default_title=default_title)
    else:
        raise ValueError(f"unknown document format {fmt!r}")
    return split_faq_pairs(parsed)


_QUESTION_LINE = re.compile(r"^(?:\*\*|__)?(?:Q(?:uestion)?\s*[:.)]\s*)?(?P<q>[^\n]{3,200}?\?)(?:\*\*|__)?$", re.I)
_ANSWER_PREFIX = re.compile(r"^(?:\*\*|__)?A(?:nswer)?\s*[:.)](?:\*\*|__)?\s*", re.I)


def _question(line: str) -> str | None:
    match = _QUESTION_LINE.match(line.strip())
    return match.group("q").strip().strip("*_ ") if match else None


def _faq_pieces(block: str) -> tuple[str | None, str]:
    """(question, answer) of a block whose first line is a question, else (None, block)."""
    first, _, rest = block.partition("\n")
    question = _question(first)
    if question is None:
        return None, block
    return question, _ANSWER_PREFIX.sub("", rest.strip())


def split_faq_pairs(parsed: ParsedDocument) -> ParsedDocument:
    """Each question paragraph and the answer after it become a section headed by the question."""
    sections: list[Section] = []
    changed = False
    for section in parsed.sections:
        current_path, current_blocks = section.heading_path, []
        pieces: list[Section] = []
        for block in section.blocks:
            question, answer = _faq_pieces(block)
            if question is not None and question not in section.heading_path:
                if current_blocks or current_path != section.heading_path:
                    pieces.append(Section(current_path, tuple(current_blocks)))
                current_path, current_blocks = (*section.heading_path, question), []
                if answer:
                    current_blocks.append(_ANSWER_PREFIX.sub("", answer))
                continue
            if current_path != section.heading_path and not current_blocks:
                block = _ANSWER_PREFIX.sub("", block)
            current_blocks.append(block)
        pieces.append(Section(current_path, tuple(current_blocks)))
        # A question with no answer after it is just a line of text: keep the section as it was.
        if len(pieces) > 1 and all(p.blocks for p in pieces[1:]):
            sections.extend(p for p in pieces if p.blocks)
            changed = True
        else:
            sections.append(section)
    if not changed:
        return parsed
    return ParsedDocument(title=parsed.title, sections=tuple(sections), url=parsed.url, tags=parsed.tags)


# --- chunking ---------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _split_words(text: str, max_tokens: int, count: TokenCounter) -> list[_Unit]:
    units: list[_Unit] = []
    current: list[str] = []
    for word in text.split():
        candidate = " ".join([*current, word])
        if current and count(candidate) > max_tokens:
            units.append(_Unit(" ".join(current), count(" ".join(current)), " "))
            current = [word]
        else:
            current.append(word)
    if current:
        units.append(_Unit(" ".join(current), count(" ".join(current)), " "))
    return units


def _units_for_block(block: str, max_tokens: int, count: TokenCounter) -> list[_Unit]:
    tokens = count(block)
    if tokens <= max_tokens:
        return [_Unit(block, tokens, "\n\n")]
    pieces: list[_Unit] = []
    lines = block.split("\n")
    if len(lines) > 1:
        for line in lines:
            if not line.strip():
                continue
            sub = _units_for_block(line, max_tokens, count)
            sub[0].joiner = "\n"
            pieces.extend(sub)
    else:
        sentences = [s for s in _SENTENCE_END.split(block) if s.strip()]
        if len(sentences) > 1:
            for sentence in sentences:
                n = count(sentence)
                pieces.extend(
                    [_Unit(sentence, n, " ")] if n <= max_tokens else _split_words(sentence, max_tokens, count)
                )
        else:
            pieces = _split_words(block, max_tokens, count)
    pieces[0].joiner = "\n\n"
    return pieces


def _join(units: Sequence[_Unit]) -> str:
    text = ""
    for i, unit in enumerate(units):
        text += (unit.joiner if i else "") + unit.text
    return text


def _overlap_tail(units: Sequence[_Unit], overlap_tokens: int, count: TokenCounter) -> list[_Unit]:
    if overlap_tokens <= 0 or not units:
        return []
    tail: list[_Unit] = []
    total = 0
    for unit in reversed(units):
        if total + unit.tokens > overlap_tokens:
            break
        tail.insert(0, unit)
        total += unit.tokens
    if tail:
        return [_Unit(u.text, u.tokens, u.joiner) for u in tail]
    # The last unit alone is longer than the overlap: carry its last words.
    words = units[-1].text.split()
    kept: list[str] = []
    for word in reversed(words):
        if count(" ".join([word, *kept])) > overlap_tokens:
            break
        kept.insert(0, word)
    return [_Unit(" ".join(kept), count(" ".join(kept)), " ")] if kept else []


def chunk_document(
    parsed: ParsedDocument, *, max_tokens: int, overlap_tokens: int, count: TokenCounter
) -> list[ChunkDraft]:
    if max_tokens < 16:
        raise ValueError("max_tokens must be at least 16")
    overlap_tokens = max(0, min(overlap_tokens, max_tokens // 2))
    drafts: list[ChunkDraft] = []
    for section in parsed.sections:
        units: list[_Unit] = []
        for block in section.blocks:
            units.extend(_units_for_block(block, max_tokens, count))
        current: list[_Unit] = []
        fresh = 0  # units in `current` that are not overlap from the previous chunk
        for unit in units:
            used = sum(u.tokens for u in current)
            if current and fresh and used + unit.tokens > max_tokens:
                drafts.append(_draft(len(drafts), section.heading_path, current, count))
                current = _overlap_tail(current, overlap_tokens, count)
                if current:
                    current[0].joiner = "\n\n"
                # Never let the overlap push the new unit over budget.
                while current and sum(u.tokens for u in current) + unit.tokens > max_tokens:
                    current.pop(0)
                fresh = 0
            current.append(unit)
            fresh += 1
        if current and fresh:
            drafts.append(_draft(len(drafts), section.heading_path, current, count))
    return drafts


def _draft(position: int, heading_path: tuple[str, ...], units: Sequence[_Unit], count: TokenCounter) -> ChunkDraft:
    text = _join(units).strip()
    return ChunkDraft(position=position, heading_path=heading_path, text=text, token_count=count(text))


def embedding_text(*, title: str, heading_path: Sequence[str], text: str) -> str:
    """What gets embedded: the chunk with its title and headings, so a short section keeps its topic."""
    path = [h for h in heading_path if h != title]
    if title and text.startswith(title):
        title = ""  # a one-line text document is its own title: do not say it twice
    context = " > ".join([title, *path]) if title else " > ".join(path)
    return f"{context}\n\n{text}" if context else text
