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

    def text(self) -> str:
        right = f"({self.right})" if self.right < 0 else str(self.right)
        return f"{self.left} {self.op} {right} = {self.result}."


# A node is an int (a number) or a tuple (left, op, right).
Node = int | tuple


def _random_tree(rng: random.Random, steps: int) -> Node:
    if steps == 0:
        return rng.randint(LOW, HIGH)
    left_steps = rng.randint(0, steps - 1)
    op = rng.choice(tuple(_OPS))
    return (_random_tree(rng, left_steps), op, _random_tree(rng, steps - 1 - left_steps))


def _render(node: Node, top: bool = True) -> str:
    if isinstance(node, int):
        return str(node)
    left, op, right = node
    text = f"{_render(left, False)} {op} {_render(right, False)}"
    return text if top else f"({text})"


def _evaluate(node: Node, steps: list[Step]) -> int:
    """The value of ``node``, appending each operation to ``steps`` in the order it is worked out."""
    if isinstance(node, int):
        return node
    left, op, right = node
    a = _evaluate(left, steps)
    b = _evaluate(right, steps)
    result = _OPS[op](a, b)
    steps.append(Step(a, op, b, result))
    return result


def _chain_steps(numbers: list[int], ops: list[str]) -> list[Step]:
    steps: list[Step] = []
    value = numbers[0]
    for op, number in zip(ops, numbers[1:], strict=True):
        result = _OPS[op](value, number)
        steps.append(Step(value, op, number, result))
        value = result
    return steps


def question_for(expression: str, style: str) -> str:
    if style == "left_to_right":
        return f"Compute {expression}, {_LTR_PHRASE} (ignore the usual order of operations)."
    if "(" in expression:
        return f"What is {expression}? Work out what is inside the parentheses first."
    return f"What is {expression}?"


def steps_of(question: str) -> list[Step]:
    """The operations a question made by ``question_for`` needs, in order, read back from its text."""
    match = re.search(r"(?:What is|Compute) ([\d()+\-* ]+)", question)
    if match is None:
        raise ValueError(f"not an arithmetic question: {question!r}")
    expression = match.group(1).strip()
    if _LTR_PHRASE in question:
        tokens = expression.split()
        return _chain_steps([int(t) for t in tokens[::2]], tokens[1::2])

    def to_node(node: ast.expr) -> Node:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _AST_OPS:
            return (to_node(node.left), _AST_OPS[type(node.op)], to_node(node.right))
        raise ValueError(f"unexpected part of an arithmetic question: {ast.dump(node)}")

    steps: list[Step] = []
    _evaluate(to_node(ast.parse(expression, mode="eval").body), steps)
    return steps


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
                expression = _render(tree)
                trace: list[Step] = []
                _evaluate(tree, trace)
            else:
                numbers = [rng.randint(LOW, HIGH) for _ in range(steps + 1)]
                ops = [rng.choice(tuple(_OPS)) for _ in range(steps)]
                expression = " ".join(
                    x for pair in zip(map(str, numbers), [*ops, ""], strict=True) for x in pair
                ).strip()
                trace = _chain_steps(numbers, ops)
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


def cot_solution(example: Example) -> str:
    """One line per operation, in the order it is worked out, then "The answer is X.".

    '7 + 3 = 10. 12 - 5 = 7. 10 * 7 = 70. The answer is 70.'
    """
    recorded = example.meta.get("trace")
    trace = [Step(*row) for row in recorded] if recorded else steps_of(example.question)
    return " ".join([*(s.text() for s in trace), f"The answer is {trace[-1].result}."])
