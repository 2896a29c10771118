"""The request splitter (`apps/agents/understanding/splitter.py`) against the cue-word regex it replaces.

Scored on `apps/agents/understanding/splits/heldout/splits.yaml` (written before the training examples, never trained
on) and, apart, on its own training messages. A message is right when its requests are exactly the marked ones (" | "),
compared word for word with a leading conjunction and punctuation left out. Two levels:

- pieces: what the splitter alone cuts (`planner.split_pieces` with the learned splitter, `planner.regex_pieces`);
- plan: the planner's steps (`plan_message`: pieces joined again when they are one request: greetings, context, the
  same request), with each splitter, routed as the router routes a message with no conversation.

Reads nothing from ../shared.
"""

import re
import sys
import time

import django

django.setup()

from apps.agents.understanding import planner  # noqa: E402
from apps.agents.understanding.splitter import (  # noqa: E402
    HELDOUT_FILE,
    TRAINING_FILE,
    SplitClassifier,
    load_split_messages,
)

# Conjunctions are left out of the comparison: the planner drops the one that opens a piece.
_CONJUNCTIONS = {"and", "also", "plus", "then", "but", "so", "n", "&"}


def _norm(pieces: list[str]) -> list[str]:
    out = []
    for piece in pieces:
        words = re.sub(r"[^\w\s'-]", " ", piece.lower()).split()
        text = " ".join(w for w in words if w not in _CONJUNCTIONS)
        if text:
            out.append(text)
    return out


def _score(name: str, messages, cut) -> tuple[int, list[str]]:
    right, wrong = 0, []
    for message in messages:
        got = _norm(cut(message.text))
        if got == _norm(list(message.pieces)):
            right += 1
        else:
            wrong.append(f"    {message.text!r}: {' | '.join(got)}")
    print(f"  {name:28} {right}/{len(messages)} ({right / len(messages):.3f})")
    return right, wrong


def main() -> None:
    verbose = "-v" in sys.argv
    started = time.perf_counter()
    fresh = SplitClassifier.train(load_split_messages(TRAINING_FILE))
    print(f"trained in {time.perf_counter() - started:.1f}s: {fresh.report}")
    planner.use_splitter(fresh)
    for label, path in (("held-out", HELDOUT_FILE), ("training", TRAINING_FILE)):
        messages = load_split_messages(path)
        print(f"{label} ({len(messages)} messages), exact split match:")
        for name, cut in (
            ("pieces: regex", planner.regex_pieces),
            ("pieces: learned", planner.learned_pieces),
            ("pieces: learned or regex", planner.learned_or_regex_pieces),
            ("plan: regex", lambda t: [s.text for s in planner.plan_message(t, split=planner.regex_pieces).steps]),
            ("plan: learned", lambda t: [s.text for s in planner.plan_message(t, split=planner.learned_pieces).steps]),
            (
                "plan: regex then learned",
                lambda t: [s.text for s in planner.plan_message(t, split=planner.regex_then_learned_pieces).steps],
            ),
        ):
            _, wrong = _score(name, messages, cut)
            if verbose and label == "held-out":
                print("\n".join(wrong))
    started = time.perf_counter()
    texts = [m.text for m in load_split_messages(HELDOUT_FILE)]
    for text in texts:
        planner.learned_pieces(text)
    per_message = 1000 * (time.perf_counter() - started) / len(texts)
    print(f"learned split: {per_message:.1f} ms per message")


if __name__ == "__main__":
    main()
