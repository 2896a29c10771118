"""Names and street addresses masked in what operators read; the model still sees them."""

from __future__ import annotations

import pytest
from django.test import override_settings

from apps.guardrails import check_input
from apps.guardrails.entities import PERSON, STREET_ADDRESS, find_names_addresses, redact_for_operators
from apps.guardrails.pii import PHONE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Send it to 42 Harbour Road, Bristol BS1 5TY please.", "Send it to [ADDRESS] please."),
        ("My flat is Flat 3, 18 Queen's Road, Manchester M1 2AB.", "My flat is [ADDRESS]."),
        ("Lieferung an Lindenweg 3a bitte.", "Lieferung an [ADDRESS] bitte."),
        ("Mon adresse est 7 rue de la Paix, 75002 Paris.", "Mon adresse est [ADDRESS] Paris."),
        ("It went to 1600 Pennsylvania Avenue NW by mistake.", "It went to [ADDRESS] by mistake."),
    ],
)
def test_street_addresses_are_masked_for_operators(text: str, expected: str) -> None:
    # when
    masked, spans = redact_for_operators(text)

    # then
    assert masked == expected
    assert [s.type for s in spans] == [STREET_ADDRESS]


def test_names_are_masked_for_operators() -> None:
    # when
    masked, spans = redact_for_operators("Hello, this is Maria Lopez, my husband David Chen placed the order.")

    # then
    assert masked == "Hello, this is [NAME], my husband [NAME] placed the order."
    assert [s.type for s in spans] == [PERSON, PERSON]


def test_operator_view_masks_everything_check_input_masks_too() -> None:
    # when
    masked, spans = redact_for_operators("I'm Sarah Jones at 12 Elm Close, call (08) 8747 6301 or sj@example.org")

    # then
    assert masked == "I'm [NAME] at [ADDRESS], call [PHONE ending 01] or [EMAIL]"
    assert PHONE in {s.type for s in spans}


def test_house_number_inside_an_address_is_not_a_phone() -> None:
    # when
    masked, spans = redact_for_operators("Deliver to 12345 Ocean Drive, Miami FL 33139")

    # then
    assert masked == "Deliver to [ADDRESS]"
    assert [s.type for s in spans] == [STREET_ADDRESS]


def test_model_input_keeps_names_and_addresses() -> None:
    # when
    result = check_input("I'm Maria Lopez, please deliver to 42 Harbour Road instead.")

    # then: the agent needs them for the delivery
    assert result.text == "I'm Maria Lopez, please deliver to 42 Harbour Road instead."


def test_ordinary_text_has_no_names_or_addresses() -> None:
    # when
    spans = find_names_addresses("Where is my order TW-100234? 2 items are on the way, I pay via card.")

    # then
    assert spans == []


@override_settings(GUARDRAILS_NAME_MODEL="")
def test_names_are_left_when_no_name_model_is_configured() -> None:
    # when
    masked, spans = redact_for_operators("This is Maria Lopez at 42 Harbour Road.")

    # then
    assert masked == "This is Maria Lopez at [ADDRESS]."
    assert [s.type for s in spans] == [STREET_ADDRESS]
