from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.agents.accounting import cost_of, count_tokens, encoding


def test_tokens_are_counted_offline_with_o200k() -> None:
    enc = encoding()
    assert enc.name == "o200k_base"
    assert enc.decode(enc.encode("Where is order TW-10023?")) == "Where is order TW-10023?"
    assert count_tokens("hello world") == 2
    assert count_tokens("") == 0
    # special-token text in customer input is counted as text, never refused
    assert count_tokens("<|endoftext|>") > 1


def test_cost_uses_genai_prices_per_provider() -> None:
    assert cost_of(model="openai:gpt-4.1-mini", input_tokens=1000, output_tokens=500) == Decimal("0.0012")
    assert cost_of(model="anthropic:claude-sonnet-4-5", input_tokens=1000, output_tokens=500) == Decimal("0.0105")


def test_local_and_unknown_models_cost_nothing() -> None:
    assert cost_of(model="local", input_tokens=10_000, output_tokens=10_000) == Decimal("0")
    assert cost_of(model="openai:my-selfhosted-llama", input_tokens=10_000, output_tokens=10_000) == Decimal("0")


def test_settings_override_prices(settings: Any) -> None:
    settings.SWITCHBOARD_MODEL_PRICES = {"openai:my-selfhosted-llama": "0.10/0.20", "openai:gpt-4.1-mini": "1/2"}
    assert cost_of(model="openai:my-selfhosted-llama", input_tokens=1_000_000, output_tokens=500_000) == Decimal("0.2")
    assert cost_of(model="openai:gpt-4.1-mini", input_tokens=1000, output_tokens=1000) == Decimal("0.003")


def test_count_tokens_counts_as_the_full_encoding_does() -> None:
    # given texts with special-token text, other scripts, emoji and a lone surrogate
    texts = ["Where is order TW-10023?", "<|endoftext|> and <|endofprompt|>", "Größe 42 😀 中文", "bad \ud800 text"]

    # when counted, and encoded by the full tiktoken encoding
    counted = [count_tokens(t) for t in texts]
    encoded = [
        len(encoding().encode(t.encode("utf-16", "surrogatepass").decode("utf-16", "replace"), disallowed_special=()))
        for t in texts
    ]

    # then the counts are the encoding's
    assert counted == encoded
    assert counted[0] == len(encoding().encode(texts[0], disallowed_special=()))
