import pytest

from apps.agents.understanding.reasons import asks_what_if, return_obstacle, return_reason

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("wrong size", "size"),  # the phrase patterns answer first
        ("changed my mind", "changed_mind"),
        ("the strap ripped off after a day", "damaged"),
        ("my jumper has a hole near the cuff, can you refund me", "damaged"),  # the classifier, on a clause
        ("returning the lamp, we really have no use for it", "changed_mind"),
        # the whole message gives no sure reason: the surest clause's
        ("my brother gave me the same kettle last week lol, so i dont need the one i ordered", "changed_mind"),
        ("i want to return the hoodie", None),  # a return asked for with no reason: the specialist asks
        ("", None),
    ],
)
def test_the_reason_comes_from_the_customers_words_or_is_asked(text, reason):
    assert return_reason(text) == reason


@pytest.mark.parametrize(
    ("text", "obstacle"),
    [
        ("the parcel turned up squashed but the lamp works fine", "packaging_only"),
        # washed, worn or damaged by the customer: the policy answers, no return is started
        ("i shrank the wool jumper in a hot wash, can i still send it back?", "customer_damage"),
        # every other return situation: damage to the item, a defect, a size, a change of mind, use denied
        ("the lamp arrived with a crack in it", None),
        ("the box was crushed and the vase inside is in pieces", None),
        ("never wore the boots once, the tags are still attached, can they go back?", None),
        ("too small, can i return it", None),
        ("i want to return the tote, changed my mind", None),
        ("", None),
    ],
)
def test_a_damaged_box_around_a_working_item_is_read_from_the_customers_words(text, obstacle):
    assert return_obstacle(text) == obstacle


@pytest.mark.parametrize(
    ("text", "what_if"),
    [
        # what WOULD happen if the customer sent their item back: answered with the facts, the return only offered
        ("if i send the hoodie back what do i get back?", True),
        ("would i pay the return fee if the runners dont fit?", True),  # a reason inside a what-if asks nothing
        ("ok thanks for sorting that. last q, if i send the bottle back do i have to pay for the label", True),
        ("hi, i got the throw last week. what would it cost me to send it back if it doesnt match", True),
        # a request, or an answer to the specialist's own question
        ("can i return the chinos, they dont fit", False),
        ("the shoes are too small, i'd like to return them for a refund", False),
        ("i'd like to return the jacket, how much will i get back?", False),  # a request, asking what it brings
        ("yes", False),
        ("the second one", False),
        ("", False),
    ],
)
def test_a_question_about_what_a_return_would_cost_is_told_from_a_request(text, what_if):
    assert asks_what_if(text) is what_if
