"""The Bradley–Terry fit recovers known orderings and handles verdicts that flip with the order."""

import itertools
import random

import pytest

from fastslow.judges.bradley_terry import bradley_terry, wins_from_verdicts


def test_recovers_a_known_ordering_from_sampled_preferences():
    strengths = [4.0, 2.0, 1.0, 0.5, 0.25]  # item 0 best
    rng = random.Random(0)
    verdicts = []
    for i, j in itertools.combinations(range(5), 2):
        for _ in range(40):
            verdicts.append(
                (i, j, "A" if rng.random() < strengths[i] / (strengths[i] + strengths[j]) else "B")
            )
    scores = bradley_terry(wins_from_verdicts(5, verdicts))
    assert sorted(range(5), key=lambda i: -scores[i]) == [0, 1, 2, 3, 4]
    assert abs(sum(scores)) < 1e-6  # centred


def test_recovers_the_strengths_from_their_expected_win_counts():
    strengths = [4.0, 2.0, 1.0, 0.5, 0.25]
    wins = [
        [0.0 if i == j else 40 * a / (a + b) for j, b in enumerate(strengths)]
        for i, a in enumerate(strengths)
    ]
    scores = bradley_terry(wins, prior=0.0)
    # ELO differences are 400 log10 of the strength ratios: 120.4 between neighbours.
    assert [scores[i] - scores[i + 1] for i in range(4)] == pytest.approx([120.41] * 4, abs=0.05)


def test_a_clean_sweep_stays_finite_and_ordered():
    verdicts = [(i, j, "A") for i, j in itertools.combinations(range(4), 2)]  # 0 beats all, 3 loses all
    scores = bradley_terry(wins_from_verdicts(4, verdicts))
    assert all(abs(s) < 5000 for s in scores) and scores == sorted(scores, reverse=True)


def test_a_verdict_that_flips_with_the_order_is_a_tie():
    # Each pair judged in both orders; the judge always prefers whichever response is shown first.
    verdicts = []
    for i, j in itertools.combinations(range(3), 2):
        verdicts += [(i, j, "A"), (j, i, "A")]
    scores = bradley_terry(wins_from_verdicts(3, verdicts))
    assert all(s == pytest.approx(0.0, abs=1e-6) for s in scores)


def test_ties_and_shapes():
    assert bradley_terry([]) == []
    assert bradley_terry(wins_from_verdicts(2, [(0, 1, "tie")])) == pytest.approx([0.0, 0.0], abs=1e-9)
    with pytest.raises(ValueError, match="square"):
        bradley_terry([[0, 1]])
