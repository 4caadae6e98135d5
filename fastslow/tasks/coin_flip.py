"""Coin flip: a coin starts heads up, people flip it or not; is it still heads up?

A state-tracking task from Wei et al. (2022), "Chain-of-Thought Prompting Elicits Reasoning in Large
Language Models", §5 ("A coin is heads up. Phoebe flips the coin. Osvaldo does not flip the coin. Is
the coin still heads up?"). The answer is "yes" when the number of flips is even. Each question has
``flips`` people (distinct first names from ``data/names.txt``), each of whom flips the coin or not
with equal probability.
"""

from __future__ import annotations

import re

from fastslow.tasks.base import Example
from fastslow.tasks.splits import check_int_knob, id_prefix, make_rng, sample_in_split
from fastslow.tasks.wordlists import first_names

NAME = "coin_flip"
KIND = "choice"
CHOICES = ["yes", "no"]
DEFAULT_FLIPS = 4
MAX_FLIPS = 20
_MOVE = re.compile(r"(\w+) (flips|does not flip) the coin\.")


def question_for(moves: list[tuple[str, bool]]) -> str:
    sentences = [f"{name} {'flips' if flipped else 'does not flip'} the coin." for name, flipped in moves]
    return " ".join(["A coin is heads up.", *sentences, "Is the coin still heads up?"])


def answer_for(moves: list[tuple[str, bool]]) -> str:
    return "yes" if sum(flipped for _, flipped in moves) % 2 == 0 else "no"


def moves_of(question: str) -> list[tuple[str, bool]]:
    """Who flipped and who did not, read back from a question made by ``question_for``."""
    moves = [(m.group(1), m.group(2) == "flips") for m in _MOVE.finditer(question)]
    if not moves:
        raise ValueError(f"not a coin-flip question: {question!r}")
    return moves


def make_examples(n: int, seed: int = 0, split: str = "test", flips: int = DEFAULT_FLIPS) -> list[Example]:
    """``n`` distinct questions of ``split`` with ``flips`` people each, the same for the same seed.

    Ids look like ``coin_flip-f4-s0-17`` (``...-s0-train-17`` for the train split). Every example has
    ``choices == ["yes", "no"]``; the question itself asks for yes or no (``meta["choices_shown"]``).
    """
    flips = check_int_knob(NAME, "flips", flips, 1, MAX_FLIPS)
    names = first_names()
    rng = make_rng(NAME, f"f{flips}", seed)

    def draw() -> Example:
        moves = [(name, rng.random() < 0.5) for name in rng.sample(names, flips)]
        return Example(
            id="",
            question=question_for(moves),
            answer=answer_for(moves),
            choices=list(CHOICES),
            meta={
                "task": NAME,
                "flips": flips,
                "moves": [[name, flipped] for name, flipped in moves],
                "seed": seed,
                "choices_shown": True,
            },
        )

    return sample_in_split(n, split, draw, id_prefix(NAME, f"f{flips}", seed, split))


def cot_solution(example: Example) -> str:
    """A fixed step-by-step trace ending in "The answer is yes." or "The answer is no.".

    'The coin starts heads up. Alice flips it, so it is now tails up. Bob does not flip it, so it is
    still tails up. The coin ends tails up. The answer is no.'
    """
    moves = [(str(m[0]), bool(m[1])) for m in example.meta.get("moves") or moves_of(example.question)]
    heads = True
    steps = ["The coin starts heads up."]
    for name, flipped in moves:
        if flipped:
            heads = not heads
            steps.append(f"{name} flips it, so it is now {'heads' if heads else 'tails'} up.")
        else:
            steps.append(f"{name} does not flip it, so it is still {'heads' if heads else 'tails'} up.")
    steps.append(f"The coin ends {'heads' if heads else 'tails'} up.")
    steps.append(f"The answer is {'yes' if heads else 'no'}.")
    return " ".join(steps)
