"""The detector's training data: the team's own attack and benign examples, and a seeded split.

`data/attacks*.txt` and `data/benign*.txt` hold one example per line (`\\n` is a
newline inside one), grouped under `## family` headers. The routing examples
(every route's examples, `apps.agents.routing.classifier.load_examples`) and the
understanding layer's intent examples (`apps/agents/understanding/examples`, not
its held-out folder) are real-looking support messages the team wrote, benign too,
and keep false positives on customer text near zero. None of this is copied from a
public data set.

`data/written/`, `data/written2/`, ... (`written_dirs`) hold examples written by colleagues
who never read the rules: `*_train.txt` are training data (all of it in the development
side of the split, families prefixed with the folder's name, "written:override",
"written2:multilingual"), `*_heldout.txt` a held-out set of each folder's own
(`written_held_out`), never used to fit, calibrate or choose anything.

The split is stratified by family and seeded per family: 25% of every team family is
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
# Examples written by colleagues who never read the rules or the detector, one folder per writer
# (written/, written2/, ...): `*_train.txt` are training data like the rest, `*_heldout.txt` are never
# trained, calibrated or tuned on (written_held_out()).
WRITTEN_DIR = DATA_DIR / "written"
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


def written_dirs(directory: Path = DATA_DIR) -> list[Path]:
    """The written examples' folders (`written`, `written2`, ...), in name order."""
    return sorted(p for p in directory.glob(f"{WRITTEN_DIR.name}*") if p.is_dir())


def data_files(directory: Path = DATA_DIR) -> list[tuple[Path, int]]:
    """Every training file with its label: `attacks*.txt` are attacks, `benign*.txt` benign, in `directory`
    and, from each written folder, `attacks_train.txt` (with `families_attacks_train.txt`) and
    `benign_train.txt`."""
    files = [(p, ATTACK) for p in sorted(directory.glob("attacks*.txt"))] + [
        (p, BENIGN) for p in sorted(directory.glob("benign*.txt"))
    ]
    for written in written_dirs(directory):
        files += [(p, ATTACK) for p in sorted(written.glob("*attacks_train.txt"))]
        files += [(p, BENIGN) for p in sorted(written.glob("benign_train.txt"))]
    return files


# Family prefix of the examples from a written folder's *_train.txt: the folder's name and a colon
# ("written:override", "written2:benign"), so every written family starts with this.
WRITTEN_PREFIX = WRITTEN_DIR.name


def is_written(family: str) -> bool:
    return family.startswith(WRITTEN_PREFIX)


def _lines(path: Path) -> list[str]:
    """A written file: every non-blank line is one example, as is (no comments, no headers)."""
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def written_examples(stem: str, directory: Path = WRITTEN_DIR) -> list[Example]:
    """`attacks_<stem>.txt` with the family of each line from `families_attacks_<stem>.txt` (same line
    count, else "unspecified"), and `benign_<stem>.txt` (family "benign"); empty when absent."""
    examples: list[Example] = []
    attacks_path, families_path = directory / f"attacks_{stem}.txt", directory / f"families_attacks_{stem}.txt"
    if attacks_path.is_file():
        attacks = _lines(attacks_path)
        families = _lines(families_path) if families_path.is_file() else []
        if len(families) != len(attacks):
            families = ["unspecified"] * len(attacks)
        examples.extend(Example(text=t, label=ATTACK, family=f) for t, f in zip(attacks, families, strict=True))
    benign_path = directory / f"benign_{stem}.txt"
    if benign_path.is_file():
        examples.extend(Example(text=t, label=BENIGN, family="benign") for t in _lines(benign_path))
    return examples


def team_examples(directory: Path = DATA_DIR) -> list[Example]:
    """The team's files (`## family` sections) and the written training files (families prefixed with their
    folder's name, "written:", "written2:")."""
    examples: list[Example] = []
    for path, label in data_files(directory):
        if path.parent == directory:
            examples.extend(parse(path.read_text(encoding="utf-8"), label=label))
    for written in written_dirs(directory):
        for e in written_examples("train", written):
            examples.append(Example(text=e.text, label=e.label, family=f"{written.name}:{e.family}"))
    return examples


def written_held_out_sets(directory: Path = DATA_DIR) -> dict[str, list[Example]]:
    """Each written folder's held-out examples (`attacks_heldout.txt` with `families_attacks_heldout.txt`,
    `benign_heldout.txt`) by folder name: never trained, calibrated, tuned or chosen on."""
    found = {written.name: written_examples("heldout", written) for written in written_dirs(directory)}
    return {name: examples for name, examples in found.items() if examples}


def written_held_out(directory: Path = WRITTEN_DIR) -> list[Example]:
    """One written folder's held-out examples (by default the first writer's); empty when absent."""
    return written_examples("heldout", directory)


def routing_examples() -> list[Example]:
    """Every route's examples (the router's and each specialist's) as benign customer text."""
    from apps.agents.routing.classifier import load_examples

    return [Example(text=e.text, label=BENIGN, family=f"routing:{e.route}") for e in load_examples()]


def understanding_examples(directory: Path = UNDERSTANDING_EXAMPLES_DIR) -> list[Example]:
    """The intent classifiers' training examples (never their held-out folder) as benign customer text;
    not the product-kind classifier's, which are words and short phrases, not messages."""
    import yaml

    from apps.agents.understanding.kinds import CLASSIFIER as PRODUCT_KIND

    examples: list[Example] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.stem == PRODUCT_KIND:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for messages in (data.get("intents") or {}).values():
            for message in messages or ():
                examples.append(Example(text=str(message), label=BENIGN, family=f"routing:understanding_{path.stem}"))
    return examples


def all_examples() -> list[Example]:
    # Never train on a held-out text, whoever wrote it.
    seen: set[str] = {e.text for examples in written_held_out_sets().values() for e in examples}
    unique: list[Example] = []
    for example in team_examples() + routing_examples() + understanding_examples():
        if example.text not in seen:  # the same message in two files would sit on both sides of the split
            seen.add(example.text)
            unique.append(example)
    return unique


def data_digest() -> str:
    """Hash of every example training reads (the team's files, the routing and intent examples, less the
    held-out texts), with its label and family: the shipped weights record it, a test compares. Hashing
    only the detector's own files let an intent file added elsewhere change the training data unseen."""
    digest = hashlib.sha256()
    for example in all_examples():
        digest.update(f"{example.label}\t{example.family}\t{example.text}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def split(examples: list[Example], *, seed: int = SPLIT_SEED) -> tuple[list[Example], list[Example]]:
    """(development, held_out): a seeded HELD_OUT_FRACTION of every team family is held out (the written
    examples have held-out sets of their own, so all of written*/*_train.txt is development)."""
    by_family: dict[tuple[int, str], list[Example]] = {}
    for example in examples:
        by_family.setdefault((example.label, example.family), []).append(example)
    development: list[Example] = []
    held_out: list[Example] = []
    for key in sorted(by_family):
        group = sorted(by_family[key], key=lambda e: e.text)
        if is_written(key[1]):  # its held-out counterpart is the folder's *_heldout.txt
            development.extend(group)
            continue
        random.Random(f"{seed}:{key[0]}:{key[1]}").shuffle(group)
        cut = round(len(group) * HELD_OUT_FRACTION)
        held_out.extend(group[:cut])
        development.extend(group[cut:])
    return development, held_out
