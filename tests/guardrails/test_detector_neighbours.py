"""The learned detector's neighbour features: nearest attacks and benign texts of a view's embedding."""

from __future__ import annotations

import numpy as np
import pytest

from apps.guardrails.detector import examples as ex
from apps.guardrails.detector.neighbours import (
    SCALE,
    K,
    Reference,
    dequantise,
    load_reference,
    neighbour_features,
    quantise,
    save_reference,
)


def _unit(rows: list[list[float]]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_quantised_vectors_keep_cosines_within_two_hundredths() -> None:
    # given
    vectors = _unit(np.random.default_rng(12).normal(size=(20, 384)).tolist())

    # when
    restored = dequantise(quantise(vectors))

    # then
    assert quantise(vectors).dtype == np.int8
    assert np.abs(restored @ restored.T - vectors @ vectors.T).max() < 0.02


def test_features_are_mean_similarity_to_the_nearest_attacks_and_benign_texts() -> None:
    # given: attacks along the first axis, benign texts along the second
    attacks = [[1.0, 0.1 * i, 0.0] for i in range(K + 2)]
    benign = [[0.1 * i, 1.0, 0.0] for i in range(K + 2)]
    reference = Reference(vectors=_unit(attacks + benign), labels=np.array([1] * (K + 2) + [0] * (K + 2)))
    view = _unit([[1.0, 0.0, 0.0]])

    # when
    features = neighbour_features(view, reference)

    # then
    similarity = (view @ reference.vectors.T)[0]
    near_attacks = np.sort(similarity[: K + 2])[::-1][:K].mean()
    near_benign = np.sort(similarity[K + 2 :])[::-1][:K].mean()
    assert features.shape == (1, 3)
    assert features[0].tolist() == pytest.approx(
        [SCALE * near_attacks, SCALE * near_benign, SCALE * (near_attacks - near_benign)], abs=1e-5
    )
    assert features[0, 2] > 0


def test_a_training_text_is_not_its_own_neighbour() -> None:
    # given: one attack far from the other attacks
    vectors = _unit([[0.0, 0.0, 1.0]] + [[1.0, 0.1 * i, 0.0] for i in range(K)] + [[0.0, 1.0, 0.1]] * K)
    reference = Reference(vectors=vectors, labels=np.array([1] * (K + 1) + [0] * K))

    # when
    with_self = neighbour_features(vectors[:1], reference)
    without_self = neighbour_features(vectors[:1], reference, exclude_self=np.array([0]))

    # then: its own similarity (1.0) no longer counts among its nearest attacks
    assert with_self[0, 0] > without_self[0, 0]
    assert without_self[0, 0] == pytest.approx(SCALE * float((vectors[1 : K + 1] @ vectors[0]).mean()), abs=1e-5)


def test_reference_round_trips_through_its_file(tmp_path) -> None:
    # given
    reference = Reference.of(_unit([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([ex.ATTACK, ex.BENIGN, ex.BENIGN]))

    # when
    save_reference(reference, tmp_path / "reference.npz")
    loaded = load_reference(tmp_path / "reference.npz")

    # then
    assert np.array_equal(loaded.vectors, reference.vectors)
    assert loaded.labels.tolist() == [ex.ATTACK, ex.BENIGN, ex.BENIGN]
