"""Streamed replies are released sentence by sentence, only after the checks pass."""

from __future__ import annotations

from apps.guardrails import REPLY_NO_PROMISE, REPLY_WITHHELD, GuardrailContext, OutputStreamGuard

ANN = GuardrailContext.build(emails=["ann@example.com"], order_numbers=["TW-100042"])


def test_clean_reply_is_released_whole_sentences_at_a_time() -> None:
    # given
    guard = OutputStreamGuard(context=ANN)

    # when
    pushed = [
        guard.feed(d) for d in ["Your order TW-", "100042 ship", "ped. It should", " arrive Friday.", " Anything else?"]
    ]
    result = guard.finish()

    # then
    # (a sentence is complete once the whitespace after its full stop arrives)
    assert pushed == ["", "", "Your order TW-100042 shipped.", "", " It should arrive Friday."]
    assert result.text == "Your order TW-100042 shipped. It should arrive Friday. Anything else?"
    assert guard.released == result.text
    assert guard.halted is False


def test_links_are_cleaned_before_release() -> None:
    # given
    guard = OutputStreamGuard(context=ANN)

    # when
    first = guard.feed("Details at https://evil.test/x?id=1 now. ")
    result = guard.finish()

    # then
    assert first == "Details at [link removed] now."
    assert result.text == "Details at [link removed] now."


def test_other_customers_data_is_never_released_and_the_reply_is_replaced() -> None:
    # given
    guard = OutputStreamGuard(context=ANN)

    # when
    first = guard.feed("Sure. ")
    second = guard.feed("Order TW-555555 belongs to bob@other.test. ")
    third = guard.feed("He lives at 1 Elm St. ")
    result = guard.finish()

    # then
    assert (first, second, third) == ("Sure.", "", "")
    assert guard.halted is True
    assert result.blocked is True
    assert result.text == REPLY_WITHHELD
    assert "TW-555555" not in guard.released


def test_promise_in_the_last_unfinished_sentence_blocks_at_finish() -> None:
    # given
    guard = OutputStreamGuard(context=ANN)

    # when
    first = guard.feed("Thanks for waiting. I have refunded your order")
    result = guard.finish()

    # then
    assert first == "Thanks for waiting."
    assert result.text == REPLY_NO_PROMISE
    assert guard.released == "Thanks for waiting."
