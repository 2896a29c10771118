"""Choosing the detector's operating point by leaving one writer out (apps/guardrails/detector/operating_point.py)."""

from __future__ import annotations

import numpy as np

from apps.guardrails.detector import examples as ex
from apps.guardrails.detector import operating_point as op


def _example(text: str, label: int, family: str) -> ex.Example:
    return ex.Example(text=text, label=label, family=family)


def test_each_writer_is_one_fold_and_the_team_texts_are_spread_over_the_folds() -> None:
    # given: two writers and the team's texts
    development = [_example(f"w{i}", ex.ATTACK, "written:override") for i in range(3)]
    development += [_example(f"v{i}", ex.BENIGN, "written2:benign") for i in range(2)]
    development += [_example(f"t{i}", ex.BENIGN, "routing:order") for i in range(4)]

    # when
    writers, folds = op.writer_folds(development, seed=12)

    # then: fold k tests all of writer k's texts and none of the other writer's; every text is tested once
    assert writers == ["written", "written2"]
    tested = [set(test.tolist()) for _, test in folds]
    assert {0, 1, 2} <= tested[0]
    assert not {3, 4} & tested[0]
    assert {3, 4} <= tested[1]
    assert not {0, 1, 2} & tested[1]
    assert sorted(i for t in tested for i in t) == list(range(9))
    assert all(len({5, 6, 7, 8} & t) == 2 for t in tested)
    assert all(not set(train.tolist()) & set(test.tolist()) for train, test in folds)


def test_the_lowest_threshold_keeps_the_writers_mean_false_positive_rate_within_budget() -> None:
    # given: writer a's benign scores 0.1..0.4, writer b's 0.9 and 0.2
    pools = [np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.9, 0.2])]

    # when
    threshold = op._lowest_mean_within(pools, 0.25)

    # then: just above 0.3 the rates are 1/4 and 1/2 (mean 0.375); just above 0.4 they are 0 and 1/2 (0.25)
    assert threshold == np.nextafter(0.4, 1.0)
    assert op._lowest_mean_within(pools, 1.0) == 0.0
    assert op._lowest_mean_within(pools, 0.0) == np.nextafter(0.9, 1.0)


def _scored() -> op.Scored:
    # Two writers and three customer messages. At C 1 one customer message scores 0.5 and w1's attack only 0.4;
    # at C 4 both attacks score 0.8, but so does nothing benign except w2's look-alike at 0.9.
    labels = np.array([ex.ATTACK, ex.BENIGN, ex.ATTACK, ex.BENIGN, ex.BENIGN, ex.BENIGN, ex.BENIGN])
    writer = np.array(["w1", "w1", "w2", "w2", "", "", ""])
    customer = np.array([False, False, False, False, True, True, True])
    by_c = {
        1.0: np.array([0.4, 0.2, 0.6, 0.2, 0.1, 0.1, 0.5]),
        4.0: np.array([0.8, 0.2, 0.8, 0.9, 0.1, 0.1, 0.1]),
    }
    return op.Scored(by_c=by_c, labels=labels, customer=customer, writer=writer)


def test_the_chosen_point_has_the_best_mean_writer_recall_within_both_budgets() -> None:
    # given
    scored = _scored()

    # when: the customers' 0.5% of 3 texts allows none; the writers' budget is 25% or 50% on average
    tight = op.choose(scored, writer_budget=0.25)
    loose = op.choose(scored, writer_budget=0.5)

    # then: at 25% C 4 must sit above w2's look-alike (0.9, no attack trips) and C 1 above the customer
    # message (0.5): only w2's attack trips
    assert (tight["C"], tight["threshold"]) == (1.0, np.nextafter(0.5, 1.0))
    assert (tight["mean_writer_recall"], tight["worst_writer_recall"], tight["customer_fp"]) == (0.5, 0.0, "0 of 3")
    assert tight["by_writer"]["w2"] == {"attacks": 1, "recall": 1.0, "benign": 1, "fp": 0.0}
    # at 50% w2's look-alike may trip (mean of 0 and 1): C 4 just above 0.2 catches both attacks
    assert (loose["C"], loose["threshold"]) == (4.0, np.nextafter(0.2, 1.0))
    assert (loose["mean_writer_recall"], loose["mean_writer_fp"]) == (1.0, 0.5)


def test_the_nested_check_chooses_without_the_writer_it_measures() -> None:
    # given
    scored = _scored()

    # when: no look-alike of the writers chosen on may trip
    inner = op.nested(scored, writer_budget=0.0)

    # then: chosen on w1 alone, C 4 just above w1's look-alike (0.2) wins, and w2 measured there trips on its
    # look-alike too; chosen on w2 alone, C 1 wins (C 4 must sit above 0.9), and misses w1's attack at 0.4
    assert {k: inner["w2"][k] for k in ("C", "recall", "fp")} == {"C": 4.0, "recall": 1.0, "fp": 1.0}
    assert {k: inner["w1"][k] for k in ("C", "recall", "fp")} == {"C": 1.0, "recall": 0.0, "fp": 0.0}
