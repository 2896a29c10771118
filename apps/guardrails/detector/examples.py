"""The detector's training data: the team's own attack and benign examples, and a seeded split.

`data/attacks.txt` and `data/benign.txt` hold one example per line (`\\n` is a
newline inside one), grouped under `## family` headers. The routing examples
(`apps/agents/routing/examples/*.yaml`, real-looking support messages the team
wrote for the router) are benign too and keep false positives on customer text
near zero. None of this is copied from a public data set.

The split is stratified by family and seeded: 25% of every family is held out
and never used for fitting or calibration, so the held-out figures are honest.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
ROUTING_EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "agents" / "routing" / "examples"
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


def team_examples(directory: Path = DATA_DIR) -> list[Example]:
    attacks = parse((directory / "attacks.txt").read_text(encoding="utf-8"), label=ATTACK)
    benign = parse((directory / "benign.txt").read_text(encoding="utf-8"), label=BENIGN)
    return attacks + benign


def routing_examples(directory: Path = ROUTING_EXAMPLES_DIR) -> list[Example]:
    """The router's examples as benign customer text; empty when that folder is absent."""
    import yaml

    examples: list[Example] = []
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        route = str(data.get("route", path.stem))
        for messages in (data.get("intents") or {}).values():
            for message in messages or ():
                examples.append(Example(text=str(message), label=BENIGN, family=f"routing:{route}"))
    return examples


def all_examples() -> list[Example]:
    return team_examples() + routing_examples()


def data_digest(directory: Path = DATA_DIR) -> str:
    """Hash of the team's data files: the shipped weights record it, a test compares."""
    digest = hashlib.sha256()
    for name in ("attacks.txt", "benign.txt"):
        digest.update(name.encode())
        digest.update((directory / name).read_bytes())
    return digest.hexdigest()


def split(examples: list[Example], *, seed: int = SPLIT_SEED) -> tuple[list[Example], list[Example]]:
    """(development, held_out): a seeded HELD_OUT_FRACTION of every family is held out."""
    by_family: dict[tuple[int, str], list[Example]] = {}
    for example in examples:
        by_family.setdefault((example.label, example.family), []).append(example)
    rng = random.Random(seed)
    development: list[Example] = []
    held_out: list[Example] = []
    for key in sorted(by_family):
        group = sorted(by_family[key], key=lambda e: e.text)
        rng.shuffle(group)
        cut = round(len(group) * HELD_OUT_FRACTION)
        held_out.extend(group[:cut])
        development.extend(group[cut:])
    return development, held_out
