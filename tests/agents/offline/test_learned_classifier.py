import sys

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
