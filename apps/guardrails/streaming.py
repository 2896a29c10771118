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

from .checks import check_output
from .types import GuardrailContext, OutputResult

# A sentence ends at . ! ? (optionally closed by a quote or bracket) followed by
# whitespace, or at a line break. A dot inside a URL or a number is not an end.
_BOUNDARY = re.compile(r"[.!?][\"')\]]*\s|\n")


class OutputStreamGuard:
    def __init__(self, *, context: GuardrailContext | None = None) -> None:
        self._context = context
        self._buffer = ""
        self._released = ""
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
        end = 0
        for match in _BOUNDARY.finditer(self._buffer):
            end = match.end()
        if end == 0:
            return ""
        return self._release(check_output(self._buffer[:end], context=self._context))

    def finish(self) -> OutputResult:
        """Check the whole reply. Its `text` is what to store and show; when
        `blocked` (or `halted`) the partial text on screen must be replaced by it."""
        result = check_output(self._buffer, context=self._context)
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
