"""The offline help-centre answer end to end: does it quote the right section, and the fact asked for?

    python -m config.devstack bench bench/bench_faq_answers.py [heldout_sections tuning_sections ...] [-v]

For each question of `bench/faq_sentences/<name>.yaml` (default: tuning_sections, heldout_sections) the FAQ
specialist's offline flow (`help_center_local.behaviour_steps`, as `faq/local.py` runs it) runs against the demo help
centre (ingested into the bench database if missing), its `search_knowledge` calls executed by the real tool. A
question's answer is "right section" when the first excerpt it cites is the expected page and section, and "fact" when
the reply contains the expected fact (case-insensitive); "no answer" when the flow offered a ticket instead. Unlike
bench_faq_sentences (the right section given), this measures retrieval and the choice of section too.
`-v` prints the failures of the tuning sets (never of a held-out one).
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import django
import yaml

os.environ.setdefault("LOG_LEVEL", "WARNING")
django.setup()

from _knowledge import reset_knowledge  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from pydantic_ai.messages import TextPart, ToolCallPart  # noqa: E402

from apps.agents.specialists import help_center  # noqa: E402
from apps.agents.specialists.faq.local import behaviour  # noqa: E402, F401 (the flow this bench stands for)
from apps.agents.specialists.help_center_local import behaviour_steps  # noqa: E402
from apps.agents.specialists.local_common import ToolOutcome, Turn  # noqa: E402
from apps.agents.specialists.local_rules import handle_common  # noqa: E402
from apps.knowledge.models import Document  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MAX_STEPS = 6


def _deps(text: str) -> SimpleNamespace:
    return SimpleNamespace(text=text, searches=[], citations=[], trace=SimpleNamespace(add=lambda *a, **k: None))


def run(question: str) -> tuple[str, list[dict[str, Any]]]:
    """The reply the offline FAQ flow gives, and the citations of the excerpts it was shown."""
    ctx = SimpleNamespace(deps=_deps(question))
    outcomes: list[ToolOutcome] = []
    called: list[tuple[str, dict[str, Any]]] = []
    for _ in range(MAX_STEPS):
        t = Turn(
            text=question,
            earlier=[],
            last_reply="",
            replies=[],
            outcomes=list(outcomes),
            called=list(called),
            tools={"search_knowledge", "create_ticket"},
        )
        if t.outcomes and t.outcomes[0].tool in ("search_knowledge", "create_ticket"):
            response = behaviour_steps(t)
        else:
            response = handle_common(t, topic="help-center", category="other") or behaviour_steps(t)
        calls = [p for p in response.parts if isinstance(p, ToolCallPart)]
        if not calls:
            return "".join(p.content for p in response.parts if isinstance(p, TextPart)), ctx.deps.citations
        for part in calls:
            args = part.args_as_dict()
            called.append((part.tool_name, args))
            if part.tool_name != "search_knowledge":
                return "", ctx.deps.citations  # a ticket offered: no answer
            data = help_center.search_knowledge.function(ctx, **args)
            outcomes.append(ToolOutcome(tool="search_knowledge", data=data))
    return "", ctx.deps.citations


def _first_cited(reply: str, citations: list[dict[str, Any]]) -> dict[str, Any] | None:
    numbers = re.findall(r"\[(\d{1,3})\]", reply)
    by_id = {int(c["id"]): c for c in citations}
    return by_id.get(int(numbers[0])) if numbers else None


def score(name: str, *, verbose: bool) -> None:
    questions = yaml.safe_load((ROOT / "bench" / "faq_sentences" / f"{name}.yaml").read_text())
    section_ok = fact_ok = unanswered = 0
    for item in questions:
        reply, citations = run(item["q"])
        cited = _first_cited(reply, citations)
        expected = f"{item['page']} > {item['section']}" if item["section"] else item["page"]
        right = cited is not None and cited["section"] == expected
        fact = bool(reply) and item["fact"].lower() in reply.lower()
        section_ok += right
        fact_ok += fact
        unanswered += not reply
        if verbose and not (right and fact):
            got = cited["section"] if cited else "-"
            print(f"  FAIL {item['q']!r}\n       want {expected!r} / {item['fact']!r}\n       cited {got!r}")
            print(f"       reply {reply[:300]!r}")
    n = len(questions)
    print(
        f"{name:<18} right section {section_ok}/{n}   fact quoted {fact_ok}/{n} ({100 * fact_ok / n:.1f}%)   "
        f"no answer {unanswered}/{n}"
    )


def main() -> None:
    if Document.objects.exclude(source__name=settings.KNOWLEDGE_DEMO_SOURCE).exists():
        reset_knowledge()  # another bench's documents: this one answers from the demo help centre alone
    call_command("ingest_demo_kb")  # idempotent: unchanged documents are skipped
    verbose = "-v" in sys.argv
    portions = [a for a in sys.argv[1:] if not a.startswith("-")] or ["tuning_sections", "heldout_sections"]
    started = time.perf_counter()
    for name in portions:
        score(name, verbose=verbose and "heldout" not in name)
    print(f"({time.perf_counter() - started:.1f} s; load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
