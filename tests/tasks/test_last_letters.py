import pytest

from fastslow.errors import FastslowError
from fastslow.tasks import last_letters
from fastslow.tasks.base import Example
from fastslow.tasks.splits import split_of
from fastslow.tasks.wordlists import common_nouns, first_names

from .generator_checks import (
    check_cot_solution_without_meta,
    check_cot_solutions_parse_back,
    check_deterministic,
    check_splits_never_overlap,
)


def test_word_lists_are_shipped_clean_and_large_enough():
    names, nouns = first_names(), common_nouns()
    assert len(names) >= 150 and len(nouns) >= 150
    assert all(n.isalpha() and n[0].isupper() for n in names)
    assert all(w.isalpha() and w.islower() for w in nouns)
    pool = last_letters.word_pool()
    assert len(set(pool)) == len(pool)


def test_question_answer_and_meta():
    examples = last_letters.make_examples(50, seed=0, words=3)
    for example in examples:
        items = example.meta["items"]
        assert len(items) == 3 and len(set(items)) == 3
        assert f'"{" ".join(items)}"' in example.question
        assert example.answer == "".join(w[-1] for w in items).lower()
        assert example.meta["words"] == 3
        assert split_of(example.question) == "test"
    assert examples[17].id == "last_letters-w3-s0-17"


def test_default_is_four_words_and_train_ids_are_marked():
    example = last_letters.make_examples(1, seed=2, split="train")[0]
    assert len(example.meta["items"]) == 4
    assert example.id == "last_letters-w4-s2-train-0"


def test_cot_solution_format():
    example = Example(
        "x", last_letters.question_for(["Alice", "Bob"]), "eb", meta={"items": ["Alice", "Bob"]}
    )
    assert last_letters.cot_solution(example) == (
        'The last letter of "Alice" is "e", so far "e". The last letter of "Bob" is "b", so far "eb". '
        "The answer is eb."
    )


def test_cot_solutions_parse_back():
    check_cot_solutions_parse_back(last_letters)
    check_cot_solutions_parse_back(last_letters, words=2)


def test_cot_solution_without_meta():
    check_cot_solution_without_meta(last_letters)


def test_splits_never_overlap():
    check_splits_never_overlap(last_letters, words=2)


def test_deterministic():
    check_deterministic(last_letters)


@pytest.mark.parametrize("words", [0, -1, 21, "4", 2.5])
def test_bad_knob(words):
    with pytest.raises(FastslowError, match="knob words must be an integer from 1 to 20"):
        last_letters.make_examples(1, words=words)
