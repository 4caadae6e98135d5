import hashlib

import pytest

from fastslow.errors import FastslowError
from fastslow.tasks.base import Example
from fastslow.tasks.splits import id_prefix, make_rng, sample_in_split, split_of


def test_split_of_follows_sha256_mod_5():
    for i in range(200):
        q = f"question {i}"
        h = int(hashlib.sha256(q.encode()).hexdigest(), 16)
        assert split_of(q) == ("test" if h % 5 == 0 else "train")


def test_split_of_is_roughly_one_fifth_test():
    share = sum(split_of(f"q{i}") == "test" for i in range(5000)) / 5000
    assert 0.17 < share < 0.23


def test_sample_in_split_keeps_only_requested_split_and_numbers_ids():
    counter = iter(range(10**6))
    examples = sample_in_split(30, "test", lambda: Example("", f"q{next(counter)}"), "toy-s0")
    assert [e.id for e in examples] == [f"toy-s0-{i}" for i in range(30)]
    assert all(split_of(e.question) == "test" and e.meta["split"] == "test" for e in examples)
    assert len({e.question for e in examples}) == 30


def test_sample_in_split_reports_an_exhausted_question_space():
    rng = make_rng("toy", "", 0)
    with pytest.raises(FastslowError, match="could only make .* distinct test examples for toy"):
        sample_in_split(5, "test", lambda: Example("", f"q{rng.randint(0, 9)}"), "toy", max_draws=500)


def test_bad_split_and_size():
    with pytest.raises(FastslowError, match="unknown split 'dev'"):
        sample_in_split(1, "dev", lambda: Example("", "q"), "toy")
    with pytest.raises(FastslowError, match="non-negative integer"):
        sample_in_split(-1, "test", lambda: Example("", "q"), "toy")


def test_id_prefix_marks_train():
    assert id_prefix("last_letters", "w4", 0, "test") == "last_letters-w4-s0"
    assert id_prefix("last_letters", "w4", 0, "train") == "last_letters-w4-s0-train"


def test_make_rng_is_reproducible_and_seed_dependent():
    a = [make_rng("t", "k", 1).random() for _ in range(2)]
    assert a[0] == a[1]
    assert make_rng("t", "k", 1).random() != make_rng("t", "k", 2).random()
