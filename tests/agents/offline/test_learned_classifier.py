"""A fitted classifier remembers the rows of recent inputs, and they are the rows it would compute."""

import joblib
import numpy as np

from apps.agents.offline.learned_classifier import LearnedClassifier, Regression, fit_calibrated


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
