"""Last-letter concatenation: "Take the last letters of each word in "Alice apple" and concatenate them."

A symbolic-reasoning task from Wei et al. (2022), "Chain-of-Thought Prompting Elicits Reasoning in
Large Language Models", §5 (there with first and last names). The answer is the lowercase string of
last letters ("ee"). Words are drawn, without repetition within a question, from a pool of common
English first names (``data/names.txt``) and common nouns (``data/words.txt``) shipped in the package.
"""

from __future__ import annotations

import re

from fastslow.tasks.base import Example
from fastslow.tasks.splits import check_int_knob, id_prefix, make_rng, sample_in_split
from fastslow.tasks.wordlists import common_nouns, first_names

NAME = "last_letters"
KIND = "text"
DEFAULT_WORDS = 4
MAX_WORDS = 20


def word_pool() -> tuple[str, ...]:
    """The names and nouns questions are made of."""
    return first_names() + common_nouns()


def question_for(items: list[str]) -> str:
    return f'Take the last letters of each word in "{" ".join(items)}" and concatenate them.'


def items_of(question: str) -> list[str]:
    """The words of a question made by ``question_for`` (the quoted part, split on spaces)."""
    match = re.search(r'"([^"]+)"', question)
    if match is None:
        raise ValueError(f"not a last-letters question: {question!r}")
    return match.group(1).split()


def answer_for(items: list[str]) -> str:
    return "".join(item[-1] for item in items).lower()


def make_examples(n: int, seed: int = 0, split: str = "test", words: int = DEFAULT_WORDS) -> list[Example]:
    """``n`` distinct questions of ``split`` with ``words`` words each, the same for the same seed.

    Ids look like ``last_letters-w4-s0-17`` (``...-s0-train-17`` for the train split).
    """
    words = check_int_knob(NAME, "words", words, 1, MAX_WORDS)
    pool = word_pool()
    rng = make_rng(NAME, f"w{words}", seed)

    def draw() -> Example:
        items = rng.sample(pool, words)
        return Example(
            id="",
            question=question_for(items),
            answer=answer_for(items),
            meta={"task": NAME, "words": words, "items": items, "seed": seed},
        )

    return sample_in_split(n, split, draw, id_prefix(NAME, f"w{words}", seed, split))


def trace_for(items: list[str], letters: list[str]) -> str:
    """The step-by-step trace that reads ``letters`` off ``items``, keeping a running join.

    After each word the letters so far are written out ("e", then "eb", ...): a small model then
    appends the letter it has just named to the string it wrote a few tokens before, instead of
    recalling every letter from far back and merging them into a word in one leap.
    """
    steps = [
        f'The last letter of "{item}" is "{letter}", so far "{"".join(letters[: i + 1])}".'
        for i, (item, letter) in enumerate(zip(items, letters))
    ]
    return " ".join([*steps, f"The answer is {''.join(letters)}."])


def cot_solution(example: Example) -> str:
    """A fixed step-by-step trace ending in "The answer is X.", for priming and few-shot exemplars.

    'The last letter of "Alice" is "e", so far "e". The last letter of "Bob" is "b", so far "eb".
    The answer is eb.'
    """
    items = example.meta.get("items") or items_of(example.question)
    return trace_for(items, [item[-1].lower() for item in items])
