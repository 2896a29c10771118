"""Text deltas to the conversation's sockets while the model streams (`DeltaPusher`).

Sent straight from the event loop through the channel layer, in the envelope of
`apps.conversations.events.push_now`; see docs/agents.md, "Events pushed".
"""

from __future__ import annotations

import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.conversations import events
from apps.conversations.models import Conversation


class DeltaPusher:
    """Streams text deltas to the conversation's sockets without holding up the model.

    Sent straight from the event loop through the channel layer (no thread hop
    per delta), in the envelope of `events.push_now`. The first delta goes out at
    once (time to first token); later ones are coalesced until at least
    `DELTA_MIN_CHARS` characters have gathered and `DELTA_MAX_WAIT` seconds have
    passed since the last one, so a long answer is at most one event per
    `DELTA_MAX_WAIT` (each costs the web process and Redis a relay), and text that
    arrives at once (the local model's) goes out in two: the first sentence, the rest.

    With a `guard` (an `OutputStreamGuard`), model text reaches the customer only
    in whole sentences that already passed the output checks: a reply the checks
    withhold is never on screen, even for a moment.
    """

    def __init__(self, conversation: Conversation, *, reply_to: int | None, guard: Any | None = None) -> None:
        self.group = events.conversation_group(conversation.public_id)
        self.conversation = conversation
        self.reply_to = reply_to
        self.guard = guard
        self.buffer = ""
        self.sent = 0
        self.last = 0.0
        # Wall-clock stamps for the trace (bench/bench_turn_throughput.py: model's first text -> socket).
        self.first_text_at: float | None = None
        self.first_sent_at: float | None = None
        self.fed = 0  # characters of model text taken so far
        self._finished_at = -1  # `fed` at the guard's last whole-reply check

    def stamps(self) -> dict[str, float]:
        return {
            k: round(v, 6)
            for k, v in (("first_text_at", self.first_text_at), ("first_sent_at", self.first_sent_at))
            if v is not None
        }

    async def add(self, text: str) -> None:
        if self._take(text):
            await self.flush()

    async def end_of_stream(self) -> None:
        """A model response ended: its last sentence has no boundary after it, so check and release it now."""
        self._finish()
        await self.flush()

    async def flush(self) -> None:
        payload = self._payload()
        if payload is not None:
            await send_delta(self.conversation, self.group, payload)
            self._sent_now()

    # The same steps for a caller outside the event loop (the local model's direct run, apps.agents.local_run):
    # only the send goes to the thread's loop.
    def add_now(self, text: str) -> None:
        if self._take(text):
            self.flush_now()

    def end_of_stream_now(self) -> None:
        self._finish()
        self.flush_now()

    def flush_now(self) -> None:
        payload = self._payload()
        if payload is not None:
            async_to_sync(send_delta)(self.conversation, self.group, payload)
            self._sent_now()

    def _take(self, text: str) -> bool:
        """Take a delta; whether to send what has gathered now."""
        if self.first_text_at is None and text:
            self.first_text_at = time.time()
        self.fed += len(text)
        if self.guard is not None:
            text = self.guard.feed(text)
        if not text:
            return False
        self.buffer += text
        waited = time.monotonic() - self.last
        return self.sent == 0 or (len(self.buffer) >= DELTA_MIN_CHARS and waited >= DELTA_MAX_WAIT)

    def _finish(self) -> None:
        # The guard's whole-reply check is deterministic: with nothing fed since the last one (a run ends each
        # model response and each round of tool calls with this) it would release nothing new, so it is skipped.
        if self.guard is not None and not self.guard.halted and self.fed != self._finished_at:
            self._finished_at = self.fed
            before = len(self.guard.released)
            self.guard.finish()
            self.buffer += self.guard.released[before:]

    def _payload(self) -> dict[str, Any] | None:
        if not self.buffer:
            return None
        text, self.buffer = self.buffer, ""
        self.sent += 1
        self.last = time.monotonic()
        return {"reply_to": self.reply_to, "text": text}

    def _sent_now(self) -> None:
        if self.first_sent_at is None:
            self.first_sent_at = time.time()


DELTA_MIN_CHARS = 24
DELTA_MAX_WAIT = 0.05


async def send_delta(conversation: Conversation, group: str, payload: dict[str, Any]) -> None:
    """One "delta" event, as `events.push_now(conversation, "delta", **payload)` would send it."""
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(group, {"type": "chat.event", "event": "delta", **payload})
