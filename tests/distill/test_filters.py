"""System 2 Distillation's consistency filters on crafted teacher outputs (no model, no labels)."""

import pytest

from fastslow.distill.filters import (
    Kept,
    combine,
    perturbation_consistency,
    self_consistency,
    swap_consistency,
    usc_selection,
)


def test_the_majority_is_kept_at_the_threshold_and_dropped_below_it():
    answers = ["12", "12", "12", "12", "12", "12", "7", None]  # 6 of 8
    assert self_consistency(answers, "number", 0.75) == Kept("12", 0.75)
    dropped = self_consistency(answers, "number", 0.8)
    assert not dropped.kept and dropped.agreement == 0.75 and "0.75 < 0.80" in dropped.reason


def test_answers_agree_after_normalisation():
    assert self_consistency(["1,000", "1000", "1000.0", "999"], "number", 0.75).answer == "1,000"
    assert self_consistency(["Yes", "yes.", "no"], "text", 0.6).kept


@pytest.mark.parametrize(
    "answers, reason",
    [
        (["3", "4", "5", "6"], "tie"),  # all disagree
        (["3", "3", "4", "4"], "tie"),  # a tie at the top keeps nothing, whatever the threshold
        ([None, None, None], "no output names an answer"),  # unparseable outputs only
        ([], "no outputs"),
    ],
)
def test_disagreement_ties_and_unparseable_outputs_keep_nothing(answers, reason):
    decision = self_consistency(answers, "number", 0.0)
    assert not decision.kept and reason in decision.reason


def test_unparseable_outputs_count_against_the_majority():
    assert self_consistency(["5", None, None, None], "number", 0.5).agreement == 0.25


def test_usc_keeps_a_parsed_selection_and_drops_a_fallback():
    meta = {"answers": ["4", "4", "5"], "used": 0}
    assert usc_selection(meta, "4") == Kept("4", 2 / 3)
    fallback = {"answers": ["4", "5"], "fallback": "majority", "parse_error": "no response index"}
    assert not usc_selection(fallback, "4").kept and "did not parse" in usc_selection(fallback, "4").reason
    assert not usc_selection({"answers": ["4"]}, None).kept


def test_a_judge_verdict_is_kept_only_when_both_orders_agree():
    assert swap_consistency({"orders_agree": True, "verdict": "A"}) == Kept("A", 1.0)
    assert not swap_consistency({"orders_agree": False, "verdict": "tie"}).kept
    assert not swap_consistency({"orders_agree": True, "verdict": "tie"}).kept
    assert "not a judgement" in swap_consistency({"answers": ["3"]}).reason


def test_the_answer_must_follow_its_option_when_the_options_are_shuffled():
    assert perturbation_consistency(["Paris", "paris", "Paris"], "choice") == Kept("Paris", 1.0)
    assert not perturbation_consistency(["Paris", "Rome"], "choice").kept
    assert not perturbation_consistency(["Paris", None], "choice").kept


def test_combined_filters_keep_only_one_agreed_answer():
    a, b = Kept("12", 0.75), Kept("12", 1.0)
    assert combine([a, b], "number") == Kept("12", 0.75)
    assert not combine([a, Kept("13", 1.0)], "number").kept
    assert combine([a, Kept(None, 0.0, "tie")], "number").reason == "tie"
