import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml

from apps.agents.offline.learned_classifier import expected_calibration_error, normalise
from apps.agents.routing import classifier as classifier_module
from apps.agents.routing.classifier import (
    RouteClassifier,
    get_classifier,
    load_examples,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is TW-100234?", "where is order number ?"),
        ("where is order {{Order Number}}", "where is order number"),
        ("cancel order 100234 now", "cancel order number now"),
        ("ship to {{Delivery Country}}", "ship to delivery country"),
        ("  plain   text ", "plain text"),
    ],
)
def test_normalise_masks_order_numbers_and_placeholders(text, expected):
    assert normalise(text) == expected


def test_examples_cover_every_route_and_contract_intent():
    # given the routing contract's intents (mirrored from route_map.json)
    contract = {
        "order": {
            "cancel_order",
            "change_order",
            "place_order",
            "track_order",
            "change_shipping_address",
            "set_up_shipping_address",
            "delivery_period",
        },
        "returns": {"get_refund", "track_refund", "check_refund_policy"},
        "billing": {"check_invoice", "get_invoice", "payment_issue", "check_payment_methods", "check_cancellation_fee"},
        "faq": {
            "delivery_options",
            "create_account",
            "delete_account",
            "edit_account",
            "recover_password",
            "registration_problems",
            "switch_account",
            "newsletter_subscription",
            "review",
        },
        "human": {"contact_human_agent", "contact_customer_service", "complaint"},
    }

    # when
    examples = load_examples()

    # then every intent has examples and every route has at least 90
    for route, intents in contract.items():
        have = {e.intent for e in examples if e.route == route}
        assert intents <= have, (route, intents - have)
    counts = {route: sum(1 for e in examples if e.route == route) for route in classifier_module.ROUTES}
    assert min(counts.values()) >= 90, counts
    texts = [e.text.lower() for e in examples]
    assert len(texts) == len(set(texts))


def test_calibrated_confidence_and_report():
    # when
    report = get_classifier().report

    # then calibration improved the out-of-fold ECE and it is small
    assert report.ece_calibrated <= report.ece_uncalibrated
    assert report.ece_calibrated < 0.05
    assert report.oof_accuracy >= 0.85
    assert 0.2 <= report.similarity_threshold < 0.5


def test_expected_calibration_error():
    # a perfectly calibrated 0.75 bin and an over-confident 1.0 bin
    confidences = np.array([0.75, 0.75, 0.75, 0.75, 1.0, 1.0])
    correct = np.array([True, True, True, False, True, False])
    assert expected_calibration_error(confidences, correct) == pytest.approx(2 / 6 * 0.5)


def test_predictions_carry_probabilities_over_every_route():
    [prediction] = get_classifier().predict(["where is my parcel"])

    assert prediction.route == "order"
    assert set(prediction.probabilities) == set(classifier_module.ROUTES)
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-3)
    assert prediction.confidence == max(prediction.probabilities.values())


def _tiny_examples(directory: Path) -> None:
    words = {
        "order": ["where is my parcel", "track my package", "cancel my order", "order status", "when will it arrive"],
        "returns": ["return an item", "i want a refund", "money back please", "send it back", "refund status"],
        "billing": ["invoice copy", "payment failed", "charged twice", "which cards do you accept", "my receipt"],
        "faq": ["reset password", "create account", "newsletter unsubscribe", "delete my account", "leave a review"],
        "human": ["talk to a human", "real person please", "file a complaint", "agent please", "call me back"],
        "out_of_scope": ["weather today", "play music", "book a flight", "pasta recipe", "capital of france"],
    }
    for route, texts in words.items():
        (directory / f"{route}.yaml").write_text(yaml.safe_dump({"route": route, "intents": {"x": texts}}))


def test_trained_classifier_is_cached_by_examples_hash_and_reused(tmp_path, monkeypatch):
    # given a small examples directory and an empty cache
    examples, cache = tmp_path / "examples", tmp_path / "cache"
    examples.mkdir()
    _tiny_examples(examples)

    # when loaded twice
    first = classifier_module._load_or_train(examples, cache)
    monkeypatch.setattr(RouteClassifier, "train", classmethod(lambda cls, *a, **k: pytest.fail("retrained")))
    second = classifier_module._load_or_train(examples, cache)

    # then it trained once, cached one file named by the digest, and the cache predicts the same
    [cached] = list(cache.glob("route-classifier-*.pickle"))
    assert cached.name == f"route-classifier-{classifier_module.examples_digest(examples)[:20]}.pickle"
    assert isinstance(pickle.loads(cached.read_bytes()), RouteClassifier)  # noqa: S301 - written by the test
    assert second.report.digest == first.report.digest
    assert second.predict(["refund please"])[0].route == first.predict(["refund please"])[0].route


def test_changed_examples_retrain(tmp_path):
    # given a cached classifier
    examples, cache = tmp_path / "examples", tmp_path / "cache"
    examples.mkdir()
    _tiny_examples(examples)
    classifier_module._load_or_train(examples, cache)

    # when an example file changes
    data = yaml.safe_load((examples / "faq.yaml").read_text())
    data["intents"]["x"].append("change my email address")
    (examples / "faq.yaml").write_text(yaml.safe_dump(data))
    retrained = classifier_module._load_or_train(examples, cache)

    # then a second cache file exists for the new digest
    assert len(list(cache.glob("route-classifier-*.pickle"))) == 2
    assert retrained.report.examples == 31


def test_a_corrupt_cache_file_is_retrained(tmp_path):
    examples, cache = tmp_path / "examples", tmp_path / "cache"
    examples.mkdir()
    cache.mkdir()
    _tiny_examples(examples)
    path = cache / f"route-classifier-{classifier_module.examples_digest(examples)[:20]}.pickle"
    path.write_bytes(b"not a pickle")

    classifier = classifier_module._load_or_train(examples, cache)

    assert classifier.report.examples == 30
    assert isinstance(pickle.loads(path.read_bytes()), RouteClassifier)  # noqa: S301 - written by the test
