"""Train/test splits for the synthetic tasks, decided by the question text alone.

A question belongs to the test split when the SHA-256 of its text is divisible by 5 (about 20% of all
questions), to the train split otherwise. Generators draw questions at random and keep only those of
the requested split (rejection sampling), so a model trained on ``split="train"`` examples never sees
a question it is evaluated on with ``split="test"`` — whatever the seeds or sizes of either side.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

from fastslow.errors import FastslowError
from fastslow.tasks.base import Example

SPLITS = ("train", "test")
TEST_BUCKETS = 5  # one bucket in five is test


def split_of(question: str) -> str:
    """``"test"`` or ``"train"``: the split a question belongs to, fixed by its text."""
    digest = hashlib.sha256(question.encode("utf-8")).digest()
    return "test" if int.from_bytes(digest, "big") % TEST_BUCKETS == 0 else "train"


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise FastslowError(f"unknown split {split!r}: use 'train' or 'test'")


def check_size(n: int) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise FastslowError(f"the number of examples must be a non-negative integer, got {n!r}")


def make_rng(task: str, tag: str, seed: int) -> random.Random:
    """A generator's own random stream: the same for the same task, knobs and seed on every machine.

    (``random.Random`` seeded with a string hashes it with SHA-512, independent of PYTHONHASHSEED.)
    """
    return random.Random(f"{task}|{tag}|{seed}")


def id_prefix(task: str, tag: str, seed: int, split: str) -> str:
    """``"last_letters-w4-s0"`` for the test split, ``"last_letters-w4-s0-train"`` for train."""
    base = f"{task}-{tag}-s{seed}"
    return base if split == "test" else f"{base}-{split}"


def sample_in_split(
    n: int,
    split: str,
    draw: Callable[[], Example],
    prefix: str,
    *,
    max_draws: int | None = None,
) -> list[Example]:
    """``n`` distinct examples of ``split``, drawn by calling ``draw()`` until enough are in it.

    Ids are ``f"{prefix}-{i}"`` for the i-th example kept, so the first k examples of a larger
    request are the same as those of a request for k. Raises FastslowError when the generator's
    question space runs out (too many examples asked of a tiny configuration).
    """
    check_size(n)
    check_split(split)
    limit = max_draws if max_draws is not None else 100 * n + 1000
    seen: set[str] = set()
    kept: list[Example] = []
    draws = 0
    while len(kept) < n:
        if draws >= limit:
            raise FastslowError(
                f"could only make {len(kept)} distinct {split} examples for {prefix} out of {n} asked "
                f"({draws} draws): ask for fewer examples (--limit) or a larger setting of the task's knobs"
            )
        draws += 1
        example = draw()
        if example.question in seen or split_of(example.question) != split:
            continue
        seen.add(example.question)
        example.id = f"{prefix}-{len(kept)}"
        example.meta["split"] = split
        kept.append(example)
    return kept


def check_int_knob(task: str, name: str, value: object, low: int, high: int) -> int:
    """A knob that must be an integer in [low, high], or a FastslowError saying so."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FastslowError(
            f"{task}: knob {name} must be an integer from {low} to {high}, got {value!r} "
            f"(for example {name}={min(max(low, 3), high)})"
        )
    return value
