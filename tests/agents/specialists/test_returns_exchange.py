"""What the returns specialist reads from a customer's words about an exchange, and what it says instead."""

from __future__ import annotations

import pytest

from apps.agents.specialists.returns.exchange import pick_variant, step_variant
from apps.agents.specialists.returns.refusals import other_candidates

HOODIE_OPTIONS = ["S / Navy", "L / Navy", "XL / Navy", "M / Heather Grey", "L / Heather Grey"]


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ("a large", "L / Navy"),  # the colour they have is kept
        ("large in heather grey", "L / Heather Grey"),
        ("the grey one", None),  # two grey sizes: which one is asked
        ("another colour", None),
        ("", None),
    ],
)
def test_the_variant_wanted_is_read_against_the_products_own_variants(wanted: str, expected: str | None) -> None:
    # when
    index = pick_variant("M / Navy", HOODIE_OPTIONS, wanted)

    # then
    assert (HOODIE_OPTIONS[index] if index is not None else None) == expected


@pytest.mark.parametrize(
    ("current", "names", "text", "expected"),
    [
        ("M / Navy", HOODIE_OPTIONS, "can i exchange it for a bigger size?", "L / Navy"),
        ("M / Navy", HOODIE_OPTIONS, "one size down please", "S / Navy"),
        ("M / Navy", HOODIE_OPTIONS, "the hoodie is too small, can i exchange it?", "L / Navy"),
        ("M / Navy", HOODIE_OPTIONS, "it's way too big on me, swap it please", "S / Navy"),
        ("US 9", ["US 8", "US 10", "US 11"], "a size up", "US 10"),
        ("XL / Navy", ["M / Navy", "L / Navy"], "bigger", None),  # none bigger
        ("M / Navy", HOODIE_OPTIONS, "a different colour", None),
    ],
)
def test_a_bigger_or_smaller_size_is_the_next_one_in_the_same_colour(
    current: str, names: list[str], text: str, expected: str | None
) -> None:
    # when
    index = step_variant(current, names, text)

    # then
    assert (names[index] if index is not None else None) == expected


def test_other_orders_holding_what_the_request_names_are_each_explained() -> None:
    # given "the jacket": a final-sale denim one on a delivered order, a rain jacket not delivered yet
    listed = [
        {
            "number": "TW-1",
            "status": "delivered",
            "status_label": "Delivered",
            "placed_on": "2026-11-23",
            "items": ["1 x Sample Sale Denim Jacket (M / Indigo)", "1 x Canvas Tote Bag (Natural)"],
            "total": "78.84",
            "returnable": True,
            "window_ends_on": "2026-12-27",
            "refusals": [],
        },
        {
            "number": "TW-2",
            "status": "processing",
            "status_label": "Processing",
            "placed_on": "2026-12-05",
            "items": ["1 x Tidewater Rain Jacket (M / Yellow)"],
            "total": "139.32",
            "returnable": False,
            "window_ends_on": None,
            "refusals": ["not_delivered"],
        },
        {
            "number": "TW-3",
            "status": "shipped",
            "status_label": "Shipped",
            "placed_on": "2026-12-03",
            "items": ["1 x Trail Runners (US 8)"],
            "total": "145.80",
            "returnable": False,
            "window_ends_on": None,
            "refusals": ["not_delivered"],
        },
    ]

    # when
    said = other_candidates(["i want to return the jacket"], listed, "TW-1", 30)

    # then the rain jacket is named with why it cannot go back yet; the trail runners are not named
    assert said == (
        "Tidewater Rain Jacket (M / Yellow) from order TW-2 hasn't been delivered yet (processing): once it arrives "
        "you can return it within 30 days."
    )
    assert other_candidates(["i want to return the tote"], listed, "TW-1", 30) == ""
