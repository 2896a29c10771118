"""Size limit and invisible-character stripping."""

from __future__ import annotations

from django.test import override_settings

from apps.guardrails import INPUT_SIZE, INPUT_UNICODE, Action, check_input
from apps.guardrails.text import clean, fold


def test_invisible_and_control_characters_are_stripped() -> None:
    # given: zero-width space, bidi override, BEL, BOM, soft hyphen
    text = "Where\u200b is my\u202e order\x07?\ufeff Ship\u00adping"

    # when
    result = check_input(text)

    # then
    assert result.text == "Where is my order? Shipping"
    verdict = result.verdict(INPUT_UNICODE)
    assert verdict.tripped is True
    assert verdict.action == Action.MASK
    assert verdict.detail == {"removed": {"bidi": 1, "control": 1, "invisible": 3}}


def test_newlines_tabs_emoji_and_accents_survive() -> None:
    # given: a family emoji joined by ZWJ, a flag, accents, CRLF
    text = "Merci beaucoup 👨\u200d👩\u200d👧 🇫🇷\r\nLigne\tdeux, café"

    # when
    result = check_input(text)

    # then
    assert result.text == "Merci beaucoup 👨\u200d👩\u200d👧 🇫🇷\nLigne\tdeux, café"
    assert result.verdict(INPUT_UNICODE).tripped is False


def test_stacked_variation_selectors_are_removed() -> None:
    # when
    cleaned = clean("ok\ufe0f\ufe0f\ufe0f" + "\U000e0101" * 4)

    # then
    assert cleaned.text == "ok\ufe0f"
    assert cleaned.removed == {"variation_selector": 6}


def test_clean_keeps_plain_text_whole_and_reads_each_other_character_in_place() -> None:
    # given: printable ASCII around characters to drop, keep and decode, at the start, middle and end
    text = "\u200bHello\x07 w\u00e9\ufe0fld\U000e0068\U000e0069 \u202eend\r\n\ufe0f\ufe0f"

    # when
    plain = clean("Order TW-100003: where is it?\n\tThanks!")
    cleaned = clean(text)

    # then: plain text comes back as it was; the rest is read character by character as before
    assert plain.text == "Order TW-100003: where is it?\n\tThanks!"
    assert plain.removed == {}
    assert cleaned.text == "Hello w\u00e9\ufe0fld end\n\ufe0f"
    assert cleaned.removed == {"invisible": 1, "control": 1, "tag": 2, "bidi": 1, "variation_selector": 1}
    assert cleaned.hidden_text == "hi"


def test_fold_maps_look_alikes_and_accents() -> None:
    assert fold("ＩＧＮＯＲＥ  Précédentes\tіnstructions") == "ignore precedentes instructions"


@override_settings(GUARDRAILS_MAX_INPUT_CHARS=20)
def test_oversized_message_is_blocked_and_only_its_cleaned_head_is_kept() -> None:
    # given
    text = "My card is 4242424242424242 and I want a refund"

    # when
    result = check_input(text)

    # then
    verdict = result.verdict(INPUT_SIZE)
    assert verdict.tripped is True
    assert verdict.action == Action.BLOCK
    assert verdict.detail == {"chars": 47, "limit": 20}
    assert result.blocked is True
    assert result.text == "My card is 424242424"


def test_message_within_limit_passes_size_check() -> None:
    # when
    result = check_input("Where is my order?")

    # then
    assert result.verdict(INPUT_SIZE).tripped is False
    assert result.action == Action.ALLOW
    assert [v.name for v in result.verdicts] == ["input.size", "input.unicode", "input.injection", "input.pii"]
