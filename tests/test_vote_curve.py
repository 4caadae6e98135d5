"""fastslow.vote_curve: self-consistency's accuracy by number of samples, on hand-made traces."""

import pytest

from fastslow.vote_curve import vote_curve


def _sc(answers, reference, method="sc"):
    return {"method": method, "reference": reference, "meta": {"answers": answers, "votes": {}}}


def test_small_subsets_are_counted_exactly_and_ties_split():
    # One sample is right 1/3 of the time; two: a tie between -3 and -4 in 2 of 3 pairs, won by
    # either at random, so 1/3 again; all three: -3 wins.
    assert vote_curve([_sc(["-3", "-3", "-4"], "-4")], "number") == {
        1: pytest.approx(1 / 3),
        2: pytest.approx(1 / 3),
        3: 0.0,
    }
    # Averaged with a question whose samples are "14", "14", "5" (2/3, 2/3, 1).
    rows = [_sc(["-3", "-3", "-4"], "-4"), _sc(["14", "14", "5"], "14")]
    assert vote_curve(rows, "number") == {1: pytest.approx(0.5), 2: pytest.approx(0.5), 3: pytest.approx(0.5)}


def test_answers_are_compared_as_the_task_normalises_them():
    # "-4.0" and "-4" are one answer, so it has two votes of three.
    assert vote_curve([_sc(["-4.0", "-3", "-4"], "-4")], "number")[3] == 1.0


def test_unparseable_samples_cannot_win():
    # Two samples: "14" with a blank wins; two blanks decide nothing.
    curve = vote_curve([_sc(["14", None, None], "14")], "number")
    assert curve == {1: pytest.approx(1 / 3), 2: pytest.approx(2 / 3), 3: 1.0}


def test_many_samples_are_drawn_at_random_near_the_exact_value():
    # 16 samples, 12 right: 12,870 subsets of 8, so random ones. A subset loses only when it holds
    # all four wrong samples and ties 4-4: probability C(12,4) / C(16,8), half of it lost.
    curve = vote_curve([_sc(["14"] * 12 + ["5"] * 4, "14")], "number", draws=4000)
    assert curve[8] == pytest.approx(1 - 0.5 * 495 / 12870, abs=0.01) and curve[16] == 1.0
    assert curve[1] == pytest.approx(0.75)


def test_only_the_voting_method_with_references_counts():
    rows = [_sc(["1", "2"], "1"), _sc(["2", "2"], "1", method="usc"), _sc(["2", "2"], None), _sc(["2"], "1")]
    assert vote_curve(rows, "number") == {1: pytest.approx(0.5), 2: pytest.approx(0.5)}
    assert vote_curve([], "number") == {}


def _weighted(answers, reference, weights):
    row = _sc(answers, reference)
    row["meta"]["weights"] = weights
    return row


def test_the_weighted_curve_counts_each_sample_by_its_weight():
    # "14" is right and weighs 0.9; the two "5"s weigh 0.1 each. Pairs: (5, 5) loses, (5, 14) twice
    # wins; all three: 0.9 against 0.2. A majority would lose all three.
    rows = [_weighted(["5", "5", "14"], "14", [0.1, 0.1, 0.9])]
    assert vote_curve(rows, "number", weighted=True) == {
        1: pytest.approx(1 / 3),
        2: pytest.approx(2 / 3),
        3: 1.0,
    }
    assert vote_curve(rows, "number")[3] == 0.0


def test_the_weighted_curve_skips_questions_without_a_weight_for_each_sample():
    rows = [_weighted(["1", "2"], "1", [0.2, 0.9]), _sc(["1", "1"], "1"), _weighted(["1", "1"], "1", [0.5])]
    assert vote_curve(rows, "number", weighted=True) == {1: pytest.approx(0.5), 2: 0.0}
    assert vote_curve([_sc(["1", "2"], "1")], "number", weighted=True) == {}
