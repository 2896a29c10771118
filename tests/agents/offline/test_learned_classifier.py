import sys

import joblib
import numpy as np
import pytest

from apps.agents.offline.learned_classifier import (
    LearnedClassifier,
    Regression,
    _as_logits,
    fit_calibrated,
    softmax,
)

_WORDS = ["refund", "track", "parcel", "invoice", "cancel", "hello", "broken", "mug", "where", "charge"]


def _data(classes: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    rng = np.random.default_rng(5)
    labels = np.arange(60) % classes
    texts = [" ".join(rng.choice(_WORDS, size=4)) + f" {_WORDS[label]}" for label in labels]
    vectors = rng.normal(size=(60, 16)).astype(np.float32) + labels[:, None].astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), texts, labels


@pytest.mark.parametrize(("classes", "lexical_weight"), [(3, 0.5), (3, 0.0), (2, 0.5), (2, 0.0)])
def test_exported_inference_equals_scikit_learns_on_the_training_examples(classes, lexical_weight):
    # given a calibrated fit with and without character n-grams, binary and multi-class
    vectors, texts, labels = _data(classes)
    fit = fit_calibrated(
        vectors, texts, labels, classes=classes, folds=3, regression=Regression(), lexical_weight=lexical_weight
    )
    expected = softmax(_as_logits(fit.model.decision_function(fit.features.transform(vectors, texts))), fit.temperature)

    # when the classifier (numpy only) predicts the same examples
    probabilities = LearnedClassifier(fit=fit, classes=[str(c) for c in range(classes)]).probabilities(vectors, texts)

    # then the probabilities are scikit-learn's
    assert probabilities.shape == (60, classes)
    assert np.abs(probabilities - expected).max() < 1e-9


def test_a_fitted_classifier_holds_no_scikit_learn_object():
    # given a fitted classifier with n-gram features
    vectors, texts, labels = _data(3)
    fit = fit_calibrated(vectors, texts, labels, classes=3, folds=3, regression=Regression(), lexical_weight=0.5)

    # when it is built
    classifier = LearnedClassifier(fit=fit, classes=["a", "b", "c"])

    # then nothing it holds comes from scikit-learn or SciPy (loading its cache imports neither)
    held = [classifier.coef, classifier.intercept, classifier.lexical, classifier.lexical.idf]
    assert {type(v).__module__.split(".")[0] for v in held} == {"numpy", "apps"}
    assert "sklearn" in sys.modules  # the fit itself did use it


def _classifier() -> LearnedClassifier:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(40, 8)).astype(np.float32)
    labels = np.array([0, 1] * 20)
    vectors[labels == 1] += 1.5
    texts = [("refund my order" if label else "where is my parcel") + f" {i}" for i, label in enumerate(labels)]
    fit = fit_calibrated(
        vectors, texts, labels, classes=2, folds=4, regression=Regression(max_iter=200), lexical_weight=0.5
    )
    return LearnedClassifier(fit=fit, classes=["order", "returns"])


def test_a_repeated_input_gets_the_row_computed_the_first_time_without_computing_it_again(monkeypatch):
    # given a classifier that has seen one input
    classifier = _classifier()
    vectors = np.eye(2, 8, dtype=np.float32)
    first = classifier.probabilities(vectors[:1], ["where is my parcel"])
    computed: list[int] = []
    real = classifier._probabilities

    def counting(vectors, texts):
        computed.append(len(vectors))
        return real(vectors, texts)

    monkeypatch.setattr(classifier, "_probabilities", counting)

    # when the same input comes again beside a new one, and the same vector with other text
    again = classifier.probabilities(vectors, ["where is my parcel", "refund please"])
    other_text = classifier.probabilities(vectors[:1], ["refund please"])

    # then only the new inputs were computed, and the remembered row is the one computed before
    assert computed == [1, 1]
    assert np.array_equal(again[0], first[0])
    assert np.allclose(again[1], real(vectors[1:], ["refund please"])[0])
    assert np.allclose(other_text[0], real(vectors[:1], ["refund please"])[0])


def test_the_memory_of_recent_inputs_is_not_written_to_the_disk_cache(tmp_path):
    # given a classifier that has answered once
    classifier = _classifier()
    classifier.probabilities(np.ones((1, 8), dtype=np.float32), ["refund please"])

    # when
    joblib.dump(classifier, tmp_path / "classifier.joblib")
    restored = joblib.load(tmp_path / "classifier.joblib")

    # then
    assert "_recent" not in restored.__dict__
    assert restored.classes == ["order", "returns"]
