import ast
import random

import pytest

from fastslow.errors import FastslowError
from fastslow.tasks import arithmetic
from fastslow.tasks.base import Example

from .generator_checks import (
    check_cot_solution_without_meta,
    check_cot_solutions_parse_back,
    check_deterministic,
    check_splits_never_overlap,
)


def _python_value(expression: str) -> int:
    """Independent check: Python's own precedence on a fully parenthesised expression."""
    tree = ast.parse(expression, mode="eval")
    assert all(
        isinstance(n, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.operator, ast.USub))
        for n in ast.walk(tree)
    )
    return eval(compile(tree, "<expr>", "eval"))  # only numbers and + - * (checked above)


def _left_to_right_value(expression: str) -> int:
    tokens = expression.split()
    value = int(tokens[0])
    for op, number in zip(tokens[1::2], tokens[2::2], strict=True):
        value = {"+": value + int(number), "-": value - int(number), "*": value * int(number)}[op]
    return value


def _value(expression: str, style: str) -> int:
    return _left_to_right_value(expression) if style == "left_to_right" else _python_value(expression)


def test_parenthesised_answers_match_python():
    for example in arithmetic.make_examples(100, seed=0):
        expression = example.meta["expression"]
        assert expression in example.question
        assert int(example.answer) == _python_value(expression)
        assert len(example.meta["trace"]) == 3
        operands = [int(t) for t in expression.replace("(", " ").replace(")", " ").split() if t.isdigit()]
        assert len(operands) == 4 and all(2 <= x <= 20 for x in operands)
        assert all(abs(row[3]) <= arithmetic.LIMIT for row in example.meta["trace"])


def test_parenthesised_question_says_parentheses_first():
    examples = arithmetic.make_examples(20, seed=0, steps=2)
    assert all("(" in e.question and "parentheses first" in e.question for e in examples)
    assert examples[5].id == "arithmetic-steps2-s0-5"


def test_left_to_right_answers_ignore_precedence():
    examples = arithmetic.make_examples(100, seed=0, style="left_to_right")
    for example in examples:
        assert "strictly from left to right" in example.question
        assert int(example.answer) == _left_to_right_value(example.meta["expression"])
    assert examples[0].id == "arithmetic-steps3-ltr-s0-0"
    # at least one question where the usual precedence would give another answer
    assert any(int(e.answer) != _python_value(e.meta["expression"]) for e in examples)


def test_cot_solution_format():
    example = Example("x", arithmetic.question_for("(7 + 3) * (12 - 5)", "parens"), "70")
    assert arithmetic.cot_solution(example) == (
        "7 + 3 = 10. Now we have 10 * (12 - 5). 12 - 5 = 7. Now we have 10 * 7. 10 * 7 = 70. The answer is 70."
    )
    negative = Example("y", arithmetic.question_for("2 * (3 - 9)", "parens"), "-12")
    assert arithmetic.cot_solution(negative) == (
        "3 - 9 = -(9 - 3) = -6. Now we have 2 * (-6). 2 * (-6) = -(2 * 6) = -12. The answer is -12."
    )
    nested = Example("w", arithmetic.question_for("(20 - (5 - 12)) + 18", "parens"), "45")
    assert arithmetic.cot_solution(nested) == (
        "5 - 12 = -(12 - 5) = -7. Now we have (20 - (-7)) + 18. 20 - (-7) = 20 + 7 = 27. "
        "Now we have 27 + 18. 27 + 18 = 45. The answer is 45."
    )
    ltr = Example("z", arithmetic.question_for("2 + 3 * 4", "left_to_right"), "20")
    assert arithmetic.cot_solution(ltr) == "2 + 3 = 5. Now we have 5 * 4. 5 * 4 = 20. The answer is 20."
    one = Example("v", arithmetic.question_for("4 - 9", "parens"), "-5")
    assert arithmetic.cot_solution(one) == "4 - 9 = -(9 - 4) = -5. The answer is -5."


