"""Pairwise judging: a question and two step-by-step responses to it, one right and one wrong; which is right?

The LLM-evaluation setting of Branch-Solve-Merge (Saha et al., 2023, "Branch-Solve-Merge Improves
Large Language Model Evaluation and Generation", §3.2: a question, the responses of two assistants,
and a verdict A, B or tie) and of System 2 Distillation's BSM experiment (Yu et al., 2024,
"Distilling System 2 into System 1"), made from our synthetic tasks so the verdict can be
scored exactly instead of against human preferences.

Each example takes a question of the ``source`` task (``arithmetic``, ``coin_flip``, ``last_letters``
or ``distractor_arithmetic``) and two responses: the source's correct step-by-step solution
(``cot_solution``) and a wrong one written the same way with one corrupted step, its error carried
through to the final answer, so the two responses have about the same length, the same style, and differ from
the corrupted step on:

- arithmetic and distractor_arithmetic: one operation's result is off by 1 to 3 and later steps work
  from the wrong value ("7 + 3 = 11. Now we have 11 * (12 - 5). 12 - 5 = 7. ...");
- coin_flip: one person's move is tracked the wrong way (a flip that leaves the coin as it was, or a
  non-flip that turns it), so the final side is the wrong one;
- last_letters: one word's last letter is misread (its second-to-last or first letter).

The correct response is Response A or B at random (seeded per question); the gold answer is that
letter (kind "choice", choices ["A", "B"]). The question shows the source question and both
responses, so every strategy can judge; ``meta["instruction"]`` holds the source question and
``meta["responses"]`` the two responses, which is what ``bsm`` reads.

A pair belongs to the split of its source question (as ``sycophancy`` does with its base question),
so no source question is in the train split under one pair and in the test split under another.
Knobs other than ``source`` (``steps``, ``style``, ``flips``, ``words``, ``distractors``) go to the
source generator; left unset (None) they take the source's default.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from types import ModuleType
from typing import Any

from fastslow.errors import FastslowError
from fastslow.tasks import arithmetic, coin_flip, distractor_arithmetic, last_letters
from fastslow.tasks.base import Example
from fastslow.tasks.splits import check_size, check_split, make_rng

NAME = "judge_pairs"
KIND = "choice"
CHOICES = ["A", "B"]
DEFAULT_SOURCE = "arithmetic"
# source -> (generator module, the knobs passed through to it and their types)
SOURCES: dict[str, tuple[ModuleType, dict[str, type]]] = {
    "arithmetic": (arithmetic, {"steps": int, "style": str}),
    "coin_flip": (coin_flip, {"flips": int}),
    "last_letters": (last_letters, {"words": int}),
    "distractor_arithmetic": (distractor_arithmetic, {"steps": int, "distractors": int}),
}
SOURCE_KNOBS = ("steps", "style", "flips", "words", "distractors")
DELTAS = (-3, -2, -1, 1, 2, 3)  # how far a corrupted result is off

QUESTION = (
    "Which of the two responses below answers the question correctly: Response A or Response B?\n\n"
    "[Question]\n{instruction}\n\n[Response A]\n{a}\n\n[Response B]\n{b}"
)
_QUESTION = re.compile(
    r"\[Question\]\n(?P<instruction>.*?)\n\n\[Response A\]\n(?P<a>.*?)\n\n\[Response B\]\n(?P<b>.*)\Z",
    re.DOTALL,
)
_SENTENCES = re.compile(r"(?<=\.)\s+")


def question_for(instruction: str, responses: list[str]) -> str:
    return QUESTION.format(instruction=instruction, a=responses[0], b=responses[1])


def parts_of(question: str) -> tuple[str, list[str]]:
    """The source question and the two responses, read back from a question made by ``question_for``."""
    match = _QUESTION.search(question)
    if match is None:
        raise ValueError(f"not a judge_pairs question: {question[:80]!r}")
    return match.group("instruction"), [match.group("a"), match.group("b")]


# ---------------------------------------------------------------------------------------------
# Wrong solutions: the source's solution with one corrupted step, carried through


def _wrong_arithmetic(example: Example, rng: random.Random) -> tuple[str, str, str]:
    expression, style = arithmetic.expression_of(example)
    solved = arithmetic.solve(expression, style)
    n, right = len(solved), solved[-1][0].result
    tries = [(rng.randrange(n), rng.choice(DELTAS)) for _ in range(20)] + [(n - 1, rng.choice(DELTAS))]
    for at, delta in tries:  # a corrupted step multiplied by 0 later changes nothing: draw again
        wrong = arithmetic.solve(expression, style, mistake=(at, delta))
        result = wrong[-1][0].result
        if result != right:
            return arithmetic.solution_text(wrong), str(result), f"step {at + 1} off by {delta:+d}"
    raise AssertionError("corrupting the last step always changes the answer")


def _wrong_distractor(example: Example, rng: random.Random) -> tuple[str, str, str]:
    problem = distractor_arithmetic.problem_from_meta(example.meta)
    if problem is None:
        problem = distractor_arithmetic.parse_problem(example.question)
    ops = problem.operations
    while True:  # every count stays non-negative, as in a real (if wrong) solution
        at, delta = rng.randrange(len(ops)), rng.choice(DELTAS)
        wrong, value = [], None
        for i, op in enumerate(ops):
            before = op.before if value is None else value
            after = before + (-op.amount if op.op == "subtract" else op.amount) + (delta if i == at else 0)
            wrong.append(replace(op, before=before, after=after))
            value = after if i >= at else None
        if all(op.after >= 0 for op in wrong):
            break
    text = distractor_arithmetic.solution_for(replace(problem, operations=wrong))
    return text, str(wrong[-1].after), f"step {at + 1} off by {delta:+d}"


def _wrong_coin_flip(example: Example, rng: random.Random) -> tuple[str, str, str]:
    raw = example.meta.get("moves") or coin_flip.moves_of(example.question)
    moves = [(str(m[0]), bool(m[1])) for m in raw]
    at = rng.randrange(len(moves))
    heads = True
    steps = ["The coin starts heads up."]
    for i, (name, flipped) in enumerate(moves):
        turned = flipped != (i == at)  # the corrupted move is tracked the wrong way
        heads = heads != turned
        side = "heads" if heads else "tails"
        if flipped:
            steps.append(f"{name} flips it, so it is {'now' if turned else 'still'} {side} up.")
        else:
            steps.append(f"{name} does not flip it, so it is {'now' if turned else 'still'} {side} up.")
    answer = "yes" if heads else "no"
    steps += [f"The coin ends {'heads' if heads else 'tails'} up.", f"The answer is {answer}."]
    return " ".join(steps), answer, f"move {at + 1} tracked the wrong way"


def _wrong_last_letters(example: Example, rng: random.Random) -> tuple[str, str, str]:
    items = [str(w) for w in example.meta.get("items") or last_letters.items_of(example.question)]
    at = rng.randrange(len(items))
    word = items[at]
    last = word[-1].lower()
    misreads = [c for c in dict.fromkeys([word[-2:-1].lower(), word[:1].lower()]) if c and c != last]
    if not misreads:
        misreads = [c for c in "abcdefghijklmnopqrstuvwxyz" if c != last]
    wrong_letter = rng.choice(misreads)
    letters = [w[-1].lower() if i != at else wrong_letter for i, w in enumerate(items)]
    answer = "".join(letters)
    trace = last_letters.trace_for(items, letters)
    return trace, answer, f'word {at + 1} ("{word}") read as ending in "{wrong_letter}"'


_WRONG = {
    "arithmetic": _wrong_arithmetic,
    "coin_flip": _wrong_coin_flip,
    "last_letters": _wrong_last_letters,
    "distractor_arithmetic": _wrong_distractor,
}


def wrong_solution(source: str, example: Example, rng: random.Random) -> tuple[str, str, str]:
    """A wrong step-by-step solution of a ``source`` example: its text, its answer and the mistake."""
    return _WRONG[source](example, rng)


# ---------------------------------------------------------------------------------------------
# Examples


def _check_source(source: str) -> tuple[ModuleType, dict[str, type]]:
    if source not in SOURCES:
        raise FastslowError(
            f"{NAME}: knob source must be one of {', '.join(SOURCES)}, got {source!r} (for example source=coin_flip)"
        )
    return SOURCES[source]


def _source_knobs(source: str, given: dict[str, Any]) -> dict[str, Any]:
    """The knobs to pass to the source generator: the ones set, converted from strings where needed."""
    _, accepted = _check_source(source)
    knobs = {}
    for key, value in given.items():
        if value is None:
            continue
        if key not in accepted:
            takes = ", ".join(accepted)
            raise FastslowError(f"{NAME}: knob {key} does not apply to source {source} (it takes {takes})")
        if accepted[key] is int and isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise FastslowError(f"{NAME}: knob {key} must be an integer, got {value!r}") from None
        knobs[key] = value
    return knobs


def make_examples(
    n: int,
    seed: int = 0,
    split: str = "test",
    source: str = DEFAULT_SOURCE,
    steps: int | None = None,
    style: str | None = None,
    flips: int | None = None,
    words: int | None = None,
    distractors: int | None = None,
) -> list[Example]:
    """``n`` pairs made from the first ``n`` questions of ``split`` of the ``source`` task.

    Ids are the source's with this task's name in front: ``judge_pairs-arithmetic-steps3-s0-17``.
    """
    check_size(n)
    check_split(split)
    module, _ = _check_source(source)
    knobs = _source_knobs(
        source, {"steps": steps, "style": style, "flips": flips, "words": words, "distractors": distractors}
    )
    examples = []
    for ex in module.make_examples(n, seed=seed, split=split, **knobs):
        rng = make_rng(NAME, f"{source}|{ex.question}", seed)
        right = module.cot_solution(ex)
        wrong, wrong_answer, mistake = wrong_solution(source, ex, rng)
        correct = rng.choice(CHOICES)
        responses = [right, wrong] if correct == "A" else [wrong, right]
        examples.append(
            Example(
                id=f"{NAME}-{ex.id}",
                question=question_for(ex.question, responses),
                answer=correct,
                choices=list(CHOICES),
                meta={
                    "task": NAME,
                    "source": source,
                    "source_id": ex.id,
                    "source_knobs": knobs,
                    "instruction": ex.question,
                    "responses": responses,
                    "source_answer": ex.answer,
                    "wrong_answer": wrong_answer,
                    "mistake": mistake,
                    "choices_shown": True,
                    "seed": seed,
                    "split": split,
                },
            )
        )
    return examples


def cot_solution(example: Example) -> str:
    """A templated judgement: where the two responses first differ, which step is right, the letter.

    'The responses first differ where Response A says "7 + 3 = 10." and Response B says
    "7 + 3 = 11.". The step "7 + 3 = 10." is right, so Response A is correct. The answer is A.'
    """
    if example.answer not in CHOICES:
        raise ValueError(f"a judge_pairs example needs answer A or B, got {example.answer!r}")
    responses = example.meta.get("responses") or parts_of(example.question)[1]
    a, b = (_SENTENCES.split(str(r).strip()) for r in responses)
    right = a if example.answer == "A" else b
    steps = []
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            steps.append(f'The responses first differ where Response A says "{x}" and Response B says "{y}".')
            steps.append(f'The step "{right[i]}" is right, so Response {example.answer} is correct.')
            break
    else:
        steps.append(f"Response {example.answer} is correct.")
    return " ".join([*steps, f"The answer is {example.answer}."])
