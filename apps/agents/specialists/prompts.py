"""Specialist prompts, versioned in the repository: `apps/agents/specialists/<name>/prompts/<name>.v<N>.md`.

A prompt file is never edited in a way that changes behaviour: a new version
is a new file (`order.v2.md`), selected by `SPECIALISTS_PROMPT_VERSIONS`
(default: the highest version present). The version id (`order.v1`) is the
spec's `version`, which the runtime records on every trace, so a transcript
always says which prompt produced it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings

SPECIALISTS_DIR = Path(__file__).resolve().parent
_FILE_RE = re.compile(r"^(?P<name>[a-z_]+)\.v(?P<version>\d+)\.md$")


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.name}.v{self.version}"


def prompts_dir(name: str) -> Path:
    """The specialist `name`'s prompt folder, inside its package."""
    return SPECIALISTS_DIR / name / "prompts"


def available(name: str, directory: Path | None = None) -> list[int]:
    directory = directory if directory is not None else prompts_dir(name)
    versions = []
    for path in directory.glob(f"{name}.v*.md"):
        match = _FILE_RE.match(path.name)
        if match and match.group("name") == name:
            versions.append(int(match.group("version")))
    return sorted(versions)


@cache
def load_prompt(name: str, version: int | None = None) -> Prompt:
    """The prompt `name` at `version` (default: pinned in settings, else the newest file)."""
    if version is None:
        pinned = settings.SPECIALISTS_PROMPT_VERSIONS.get(name)
        version = int(pinned) if pinned else None
    versions = available(name)
    if not versions:
        raise FileNotFoundError(f"no prompt file {name}.v*.md in {prompts_dir(name)}")
    version = version if version is not None else versions[-1]
    if version not in versions:
        raise FileNotFoundError(f"no prompt {name}.v{version}.md (have: {', '.join(map(str, versions))})")
    text = (prompts_dir(name) / f"{name}.v{version}.md").read_text(encoding="utf-8").strip()
    return Prompt(name=name, version=version, text=text)
