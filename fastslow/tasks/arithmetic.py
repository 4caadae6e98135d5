"""Multi-step integer arithmetic with small operands: "What is (7 + 3) * (12 - 5)?"

Each question has ``steps`` operations (+, -, *) on integers from 2 to 20, the multi-step arithmetic
family of BIG-bench's ``multistep_arithmetic`` (Srivastava et al., 2022) and of the arithmetic
reasoning studied by Wei et al. (2022). Two styles, each stated in the question so no precedence rule
is left implicit:

- ``parens`` (default): a random expression tree, every operation with more than numbers inside it
  wrapped in parentheses: ``(7 + 3) * (12 - 5)``;
- ``left_to_right``: a flat chain ``7 + 3 * 4 - 5`` that the question says to work strictly from left
  to right, ignoring the usual order of operations.

Every intermediate result stays within ±1000 (questions are redrawn otherwise) so a small model's
arithmetic, not its number formatting, is what is tested.
"""

from __future__ import annotations

import ast
import operator
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from fastslow.errors import FastslowError
from fastslow.tasks.base import Example
from fastslow.tasks.splits import check_int_knob, id_prefix, make_rng, sample_in_split

NAME = "arithmetic"
KIND = "number"
DEFAULT_STEPS = 3
MAX_STEPS = 10
STYLES = ("parens", "left_to_right")
LOW, HIGH = 2, 20
LIMIT = 1000
_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_AST_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
_LTR_PHRASE = "working strictly from left to right"


@dataclass
class Step:
    """One operation: ``left op right = result``."""

    left: int
    op: str
    right: int
    result: int

    def equation(self) -> str:
        """'5 - 12 = -7' (no worked forms, no full stop)."""
        return f"{self.left} {self.op} {_operand(self.right)} = {self.result}"

    def text(self) -> str:
        """The operation worked out, signs first: every sum, difference or product of signed numbers
        is brought back to one of non-negative numbers before its result is written.

        '7 + 3 = 10.'  '5 - 12 = -(12 - 5) = -7.'  '20 - (-7) = 20 + 7 = 27.'  '-3 * 4 = -(3 * 4) = -12.'
        """
        a, op, b = self.left, self.op, self.right
        chain = [f"{a} {op} {_operand(b)}", *_sign_steps(a, op, b), str(self.result)]
        return " = ".join(chain) + "."


def _operand(number: int) -> str:
    return f"({number})" if number < 0 else str(number)


def _sign_steps(a: int, op: str, b: int) -> list[str]:
    """The forms between ``a op b`` and its value that take the signs out (none if both are >= 0)."""
    if op == "*":
        if a >= 0 and b >= 0:
            return []
        magnitude = f"{abs(a)} * {abs(b)}"
        return [magnitude if (a < 0) == (b < 0) else f"-({magnitude})"]
    forms = []
    second = b if op == "+" else -b  # a op b == a + second
    if b < 0:  # a + (-7) -> a - 7; a - (-7) -> a + 7
        forms.append(f"{a} {'-' if second < 0 else '+'} {abs(b)}")
    if a >= 0 and second < 0 and a < -second:
        forms.append(f"-({-second} - {a})")
    elif a < 0 and second >= 0:
        forms.append(f"{second} - {-a}" if second >= -a else f"-({-a} - {second})")
    elif a < 0 and second < 0:
        forms.append(f"-({-a} + {-second})")
    return forms


# A node is an int (a number) or a tuple (left, op, right).
Node = int | tuple


def _random_tree(rng: random.Random, steps: int) -> Node:
    if steps == 0:
        return rng.randint(LOW, HIGH)
    left_steps = rng.randint(0, steps - 1)
    op = rng.choice(tuple(_OPS))
    return (_random_tree(rng, left_steps), op, _random_tree(rng, steps - 1 - left_steps))


def _render(node: Node, flat: bool = False, top: bool = True) -> str:
    """An expression's text. Nested operations get parentheses (``flat``: none, a left-to-right
    chain); a negative number is written ``(-7)`` where it stands right of an operator."""
    if isinstance(node, int):
        return str(node)
    left, op, right = node
    right_text = _operand(right) if isinstance(right, int) else _render(right, flat, False)
    text = f"{_render(left, flat, False)} {op} {right_text}"
    return text if top or flat else f"({text})"


def _chain(numbers: list[int], ops: list[str]) -> Node:
    """A left-to-right chain as a tree that leans left: ``2 + 3 * 4`` is ``((2 + 3) * 4)``."""
    node: Node = numbers[0]
    for op, number in zip(ops, numbers[1:], strict=True):
        node = (node, op, number)
    return node


def _parse(expression: str, style: str) -> Node:
    if style == "left_to_right":
        tokens = expression.split()
        return _chain([int(t) for t in tokens[::2]], tokens[1::2])

    def to_node(node: ast.expr) -> Node:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _AST_OPS:
            return (to_node(node.left), _AST_OPS[type(node.op)], to_node(node.right))
        raise ValueError(f"unexpected part of an arithmetic question: {ast.dump(node)}")

    return to_node(ast.parse(expression, mode="eval").body)


def _reduce_first(node: tuple, work: Callable[[int, str, int], Step]) -> tuple[Node, Step]:
    """Work out the operation that comes first (the first, in post-order, whose operands are both
    numbers: inner parentheses before outer, left before right) and put its result in its place."""
    left, op, right = node
    if not isinstance(left, int):
        reduced, step = _reduce_first(left, work)
        return (reduced, op, right), step
    if not isinstance(right, int):
        reduced, step = _reduce_first(right, work)
        return (left, op, reduced), step
    step = work(left, op, right)
    return step.result, step


