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
        ("Mon adresse est 7 rue de la Paix, 75002 Paris.", "Mon adresse est [ADDRESS]."),
        ("It went to 1600 Pennsylvania Avenue NW by mistake.", "It went to [ADDRESS] by mistake."),
        ("New address: 80334 Kelsey Parkways Suite 801.", "New address: [ADDRESS]."),
        ("Ship to 462 Graves Crossing, Apt. 12 please", "Ship to [ADDRESS] please"),
        ("Studio 7\nMorrison Gateway is where I live", "[ADDRESS] is where I live"),
        ("Please deliver to Hans-Werner-Pohl-Straße 50/80", "Please deliver to [ADDRESS]"),
        ("Dirección: Cuesta de Cruz Sastre 2 Piso 7", "Dirección: [ADDRESS]"),
        ("Indirizzo: Via Giuseppe Verdi 14, grazie", "Indirizzo: [ADDRESS], grazie"),
        ("It should go to Tulpdreef 19 instead.", "It should go to [ADDRESS] instead."),
        ("Ship to 55667 Jason Prairie,  Myersside, MD 16121 thanks", "Ship to [ADDRESS] thanks"),
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Order for Mrs Jemma Smith, thanks", "Order for Mrs [NAME], thanks"),
        ("My name is Kornelius and I ordered a lamp.", "My name is [NAME] and I ordered a lamp."),
        ("The parcel was signed for by Pascale Stumpf.", "The parcel was signed for by [NAME]."),
        ("Kind regards, Anouk Willemsen", "Kind regards, [NAME]"),
        ("Hi, this is Amanda, where is my parcel?", "Hi, this is [NAME], where is my parcel?"),
    ],
)
def test_names_after_a_title_or_a_cue_are_masked(text: str, expected: str) -> None:
    # when
    masked, spans = redact_for_operators(text)

    # then
    assert masked == expected
    assert [s.type for s in spans] == [PERSON]


@pytest.mark.parametrize(
    "text",
    [
        "I did 2 walks today and the shoes already hurt.",
        "This is Urgent, my order never came.",
        "I bought 3 Garden Chairs and 1 Table in the sale.",
        "I'm Not happy with the mug, it arrived chipped.",
    ],
)
def test_capitalised_words_that_are_no_name_or_address_stay(text: str) -> None:
    # when
    masked, spans = redact_for_operators(text)

    # then
    assert masked == text
    assert spans == []


def test_operator_view_masks_everything_check_input_masks_too() -> None:
    # when
    masked, spans = redact_for_operators("I'm Sarah Jones at 12 Elm Close, call (08) 8747 6301 or sj@example.org")

    # then
    assert masked == "I'm [NAME] at [ADDRESS], call [PHONE ending 01] or [EMAIL]"
    assert PHONE in {s.type for s in spans}


def test_building_and_street_numbers_are_not_a_phone() -> None:
    # when
    masked, spans = redact_for_operators("My address is 975 3968 Bay Street, Toronto.")

    # then
    assert "PHONE" not in masked
    assert [s.type for s in spans] == [STREET_ADDRESS]


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