def test_cot_solution_can_commute_sums_and_products():
    example = Example("x", arithmetic.question_for("(7 + 3) * (12 - 5)", "parens"), "70")
    texts = {arithmetic.cot_solution(example, commute=random.Random(seed)) for seed in range(30)}
    rest = "Now we have 10 * (12 - 5). 12 - 5 = 7. Now we have 10 * 7."
    assert texts == {  # the difference never commutes; the sum and the product each may
        f"{first} {rest} {last} The answer is 70."
        for first in ("7 + 3 = 10.", "3 + 7 = 10.")
        for last in ("10 * 7 = 70.", "7 * 10 = 70.")
    }
    signed = Example("y", arithmetic.question_for("3 + (2 - 6)", "parens"), "-1")
    texts = {arithmetic.cot_solution(signed, commute=random.Random(seed)) for seed in range(30)}
    assert "2 - 6 = -(6 - 2) = -4. Now we have 3 + (-4). -4 + 3 = -(4 - 3) = -1. The answer is -1." in texts


@pytest.mark.parametrize(
    ("left", "op", "right", "text"),
    [
        (7, "+", 3, "7 + 3 = 10."),
        (12, "-", 5, "12 - 5 = 7."),
        (5, "-", 12, "5 - 12 = -(12 - 5) = -7."),
        (-7, "+", 18, "-7 + 18 = 18 - 7 = 11."),
        (-20, "+", 7, "-20 + 7 = -(20 - 7) = -13."),
        (-3, "-", 4, "-3 - 4 = -(3 + 4) = -7."),
        (-3, "-", -4, "-3 - (-4) = -3 + 4 = 4 - 3 = 1."),
        (3, "+", -4, "3 + (-4) = 3 - 4 = -(4 - 3) = -1."),
        (5, "+", -2, "5 + (-2) = 5 - 2 = 3."),
        (-3, "*", -4, "-3 * (-4) = 3 * 4 = 12."),
        (3, "*", -4, "3 * (-4) = -(3 * 4) = -12."),
    ],
)
def test_step_text_takes_the_signs_out_first(left, op, right, text):
    value = {"+": left + right, "-": left - right, "*": left * right}[op]
    assert arithmetic.Step(left, op, right, value).text() == text


def _equalities_hold(sentence: str) -> bool:
    """Every form in 'a op b = form = ... = value.' has the same value (Python evaluates them)."""
    forms = sentence.rstrip(".").split(" = ")
    return len({eval(f, {"__builtins__": {}}) for f in forms}) == 1  # noqa: S307 (our own numbers)


@pytest.mark.parametrize("style", ["parens", "left_to_right"])
def test_every_worked_form_is_equal_and_the_rewrites_keep_the_value(style):
    for example in arithmetic.make_examples(200, seed=3, steps=4, style=style):
        solved = arithmetic.solve(example.meta["expression"], style)
        assert [[s.left, s.op, s.right, s.result] for s, _ in solved] == example.meta["trace"]
        for step, rest in solved:
            assert _equalities_hold(step.text())
            if rest is not None:  # what is left is worth the answer still
                assert _value(rest, style) == int(example.answer)
        assert solved[-1][1] is None


@pytest.mark.parametrize("knobs", [{}, {"steps": 1}, {"steps": 5}, {"style": "left_to_right"}])
def test_cot_solutions_parse_back(knobs):
    check_cot_solutions_parse_back(arithmetic, **knobs)


@pytest.mark.parametrize("knobs", [{}, {"style": "left_to_right"}])
def test_cot_solution_without_meta(knobs):
    check_cot_solution_without_meta(arithmetic, **knobs)


def test_splits_never_overlap():
    check_splits_never_overlap(arithmetic, steps=2)


@pytest.mark.parametrize("knobs", [{}, {"style": "left_to_right"}])
def test_deterministic(knobs):
    check_deterministic(arithmetic, **knobs)


def test_bad_knobs():
    with pytest.raises(FastslowError, match="knob steps"):
        arithmetic.make_examples(1, steps=0)
    with pytest.raises(FastslowError, match="knob style must be one of parens, left_to_right"):
        arithmetic.make_examples(1, style="rpn")
