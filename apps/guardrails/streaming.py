"""Output checks for streamed replies.

A delta pushed to the browser has been seen, whatever the final check decides.
`OutputStreamGuard` holds the stream back to whole sentences and releases a
sentence only after `check_output` passed the reply so far; the released text is
the cleaned text (links and images already removed). When a check blocks, the
guard stops releasing: the caller stores `finish().text` (the safe replacement)
as the message, which replaces the partial text on screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .checks import check_output
from .types import GuardrailContext, OutputResult

OutputCheck = Callable[..., OutputResult]

# A sentence ends at . ! ? (optionally closed by a quote or bracket) followed by
# whitespace, or at a line break. A dot inside a URL or a number is not an end.
_BOUNDARY = re.compile(r"[.!?][\"')\]]*\s|\n")


class OutputStreamGuard:
    def __init__(self, *, context: GuardrailContext | None = None, check: OutputCheck = check_output) -> None:
        self._context = context
        self._check = check
        self._buffer = ""
        self._released = ""
        # Where the last checked text ended: a delta without a new sentence end is not checked again
        # (the checks are deterministic, so the same text would give the same release: nothing new).
        self._checked_end = 0
        self.halted = False

    @property
    def released(self) -> str:
        """Everything handed out so far, in order."""
        return self._released

    def feed(self, delta: str) -> str:
        """Add a model delta; return the text that may be pushed now (often "")."""
        self._buffer += delta
        if self.halted:
            return ""
        # Boundaries end in whitespace, so none spans the last checked end: scan only what came after it.
        end = self._checked_end
        for match in _BOUNDARY.finditer(self._buffer, self._checked_end):
            end = match.end()
        if end == self._checked_end:
            return ""
        self._checked_end = end
        return self._release(self._check(self._buffer[:end], context=self._context))

    def finish(self) -> OutputResult:
        """Check the whole reply. Its `text` is what to store and show; when
        `blocked` (or `halted`) the partial text on screen must be replaced by it."""
        result = self._check(self._buffer, context=self._context)
        if not result.blocked and not self.halted:
            self._release(result)
        return result

    def _release(self, result: OutputResult) -> str:
        if result.blocked or not result.text.startswith(self._released):
            # Blocked, or cleaning rewrote text already shown: stop; the final
            # message replaces what is on screen.
            self.halted = True
            return ""
        new = result.text[len(self._released) :]
        self._released = result.text
        return new
