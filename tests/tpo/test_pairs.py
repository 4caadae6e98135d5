"""Length-controlled pairs (Wu et al. 2024, §2.3) on crafted judge scores."""

import math

import pytest

from fastslow.tpo.pairs import Candidate, Pair, best_worst, choose_rho, combined_scores, zscores


def test_zscores_and_constant_values():
    assert zscores([1.0, 2.0, 3.0]) == pytest.approx([-1.2247, 0.0, 1.2247], abs=1e-4)
    assert zscores([5.0, 5.0]) == [0.0, 0.0]


def test_without_length_control_the_best_and_worst_scores_pair():
    cands = [Candidate((7.0,), 100), Candidate((9.0,), 300), Candidate((2.0,), 50)]
    assert best_worst(cands, rho=0.0) == Pair(1, 2, pytest.approx(2.378, abs=0.001))  # z(9) − z(2)


def test_length_control_prefers_the_shorter_of_two_close_winners():
    cands = [Candidate((9.0,), 400), Candidate((8.8,), 60), Candidate((1.0,), 200), Candidate((8.5,), 250)]
    assert best_worst(cands, rho=0.0).chosen == 0
    assert best_worst(cands, rho=0.5).chosen == 1  # 0.2 points of score lose to 340 tokens


def test_a_parse_failure_is_never_chosen_and_is_the_rejected():
    cands = [Candidate((None,), 10, parsed=False), Candidate((3.0,), 80), Candidate((4.0,), 90)]
    pair = best_worst(cands, rho=0.0)
    assert pair.chosen == 2 and pair.rejected == 0
    assert best_worst([Candidate((None,), 10, parsed=False)] * 3, rho=0.0) is None  # no parsed output


def test_all_equal_scores_make_no_pair():
    assert best_worst([Candidate((5.0,), 100), Candidate((5.0,), 100)], rho=0.3) is None
    # Length alone never makes a pair: equal scores, different lengths, a length penalty.
    assert best_worst([Candidate((1.0,), 10), Candidate((1.0,), 300)], rho=0.3) is None


def test_a_response_a_judge_could_not_score_takes_no_side():
    cands = [Candidate((None, 9.0), 10), Candidate((1.0, 3.0), 10), Candidate((0.0, 1.0), 10)]
    pair = best_worst(cands, rho=0.0)
    assert (pair.chosen, pair.rejected) == (1, 2)
    assert best_worst([Candidate((None,), 10), Candidate((2.0,), 10)], rho=0.0) is None  # one judged: no pair


def test_min_ensemble_is_the_conservative_one():
    cands = [Candidate((10.0, 1.0), 50), Candidate((5.0, 5.0), 50), Candidate((1.0, 10.0), 50)]
    mean = combined_scores(cands, "mean")
    low = combined_scores(cands, "min")
    assert mean[0] == pytest.approx(mean[2]) and low[1] > low[0] and low[1] > low[2]
    assert combined_scores([Candidate((None,), 5, parsed=False)], "mean") == [-math.inf]
    assert math.isnan(combined_scores([Candidate((None,), 5)], "mean")[0])  # unscored: no score


def test_auto_rho_is_the_smallest_that_stops_favouring_length():
    # The judge likes long answers: at rho=0 chosen responses are longer than rejected ones.
    prompts = [
        [Candidate((9.0,), 300), Candidate((8.9,), 100), Candidate((1.0,), 150)],
        [Candidate((7.0,), 280), Candidate((6.9,), 90), Candidate((2.0,), 120)],
    ]
    rho = choose_rho(prompts)
    assert 0 < rho <= 0.5
    for c in prompts:  # at the chosen rho, chosen is no longer than rejected on average
        pair = best_worst(c, rho)
        assert c[pair.chosen].length <= 300
    lengths = [(c[best_worst(c, rho).chosen].length, c[best_worst(c, rho).rejected].length) for c in prompts]
    assert sum(a for a, _ in lengths) <= sum(b for _, b in lengths)
    smaller = [r for r in (0.0, 0.05, 0.1) if r < rho]
    for r in smaller:  # and no smaller rho of the grid would do
        ls = [(c[best_worst(c, r).chosen].length, c[best_worst(c, r).rejected].length) for c in prompts]
        assert sum(a for a, _ in ls) > sum(b for _, b in ls)


def test_a_judge_that_scored_none_of_a_prompt_sits_it_out_and_vetoes_nothing():
    # The second judge never gave a score (a model that cannot judge): the first one decides alone.
    cands = [Candidate((1.0, None), 10), Candidate((0.0, None), 10), Candidate((None, None), 9, parsed=False)]
    assert best_worst(cands, rho=0.0) == Pair(0, 2, math.inf)
    assert best_worst(cands[:2], rho=0.0).chosen == 0
    assert combined_scores(cands[:2], "min") == [1.0, -1.0]
