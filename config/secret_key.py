"""A per-install development SECRET_KEY kept in var/ (never a published default).

`make run` makes it in its first step (`demo_setup`), before the server and the workers start, so they
all read the same key. DJANGO_SECRET_KEY wins when set; production settings require it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def install_secret_key(path: Path) -> str:
    """The key stored at `path`, made (random, mode 0600) when there is none yet."""
    try:
        return path.read_text().strip() or _write_secret_key(path)
    except FileNotFoundError:
        return _write_secret_key(path)


def _write_secret_key(path: Path) -> str:
    key = secrets.token_urlsafe(50)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()  # another process made it first: use theirs
    except OSError:
        return key  # read-only tree: a key for this process only (sessions end on restart)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
