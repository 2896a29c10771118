"""The detector's training data: the team's own attack and benign examples, and a seeded split.

`data/attacks*.txt` and `data/benign*.txt` hold one example per line (`\\n` is a
newline inside one), grouped under `## family` headers. The routing examples
(every route's examples, `apps.agents.routing.classifier.load_examples`) and the
understanding layer's intent examples (`apps/agents/understanding/examples`, not
its held-out folder) are real-looking support messages the team wrote, benign too,
and keep false positives on customer text near zero. None of this is copied from a
public data set.

The split is stratified by family and seeded per family: 25% of every family is
held out and never used for fitting or calibration, so the held-out figures are
honest, and adding a family (or routing examples) never moves another family's
examples across the split.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
UNDERSTANDING_EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "agents" / "understanding" / "examples"
SPLIT_SEED = 12
HELD_OUT_FRACTION = 0.25
ATTACK, BENIGN = 1, 0


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: int  # ATTACK or BENIGN
    family: str  # e.g. "override", "angry"; routing examples are "routing:<route>"


def parse(text: str, *, label: int) -> list[Example]:
    """Lines of a data file; `#` comments and blank lines skipped, `## name` sets the family."""
    examples: list[Example] = []
    family = "unspecified"
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("## "):
            family = stripped[3:].strip()
            continue
        if stripped.startswith("#"):
            continue
        examples.append(Example(text=stripped.replace("\\n", "\n"), label=label, family=family))
    return examples


def data_files(directory: Path = DATA_DIR) -> list[tuple[Path, int]]:
    """Every data file with its label: `attacks*.txt` are attacks, `benign*.txt` benign."""
    return [(p, ATTACK) for p in sorted(directory.glob("attacks*.txt"))] + [
        (p, BENIGN) for p in sorted(directory.glob("benign*.txt"))
    ]


def team_examples(directory: Path = DATA_DIR) -> list[Example]:
    return [e for path, label in data_files(directory) for e in parse(path.read_text(encoding="utf-8"), label=label)]


def routing_examples() -> list[Example]:
    """Every route's examples (the router's and each specialist's) as benign customer text."""
    from apps.agents.routing.classifier import load_examples

    return [Example(text=e.text, label=BENIGN, family=f"routing:{e.route}") for e in load_examples()]


def understanding_examples(directory: Path = UNDERSTANDING_EXAMPLES_DIR) -> list[Example]:
    """The intent classifiers' training examples (never their held-out folder) as benign customer text."""
    import yaml

    examples: list[Example] = []
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for messages in (data.get("intents") or {}).values():
            for message in messages or ():
                examples.append(Example(text=str(message), label=BENIGN, family=f"routing:understanding_{path.stem}"))
    return examples


def all_examples() -> list[Example]:
    seen: set[str] = set()
    unique: list[Example] = []
    for example in team_examples() + routing_examples() + understanding_examples():
        if example.text not in seen:  # the same message in two files would sit on both sides of the split
            seen.add(example.text)
            unique.append(example)
    return unique


def data_digest(directory: Path = DATA_DIR) -> str:
    """Hash of the team's data files: the shipped weights record it, a test compares."""
    digest = hashlib.sha256()
    for path, _label in data_files(directory):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def split(examples: list[Example], *, seed: int = SPLIT_SEED) -> tuple[list[Example], list[Example]]:
    """(development, held_out): a seeded HELD_OUT_FRACTION of every family is held out."""
    by_family: dict[tuple[int, str], list[Example]] = {}
    for example in examples:
        by_family.setdefault((example.label, example.family), []).append(example)
    development: list[Example] = []
    held_out: list[Example] = []
    for key in sorted(by_family):
        group = sorted(by_family[key], key=lambda e: e.text)
        random.Random(f"{seed}:{key[0]}:{key[1]}").shuffle(group)
        cut = round(len(group) * HELD_OUT_FRACTION)
        held_out.extend(group[:cut])
        development.extend(group[cut:])
    return development, held_out
