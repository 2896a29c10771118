"""Names and street addresses of many countries, masked whole in what operators read; the shop's own words,
products, order numbers, amounts and dates stay; numbers that name an account or a document are no phone."""

from __future__ import annotations

import pytest

from apps.guardrails import GuardrailContext
from apps.guardrails.entities import PERSON, STREET_ADDRESS, redact_for_operators
from apps.guardrails.names import first_names, fold, is_first_name
from apps.guardrails.pii import find_pii, mask_pii


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Deliver to Flat 2, 14 Elm Grove, Leeds LS6 2AB please.", "Deliver to [ADDRESS] please."),
        ("Please send it to 1234 Maple Ave, Apt 5B, Springfield, IL 62704.", "Please send it to [ADDRESS]."),
        ("New address: Bahnhofstraße 12, 10115 Berlin", "New address: [ADDRESS]"),
        ("Please ship to 15 boulevard Saint-Michel, 75005 Paris.", "Please ship to [ADDRESS]."),
        ("Ship to Unit 4/27 Smith Street, Fitzroy VIC 3065 thanks", "Ship to [ADDRESS] thanks"),
        ("Dirección de envío: C/ de Alcalá 45, 3º izq, 28014 Madrid", "Dirección de envío: [ADDRESS]"),
        ("deliver to Rua do Ouro 120, 1100-061 Lisboa", "deliver to [ADDRESS]"),
        ("Send it to Kalverstraat 92, 1012 PH Amsterdam.", "Send it to [ADDRESS]."),
        ("Please post it to ul. Marszałkowska 84/92 m. 15, 00-514 Warszawa.", "Please post it to [ADDRESS]."),
        ("Can you deliver to Mannerheimintie 10 A 5, 00100 Helsinki?", "Can you deliver to [ADDRESS]?"),
        ("Address is Drottninggatan 12, 111 51 Stockholm", "Address is [ADDRESS]"),
        ("I moved to Av. Paulista, 1578 - Bela Vista, São Paulo - SP, 01310-200.", "I moved to [ADDRESS]."),
        ("Ship it to 1-2-3 Shibuya, Shibuya-ku, Tokyo 150-0002.", "Ship it to [ADDRESS]."),
        ("Can you send it to 12 Main Street, Ballincollig, Co. Cork, P31 X2Y3?", "Can you send it to [ADDRESS]?"),
        ("ship to 22 ponsonby road auckland 1011", "ship to [ADDRESS]"),
        ("Please change the address to PO Box 1290, Boulder, CO 80306.", "Please change the address to [ADDRESS]."),
        ("I'm deployed, please ship to PSC 4115, Box 7815\nAPO AE 09123.", "I'm deployed, please ship to [ADDRESS]."),
        ("Ship to:\n7780 Brookside Terrace Apt. 4\nEast Meredith, WA 98012", "Ship to:\n[ADDRESS]"),
        ("It went to 9 Orchard Lane, Harrogate, Thanks", "It went to [ADDRESS], Thanks"),
    ],
)
def test_addresses_of_many_countries_are_masked_with_their_town_and_postcode(text: str, expected: str) -> None:
    # when
    masked, spans = redact_for_operators(text)

    # then
    assert masked == expected
    assert [s.type for s in spans] == [STREET_ADDRESS]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Giulia Romano here, the Stoneware Mug arrived broken.", "[NAME] here, the Stoneware Mug arrived broken."),
        ("Nguyễn Thị Mai ordered the Linen Bedding Set for me.", "[NAME] ordered the Linen Bedding Set for me."),
        ("The parcel was left with Ludwig van der Berg.", "The parcel was left with [NAME]."),
        ("my name is sarah jones and i want a refund", "my name is [NAME] and i want a refund"),
        ("Please let Ingrid know the return was received.", "Please let [NAME] know the return was received."),
    ],
)
def test_names_spacy_does_not_know_are_masked(text: str, expected: str) -> None:
    # when
    masked, spans = redact_for_operators(text)

    # then
    assert masked == expected
    assert [s.type for s in spans] == [PERSON]


@pytest.mark.parametrize(
    "text",
    [
        "Where is my Harbor Hoodie? Order TW-100455 was due on 14 March.",
        "I was charged $145.80 twice for the Enamel Dutch Oven.",
        "The Tidewater Rain Jacket leaks at the seams, I want a refund.",
        "My Leather Wallet came without the Engraved Keyring I paid for.",
        "The Coastal Beanie is out of stock, when will it be back?",
        "Hi Tidewater team, please cancel order TW-101220 before it ships.",
        "The total was €70,92 but my bank shows €79,92.",
        "How long does delivery to San Francisco take?",
        "Black Friday discount code didn't apply to the Wireless Earbuds.",
        "Can I swap the Merino Crew Socks (3-pack) for size 10, Ref. TW-100982?",
        "can ya help me check my order",
        "The Canvas Tote Bag and 2 Floor Cushions arrived on 2024-12-18.",
    ],
)
def test_products_shop_orders_amounts_and_dates_stay(text: str) -> None:
    # when
    masked, spans = redact_for_operators(text)

    # then
    assert masked == text
    assert spans == []


@pytest.mark.parametrize(
    "text",
    [
        "My passport number is 533 380 006, do you need it for customs?",
        "The refund should go to account number 0123456789 at my bank.",
        "Booking reference 7723 4410 99 is on the confirmation email.",
        "Policy number: 20 4455 6677 for the shipping insurance claim.",
        "Driver's licence: 0423 5568 901",
    ],
)
def test_a_number_labelled_as_something_else_is_no_phone(text: str) -> None:
    # when
    masked, spans = mask_pii(text, context=GuardrailContext())

    # then
    assert masked == text
    assert spans == []


def test_a_phone_after_another_label_and_a_phone_word_is_masked() -> None:
    # when
    masked, _ = mask_pii("my order number is 12345 and my phone is 020 7946 0011", context=GuardrailContext())

    # then
    assert masked == "my order number is 12345 and my phone is [PHONE ending 11]"


def test_first_names_come_from_many_countries_and_rare_word_like_entries_are_left_out() -> None:
    # when
    names = first_names()

    # then
    assert {"giulia", "siobhan", "tomasz", "hiroshi", "thi", "sven"} <= names
    assert not {"floor", "royal", "merino"} & names
    assert fold("Siobhán") == "siobhan"
    assert is_first_name("Jürgen")
    assert not is_first_name("Will")  # an English stop word


def test_names_and_addresses_from_model_and_check_input_combine() -> None:
    # given
    text = "Hannah Schmidt\nLindenweg 3a, 50667 Köln, Tel. 0221 4567890"

    # when
    masked, spans = redact_for_operators(text)

    # then
    assert masked == "[NAME]\n[ADDRESS], Tel. [PHONE ending 90]"
    assert [s.type for s in spans] == [PERSON, STREET_ADDRESS, "PHONE_NUMBER"]
    assert find_pii(text, context=GuardrailContext())[0].type == "PHONE_NUMBER"
