from apps.agents.routing.classifier import Prediction
from apps.agents.routing.router import settle_prediction


def _out_of_scope(p: float, *, similarity: float) -> Prediction:
    rest = round(1.0 - p, 4)
    probabilities = {"out_of_scope": p, "billing": rest, "order": 0.0, "returns": 0.0, "faq": 0.0, "human": 0.0}
    return Prediction("out_of_scope", p, probabilities, similarity=similarity, reason=f"classifier: out_of_scope p={p}")


def test_an_out_of_scope_verdict_near_the_shops_examples_needs_to_be_surer_to_refuse():
    # given the same out_of_scope probability for a message unlike the shop's examples and one near them
    far_off = _out_of_scope(0.7, similarity=0.45)
    near = _out_of_scope(0.7, similarity=0.65)
    near_and_sure = _out_of_scope(0.85, similarity=0.65)

    # when the router settles them
    settled = [settle_prediction(p) for p in (far_off, near, near_and_sure)]

    # then only the one near the shop's examples, and not sure enough, goes to the likeliest specialist
    assert [p.route for p in settled] == ["out_of_scope", "billing", "out_of_scope"]
    assert settled[1].confidence == 0.3
    assert settled[1].reason == "classifier: billing p=0.30 (out_of_scope unclear, sim 0.65)"
