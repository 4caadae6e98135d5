"""Intervals the reports print: Wilson's for one accuracy, Newcombe's for a paired difference."""

import pytest

from fastslow.stats import paired_difference, wilson_interval


def test_wilson_interval_at_the_extremes_stays_inside_zero_and_one():
    lo, hi = wilson_interval(0, 30)
    assert lo == 0.0 and 0.11 < hi < 0.12  # the "0-11%" that RESULTS quotes at n=30
    assert wilson_interval(30, 30)[1] == 1.0


@pytest.mark.parametrize("n", [50, 100, 300, 1000])
def test_wilson_interval_holds_the_estimate_at_zero_and_one(n):
    # In floating point the upper limit at 100/100 came out 0.9999999999999999 (below the point).
    assert wilson_interval(n, n)[1] == 1.0 and wilson_interval(0, n)[0] == 0.0


def test_paired_difference_on_a_worked_table():
    # 36 right both times, 12 right only first, 2 right only second, none wrong both (n = 50).
    first = [1] * 36 + [1] * 12 + [0] * 2
    second = [1] * 36 + [0] * 12 + [1] * 2
    diff, lo, hi = paired_difference(first, second)
    assert diff == pytest.approx(0.2)
    # Wilson limits of 0.96 and 0.76 at n = 50, joined with phi = -24 / sqrt(48 * 2 * 38 * 12).
    assert (lo, hi) == pytest.approx((0.0569, 0.3404), abs=5e-4)


def test_pairing_narrows_the_interval_when_the_two_agree_on_most_questions():
    # 100 questions, the second model right on 10 more; both agree on the other 90.
    first = [1] * 20 + [0] * 80
    second = [1] * 30 + [0] * 70
    diff, lo, hi = paired_difference(second, first)
    assert diff == pytest.approx(0.10) and lo > 0  # ten wins and no losses: not noise
    w1, w2 = wilson_interval(20, 100), wilson_interval(30, 100)
    independent = ((0.3 - w2[0]) ** 2 + (w1[1] - 0.2) ** 2) ** 0.5  # Newcombe's unpaired half-width
    assert 0.10 - lo < independent


def test_no_difference_brackets_zero_and_lengths_must_match():
    same = [1, 0, 1, 1, 0] * 10
    diff, lo, hi = paired_difference(same, same)
    assert diff == 0 and lo < 0 < hi
    with pytest.raises(ValueError, match="equal lengths"):
        paired_difference([1, 0], [1])


def test_difference_by_id_pairs_rows_by_question_not_by_position():
    from fastslow.stats import difference_by_id

    rows = [
        {"example_id": "a", "score": 1.0},
        {"example_id": "b", "score": 1.0},
        {"example_id": "c", "score": 0.0},
    ]
    base = [
        {"example_id": "c", "score": 0.0},
        {"example_id": "b", "score": 0.0},
        {"example_id": "a", "score": 1.0},
    ]
    d, lo, hi = difference_by_id(rows, base)
    assert d == pytest.approx(1 / 3) and lo < d < hi
    assert [d, lo, hi] == list(paired_difference([1, 1, 0], [1, 0, 0]))
    assert difference_by_id(rows, base[:2]) is None  # a question the base lacks: no pairing
    assert difference_by_id(rows, [{**r, "score": None} for r in base]) is None
