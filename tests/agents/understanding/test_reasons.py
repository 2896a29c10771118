import pytest

from apps.agents.understanding.reasons import return_reason

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
