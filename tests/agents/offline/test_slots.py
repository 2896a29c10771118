import pytest

from apps.agents.confirmation import extract_confirmation
from apps.agents.offline.slots import (
    ALL,
    RETURN_REASONS,
    ItemMatch,
    extract_email,
    extract_emails,
    extract_order_number,
    extract_order_numbers,
    extract_quantity,
    extract_return_reason,
    match_item,
    match_items,
)
from apps.commerce.models import ReturnReason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Where is order TW-100234?", "TW-100234"),
        ("where is tw-100234", "TW-100234"),
        ("tw 100234 hasn't arrived", "TW-100234"),
        ("TW100234", "TW-100234"),
        ("ref tw_100234 please", "TW-100234"),
        ("TW#100234", "TW-100234"),
        ("my order #100234 is late", "TW-100234"),
        ("# 100234", "TW-100234"),
        ("order 100234 is late", "TW-100234"),
        ("Order number: 100234", "TW-100234"),
        ("order no. 100234", "TW-100234"),
        ("order nr 100234", "TW-100234"),
        ("order #100234", "TW-100234"),
        ("100234", "TW-100234"),
        ("  100234. ", "TW-100234"),
        ("it's TW-100234.", "TW-100234"),
    ],
)
def test_extract_order_number_accepts_our_format_and_tolerant_variants(text, expected):
    # given a customer message naming an order
    # when the order number is extracted
    # then it comes back canonical
    assert extract_order_number(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "where is my order",
        "my postcode is 100234 and it's late",  # a bare six-digit number inside a sentence is not taken
        "call me on 0044 7700 900123",
        "TW-12345 is too short",
        "TW-1002345 is too long",
        "order 12345",
        "ATW-100234",
        "",
    ],
)
def test_extract_order_number_returns_none_without_an_order_number(text):
    assert extract_order_number(text) is None


def test_extract_order_numbers_keeps_order_and_drops_duplicates():
    # given two orders, one named twice in different forms
    text = "TW-100234 and #100999, and again tw 100234"

    # when / then
    assert extract_order_numbers(text) == ["TW-100234", "TW-100999"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my email is Jane.Doe+shop@Example.co.uk", "jane.doe+shop@example.co.uk"),
        ("send it to bob@example.com.", "bob@example.com"),
        ("<ana@mail.example>", "ana@mail.example"),
        ("no email here @ all", None),
        ("bob@localhost", None),
    ],
)
def test_extract_email(text, expected):
    assert extract_email(text) == expected


def test_extract_emails_dedupes_case_insensitively():
    assert extract_emails("A@x.io, b@y.io and a@X.io") == ["a@x.io", "b@y.io"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", 2),
        ("I want to return 2 of them", 2),
        ("2x please", 2),
        ("x3", 3),
        ("two mugs", 2),
        ("Three", 3),
        ("both", 2),
        ("both of them please", 2),
        ("a couple of towels", 2),
        ("a dozen napkins", 12),
        ("one more towel", 1),
        ("all of them", ALL),
        ("everything", ALL),
        ("return 2 of the 4 plates", 2),
        ("the other one", None),
        ("this one please", None),
        ("which one?", None),
        ("order TW-100234", None),
        ("order 100234", None),
        ("it cost $25", None),
        ("I paid 19.99 USD", None),
        ("size 10 please", None),
        ("at 3pm", None),
        ("in 2024", None),
        ("mail me at a2@b.com", None),
        ("no quantity here", None),
    ],
)
def test_extract_quantity(text, expected):
    assert extract_quantity(text) == expected


ITEMS = ["Linen Duvet Cover (King / White)", "Ceramic Mug (Blue)", "Oak Side Table", "Ceramic Vase (Green)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the duvet cover", "Linen Duvet Cover (King / White)"),
        ("the mugs arrived broken", "Ceramic Mug (Blue)"),
        ("the blue mug", "Ceramic Mug (Blue)"),
        ("the side tabel is scratched", "Oak Side Table"),
        ("Oak Side Table", "Oak Side Table"),
        ("the green vase", "Ceramic Vase (Green)"),
        ("the ceramic one", None),  # mug or vase: ask, don't guess
        ("ceramic mug (blue)", "Ceramic Mug (Blue)"),
        ("the sofa", None),
        ("", None),
    ],
)
def test_match_item(text, expected):
    assert match_item(text, ITEMS) == expected


def test_match_items_ranks_and_scores():
    # given a message naming the vase, sharing a word with the mug
    # when / then the vase comes first, the mug second with the shared word only
    assert match_items("the ceramic vase", ITEMS) == [
        ItemMatch("Ceramic Vase (Green)", 0.8),
        ItemMatch("Ceramic Mug (Blue)", 0.4),
    ]


def test_match_items_ignores_a_variant_word_alone():
    assert match_items("the white one", ITEMS) == []


def test_match_items_exact_name_scores_one():
    assert match_items("I want to return the oak side table", ITEMS) == [ItemMatch("Oak Side Table", 1.0)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("it arrived damaged", "damaged"),
        ("the mug is cracked", "damaged"),
        ("the lamp stopped working", "damaged"),
        ("it doesn't work", "damaged"),
        ("It doesn’t work", "damaged"),
        ("box was crushed and the glass shattered", "damaged"),
        ("the jeans are too small", "size"),
        ("doesn't fit me", "size"),
        ("wrong size", "size"),
        ("I need a bigger size", "size"),
        ("you sent me the wrong item", "wrong_item"),
        ("this is not what I ordered", "wrong_item"),
        ("wrong colour", "wrong_item"),
        ("it looks nothing like the picture", "not_as_described"),
        ("not as described", "not_as_described"),
        ("very poor quality", "not_as_described"),
        ("I changed my mind", "changed_mind"),
        ("I don't need it anymore", "changed_mind"),
        ("ordered it by mistake", "changed_mind"),
        ("for some other reason", "other"),
        ("too small and broken", "damaged"),  # damaged comes first
        ("no damage, i just dont like it", "changed_mind"),  # a reason denied is no reason
        ("it's not broken but it's too small", "size"),
        ("not really damaged", None),
        ("I want to return it", None),
        ("", None),
    ],
)
def test_extract_return_reason(text, expected):
    assert extract_return_reason(text) == expected


def test_return_reasons_are_commerce_return_reason_values():
    assert set(RETURN_REASONS) == set(ReturnReason.values)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("Yes please", True),
        ("yes, go ahead", True),
        ("ok", True),
        ("OK do it", True),
        ("sure, thanks!", True),
        ("y", True),
        ("confirm", True),
        ("that's right", True),
        ("Yep 👍", True),
        ("no", False),
        ("No thanks", False),
        ("nope", False),
        ("don't", False),
        ("cancel it", False),
        ("wait", False),
        ("no, send it to the other address", False),
        ("never mind", False),
        ("yes but to my other address", None),
        ("yes?", True),
        ("maybe", None),
        ("thanks", None),
        ("please", None),
        ("where is my order", None),
        ("", None),
    ],
)
def test_extract_confirmation(text, expected):
    assert extract_confirmation(text) is expected