def solve(
    expression: str, style: str, mistake: tuple[int, int] | None = None
) -> list[tuple[Step, str | None]]:
    """The operations of ``expression`` in the order they are worked out, each with the expression
    that is left after it (None after the last).

    ``mistake=(at, delta)`` puts step ``at``'s result off by ``delta`` and carries the error through
    the later steps (the wrong solutions of ``judge_pairs``).
    """
    return _solve_tree(_parse(expression, style), style == "left_to_right", mistake)


def _solve_tree(
    tree: Node, flat: bool, mistake: tuple[int, int] | None = None
) -> list[tuple[Step, str | None]]:
    solved: list[tuple[Step, str | None]] = []

    def work(a: int, op: str, b: int) -> Step:
        off = mistake[1] if mistake is not None and mistake[0] == len(solved) else 0
        return Step(a, op, b, _OPS[op](a, b) + off)

    while not isinstance(tree, int):
        tree, step = _reduce_first(tree, work)
        solved.append((step, None if isinstance(tree, int) else _render(tree, flat)))
    return solved


def solution_text(solved: list[tuple[Step, str | None]]) -> str:
    """Each operation worked out, then the expression it leaves, then "The answer is X."."""
    parts = []
    for step, rest in solved:
        parts.append(step.text())
        if rest is not None:
            parts.append(f"Now we have {rest}.")
    parts.append(f"The answer is {solved[-1][0].result}.")
    return " ".join(parts)


def question_for(expression: str, style: str) -> str:
    if style == "left_to_right":
        return f"Compute {expression}, {_LTR_PHRASE} (ignore the usual order of operations)."
    if "(" in expression:
        return f"What is {expression}? Work out what is inside the parentheses first."
    return f"What is {expression}?"


def parse_question(question: str) -> tuple[str, str]:
    """The expression and style of a question made by ``question_for``, read back from its text."""
    match = re.search(r"(?:What is|Compute) ([\d()+\-* ]+)", question)
    if match is None:
        raise ValueError(f"not an arithmetic question: {question!r}")
    return match.group(1).strip(), "left_to_right" if _LTR_PHRASE in question else "parens"


def expression_of(example: Example) -> tuple[str, str]:
    """An example's expression and style: from its meta when the generator recorded them, else
    read back from the question."""
    meta = example.meta
    if meta.get("expression") and meta.get("style"):
        return str(meta["expression"]), str(meta["style"])
    return parse_question(example.question)


def make_examples(
    n: int, seed: int = 0, split: str = "test", steps: int = DEFAULT_STEPS, style: str = "parens"
) -> list[Example]:
    """``n`` distinct questions of ``split`` with ``steps`` operations each, the same for the same seed.

    Ids look like ``arithmetic-steps3-s0-17`` (``arithmetic-steps3-ltr-s0-17`` for the left-to-right
    style, ``...-s0-train-17`` for the train split).
    """
    steps = check_int_knob(NAME, "steps", steps, 1, MAX_STEPS)
    if style not in STYLES:
        raise FastslowError(f"{NAME}: knob style must be one of {', '.join(STYLES)}, got {style!r}")
    tag = f"steps{steps}" if style == "parens" else f"steps{steps}-ltr"
    rng = make_rng(NAME, tag, seed)

    def draw() -> Example:
        while True:
            if style == "parens":
                tree = _random_tree(rng, steps)
            else:
                numbers = [rng.randint(LOW, HIGH) for _ in range(steps + 1)]
                ops = [rng.choice(tuple(_OPS)) for _ in range(steps)]
                tree = _chain(numbers, ops)
            flat = style == "left_to_right"
            expression = _render(tree, flat)
            trace = [step for step, _ in _solve_tree(tree, flat)]
            if all(abs(s.result) <= LIMIT for s in trace):
                break
        return Example(
            id="",
            question=question_for(expression, style),
            answer=str(trace[-1].result),
            meta={
                "task": NAME,
                "steps": steps,
                "style": style,
                "expression": expression,
                "trace": [[s.left, s.op, s.right, s.result] for s in trace],
                "seed": seed,
            },
        )

    return sample_in_split(n, split, draw, id_prefix(NAME, tag, seed, split))


def cot_solution(example: Example, commute: random.Random | None = None) -> str:
    """Each operation worked out (signs first: see ``Step.text``), in the order it is worked out,
    then the expression it leaves, then "The answer is X.". Writing the rest of the expression out
    again puts the next operation's operands in plain sight instead of in the question's nesting.

    '7 + 3 = 10. Now we have 10 * (12 - 5). 12 - 5 = 7. Now we have 10 * 7. 10 * 7 = 70. The answer is 70.'

    With ``commute`` (a seeded generator), each sum and product is written with its operands in
    either order, a coin toss each ('3 + 7 = 10.'): the same format, and the same fact reached from
    another context. Traces written so give a sampled chain a second way to work an operation.
    """
    solved = solve(*expression_of(example))
    if commute is not None:
        solved = [
            (
                Step(step.right, step.op, step.left, step.result)
                if step.op in "+*" and commute.random() < 0.5
                else step,
                rest,
            )
            for step, rest in solved
        ]
    return solution_text(solved)
