"""Phone numbers through python-phonenumbers, ids through python-stdnum; house numbers stay."""

from __future__ import annotations

import pytest
from django.test import override_settings

from apps.guardrails import GuardrailContext
from apps.guardrails.pii import CARD, IBAN, PHONE, SSN, find_pii, iban_valid, luhn_valid, mask_pii

EMPTY = GuardrailContext()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call me on (08) 8747 6301 after five.", "Call me on [PHONE ending 01] after five."),
        ("My number is (64) 3591-3246.", "My number is [PHONE ending 46]."),
        ("Fone: 8747 6301", "Fone: [PHONE ending 01]"),
        ("Handy - 0171 2345678", "Handy - [PHONE ending 78]"),
        ("ring +44 20 7946 0958 or 020 7946 0958", "ring [PHONE ending 58] or [PHONE ending 58]"),
        ("US office 415-555-0132", "US office [PHONE ending 32]"),
        ("mobile 07700 900123", "mobile [PHONE ending 23]"),
    ],
)
def test_phone_formats_are_masked(text: str, expected: str) -> None:
    # when
    masked, spans = mask_pii(text, context=EMPTY)

    # then
    assert masked == expected
    assert {s.type for s in spans} == {PHONE}


@pytest.mark.parametrize(
    "text",
    [
        "I live at 1600 Pennsylvania Avenue, Washington DC 20500.",
        "Please deliver to Hauptstraße 12, 10115 Berlin.",
        "The parcel went to 12345 Ocean Drive, Miami FL 33139.",
        "Order number 12345678 has not arrived.",
        "Tracking 1Z999AA10123456784 shows nothing, order TW-100234.",
        "Invoice: 20231108 for 49.99",
    ],
)
def test_street_numbers_postcodes_and_references_are_not_phones(text: str) -> None:
    # when
    spans = find_pii(text, context=EMPTY)

    # then
    assert [s for s in spans if s.type == PHONE] == []


@override_settings(GUARDRAILS_PHONE_REGION="AU", GUARDRAILS_PHONE_EXTRA_REGIONS=[])
def test_default_region_reads_national_numbers() -> None:
    # when
    masked, _ = mask_pii("call 08 8747 6301", context=EMPTY)

    # then
    assert masked == "call [PHONE ending 01]"


def test_customer_own_phone_stays() -> None:
    # given
    context = GuardrailContext.build(phones=["+61 8 8747 6301"])

    # when
    masked, spans = mask_pii("Call me on (08) 8747 6301.", context=context)

    # then
    assert masked == "Call me on (08) 8747 6301."
    assert spans == []


def test_stdnum_validates_iban_card_and_ssn() -> None:
    # then
    assert iban_valid("DE89 3704 0044 0532 0130 00") is True
    assert iban_valid("DE89 3704 0044 0532 0130 01") is False
    assert iban_valid("GB82 WEST 1234 5698 7654 32") is True
    assert luhn_valid("4111111111111111") is True
    assert luhn_valid("4111111111111112") is False


def test_invalid_ids_are_not_masked() -> None:
    # given: a broken IBAN checksum, a non-Luhn 16-digit number, an SSN with area 000
    text = "IBAN DE89 3704 0044 0532 0130 01, number 4111 1111 1111 1112, ssn 000-12-3456"

    # when
    spans = find_pii(text, context=EMPTY)

    # then
    assert [s.type for s in spans if s.type in (IBAN, CARD, SSN)] == []


def test_valid_ids_are_masked_with_their_endings() -> None:
    # when
    masked, spans = mask_pii(
        "IBAN DE89 3704 0044 0532 0130 00, card 4111 1111 1111 1111, ssn 123-45-6789", context=EMPTY
    )

    # then
    assert masked == "IBAN [IBAN ending 3000], card [CARD ending 1111], ssn [SSN]"
    assert [s.type for s in spans] == [IBAN, CARD, SSN]
