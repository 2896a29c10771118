import pytest

from apps.agents.understanding.reasons import return_obstacle, return_reason

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("wrong size", "size"),  # the phrase patterns answer first
        ("changed my mind", "changed_mind"),
        ("the strap ripped off after a day", "damaged"),
        ("my jumper has a hole near the cuff, can you refund me", "damaged"),  # the classifier, on a clause
        ("returning the lamp, we really have no use for it", "changed_mind"),
        ("i want to return the hoodie", None),  # a return asked for with no reason: the specialist asks
        ("", None),
    ],
)
def test_the_reason_comes_from_the_customers_words_or_is_asked(text, reason):
    assert return_reason(text) == reason


@pytest.mark.parametrize(
    ("text", "obstacle"),
    [
        ("i shrank the wool jumper in a hot wash, can i still send it back?", "customer_damage"),
        ("my son spilled juice on the duvet cover, can i return it", "customer_damage"),
        ("the parcel turned up squashed but the lamp works fine", "packaging_only"),
        # every other return situation: a defect, damage to the item in transit, a size, a change of mind
        ("the lamp arrived with a crack in it", None),
        ("the skillet is already rusting after two uses, even though i seasoned it. i want to return it", None),
        ("too small, can i return it", None),
        ("i want to return the tote, changed my mind", None),
        ("", None),
    ],
)
def test_what_cannot_go_back_as_a_return_is_read_from_the_customers_words(text, obstacle):
    assert return_obstacle(text) == obstacle
