from __future__ import annotations

from pathlib import Path

import pytest

from apps.knowledge.embeddings import get_backend
from apps.knowledge.services import DocumentInput, ingest_documents, source_get_or_create

from .fakes import BagOfWordsBackend

FAKE_BACKEND = "tests.knowledge.fakes.BagOfWordsBackend"


@pytest.fixture
def fake_backend(settings: object) -> BagOfWordsBackend:
    """The instant bag-of-words backend, configured and with its call log cleared."""
    settings.KNOWLEDGE_EMBEDDING_BACKEND = FAKE_BACKEND  # type: ignore[attr-defined]
    backend = get_backend()
    assert isinstance(backend, BagOfWordsBackend)
    backend.reset()
    return backend


@pytest.fixture
def local_backend(settings: object) -> object:
    """The real MiniLM backend: the process-wide instance, so the model loads once per test process."""
    settings.KNOWLEDGE_EMBEDDING_BACKEND = "local"  # type: ignore[attr-defined]
    return get_backend()


def md(title: str, *sections: tuple[str, str], front: str = "") -> str:
    body = "".join(f"## {heading}\n\n{text}\n\n" for heading, text in sections)
    return f"{front}# {title}\n\n{body}"


def ingest(source_name: str, docs: dict[str, str], **kwargs: object) -> object:
    source = source_get_or_create(name=source_name)
    items = [DocumentInput(uri=uri, format="markdown", raw_content=text) for uri, text in docs.items()]
    return ingest_documents(source=source, items=items, **kwargs)  # type: ignore[arg-type]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
