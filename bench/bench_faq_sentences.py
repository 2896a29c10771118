"""Which sentences of the right help-centre section the offline FAQ answer quotes: does it carry the fact asked for?

For each question of `bench/faq_sentences/{heldout,tuning}.yaml` the section that answers it is taken from the
rendered demo help centre (the chunks ingestion makes), and the local model's sentence choice
(`help_center_local.best_sentences` then `_with_short_followers`, as `_answer` does) picks from it. A question
passes when the quoted sentences contain its fact. Retrieval is not measured here (bench_retrieval_quality is).
No database: run with `.venv/bin/python bench/bench_faq_sentences.py` (Django settings only) or through devstack.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django

    django.setup()


def sections() -> dict[tuple[str, str], str]:
    """(page title, section heading) -> the chunk text, as search returns it; "" for the page's opening."""
    from django.conf import settings

    from apps.knowledge.chunking import chunk_document, parse_document, token_counter
    from apps.knowledge.demo import demo_documents

    count = token_counter()
    found: dict[tuple[str, str], str] = {}
    for document in demo_documents():
        parsed = parse_document(document.raw_content, document.format)
        drafts = chunk_document(
            parsed,
            max_tokens=settings.KNOWLEDGE_CHUNK_MAX_TOKENS,
            overlap_tokens=settings.KNOWLEDGE_CHUNK_OVERLAP_TOKENS,
            count=count,
        )
        for draft in drafts:
            path = [h for h in draft.heading_path if h != parsed.title]
            key = (parsed.title, path[-1] if path else "")
            found.setdefault(key, draft.text)
    return found


def answer(question: str, text: str, heading: str) -> str:
    from apps.agents.specialists import help_center_local as local

    try:
        chosen = local.best_sentences(question, text, heading=heading)
    except TypeError:  # the choice before the section's heading was read
        chosen = local.best_sentences(question, text)
    return " ".join(local._with_short_followers(chosen, text))


def score(name: str, texts: dict[tuple[str, str], str], *, verbose: bool) -> tuple[int, int]:
    questions = yaml.safe_load((ROOT / "bench" / "faq_sentences" / f"{name}.yaml").read_text())
    passed = sentences = 0
    for item in questions:
        text = texts[(item["page"], item["section"])]
        reply = answer(item["q"], text, item["section"] or item["page"])
        sentences += len(reply.split(". "))
        ok = item["fact"].lower() in reply.lower()
        passed += ok
        if verbose and not ok:
            print(f"  FAIL {item['q']!r}\n       fact {item['fact']!r}\n       got  {reply!r}")
    print(f"{name:<8} sentences quoted per answer: {sentences / len(questions):.2f}")
    return passed, len(questions)


def main() -> None:
    _setup()
    texts = sections()
    verbose = "-v" in sys.argv
    portions = [a for a in sys.argv[1:] if not a.startswith("-")] or ["tuning", "heldout"]
    for name in portions:
        passed, total = score(name, texts, verbose=verbose and name != "heldout")
        print(f"{name:<8} {passed}/{total} ({100 * passed / total:.1f}%)")


if __name__ == "__main__":
    main()
