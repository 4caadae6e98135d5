import pytest

from fastslow.errors import FastslowError
from fastslow.tasks import coin_flip
from fastslow.tasks.base import Example

from .generator_checks import (
    check_cot_solution_without_meta,
    check_cot_solutions_parse_back,
    check_deterministic,
    check_splits_never_overlap,
)


def test_answer_is_yes_iff_even_number_of_flips():
    examples = coin_flip.make_examples(100, seed=0)
    for example in examples:
        moves = example.meta["moves"]
        assert len(moves) == 4 and len({name for name, _ in moves}) == 4
        flips = sum(flipped for _, flipped in moves)
        assert example.answer == ("yes" if flips % 2 == 0 else "no")
        assert example.question.startswith("A coin is heads up. ")
        assert example.question.endswith(" Is the coin still heads up?")
        assert example.question.count("flip") == 4
        assert example.choices == ["yes", "no"]
    assert {e.answer for e in examples} == {"yes", "no"}
    assert examples[3].id == "coin_flip-f4-s0-3"


def test_flips_knob():
    example = coin_flip.make_examples(1, seed=1, flips=2)[0]
    assert len(example.meta["moves"]) == 2 and example.meta["flips"] == 2
    assert example.id == "coin_flip-f2-s1-0"


def test_cot_solution_format():
    moves = [("Alice", True), ("Bob", False)]
    example = Example("x", coin_flip.question_for(moves), "no", choices=["yes", "no"])
    assert coin_flip.cot_solution(example) == (
        "The coin starts heads up. Alice flips it, so it is now tails up. "
        "Bob does not flip it, so it is still tails up. The coin ends tails up. The answer is no."
    )


def test_cot_solutions_parse_back():
    check_cot_solutions_parse_back(coin_flip)
    check_cot_solutions_parse_back(coin_flip, flips=3)


def test_cot_solution_without_meta():
    check_cot_solution_without_meta(coin_flip)


def test_splits_never_overlap():
    check_splits_never_overlap(coin_flip, flips=2)


def test_deterministic():
    check_deterministic(coin_flip)


def test_tiny_question_space_is_reported():
    # one flip: about 160 names x 2 = 320 questions, about 64 of them in the test split
    with pytest.raises(FastslowError, match="could only make"):
        coin_flip.make_examples(200, flips=1)


def test_bad_knob():
    with pytest.raises(FastslowError, match="knob flips"):
        coin_flip.make_examples(1, flips=0)
