"""The local model streams its answer a sentence at a time (the stream guard releases no less)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from pydantic_ai import Agent
from pydantic_ai.messages import PartDeltaEvent, PartStartEvent, TextPart, TextPartDelta

from apps.agents.local import local_model, text_response

REPLY = "Your parcel left on Monday. It should arrive Friday!\n\nAnything else (a return, say)? Just ask"


def _streamed(reply: str) -> tuple[list[str], str]:
    chunks: list[str] = []

    async def handler(ctx: Any, events: Any) -> None:
        async for event in events:
            if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
                chunks.append(event.part.content)
            elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
                chunks.append(event.delta.content_delta)

    async def run() -> str:
        model = local_model(lambda messages, info: text_response(reply))
        result = await Agent(model).run("where is my parcel?", event_stream_handler=handler)
        return str(result.output)

    return chunks, async_to_sync(run)()


def test_the_local_model_streams_whole_sentences_and_the_output_is_the_whole_reply() -> None:
    # when
    chunks, output = _streamed(REPLY)

    # then
    assert chunks == [
        "Your parcel left on Monday. ",
        "It should arrive Friday!\n\n",
        "Anything else (a return, say)? ",
        "Just ask",
    ]
    assert output == REPLY


def test_a_reply_without_a_sentence_end_is_one_chunk() -> None:
    # when
    chunks, output = _streamed("TW-100042")

    # then
    assert chunks == ["TW-100042"]
    assert output == "TW-100042"
