import re

import pytest

from fastslow.errors import FastslowError
from fastslow.tasks import distractor_arithmetic as da
from fastslow.tasks.base import Example
from fastslow.tasks.registry import list_tasks, load_task

from .generator_checks import (
    check_cot_solution_without_meta,
    check_cot_solutions_parse_back,
    check_deterministic,
    check_splits_never_overlap,
)


def _numbers(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", text)]


def _solve_independently(relevant: list[str], person: str) -> int:
    """Work the relevant sentences out from their wording alone (not through the module's parser)."""
    value = _numbers(relevant[0])[0]
    assert relevant[0].startswith(f"{person} has ")
    for sentence in relevant[1:]:
        numbers = _numbers(sentence)
        if " in each." in sentence:
            value += numbers[0] * numbers[1]
        elif " more " in sentence:
            value += numbers[0]
        else:
            assert re.search(r" (loses|sells|gives \d+ \w+ to) ", sentence), sentence
            value -= numbers[0]
        assert value >= 1
    return value


def test_answers_come_from_the_relevant_sentences_only():
    examples = da.make_examples(200, seed=0, steps=3, distractors=2)
    for example in examples:
        meta = example.meta
        relevant, distractors = meta["relevant"], meta["distractors"]
        assert len(relevant) == 4 and len(distractors) == 2
        assert all(s.startswith("Then ") for s in relevant[2:]) and not relevant[1].startswith("Then ")
        answer = _solve_independently(relevant, meta["person"])
        assert example.answer == str(answer) and 0 < answer < 1000
        assert example.question.endswith(f"How many {meta['object']} does {meta['person']} have now?")
        # the question is the relevant and the irrelevant sentences, in some interleaving, then the query
        sentences = example.question.split(". ")
        assert len(sentences) == 1 + len(relevant) + len(distractors)
        assert [s for s in re.split(r"(?<=[.?])\s+", example.question) if s not in distractors] == [
            *relevant,
            f"How many {meta['object']} does {meta['person']} have now?",
        ]
        assert meta["without_distractors"] == " ".join(
            [*relevant, f"How many {meta['object']} does {meta['person']} have now?"]
        )
        assert len(meta["operations"]) == 3 and meta["operations"][-1]["after"] == answer
    assert examples[17].id == "distractor_arithmetic-steps3-d2-s0-17"


def test_distractors_mention_the_person_or_object_and_hold_an_unused_number():
    for example in da.make_examples(200, seed=1, steps=2, distractors=3):
        meta = example.meta
        cot = da.cot_solution(example)
        used = set(_numbers(cot))
        assert len(meta["distractors"]) == 3 and len(set(meta["distractors"])) == 3
        for sentence, number in zip(meta["distractors"], meta["distractor_numbers"], strict=True):
            assert sentence in example.question
            assert sentence not in cot
            assert _numbers(sentence) == [number]
            assert number not in used
            assert meta["person"] in sentence or meta["object"] in sentence.lower()
        assert used == set(_numbers(" ".join(meta["relevant"]))) | {
            op[k] for op in meta["operations"] for k in ("before", "after", "amount")
        }


def test_no_distractors():
    for example in da.make_examples(50, seed=2, distractors=0):
        assert example.meta["distractors"] == [] and example.meta["distractor_numbers"] == []
        assert example.question == example.meta["without_distractors"]
    assert example.id.startswith("distractor_arithmetic-steps2-d0-s2-")


def test_every_template_and_distractor_kind_occurs():
    examples = da.make_examples(300, seed=5, steps=4, distractors=3)
    used = {op["template"] for e in examples for op in e.meta["operations"]}
    assert used == set(da.TEMPLATES)
    phrases = ("years old", "once had", "minutes", "on the shelf", "at home", "cents each")
    for sentence in (s for e in examples for s in e.meta["distractors"]):
        assert sum(phrase in sentence for phrase in phrases) == 1, sentence
    assert all(any(phrase in s for e in examples for s in e.meta["distractors"]) for phrase in phrases)
    # distractors land before, between and after the relevant sentences
    first = {e.question.split(". ")[0] + "." in e.meta["distractors"] for e in examples}
    last = {e.question.split(". ")[-2] + "." in e.meta["distractors"] for e in examples}
    assert first == last == {True, False}


def test_parse_problem_separates_relevant_from_distractors():
    for example in da.make_examples(200, seed=6, steps=4, distractors=3):
        problem = da.parse_problem(example.question)
        assert problem.relevant == example.meta["relevant"]
        assert problem.distractors == example.meta["distractors"]
        assert problem.distractor_numbers == example.meta["distractor_numbers"]
        assert str(problem.answer) == example.answer


def test_cot_solution_format():
    question = (
        "Maria has 7 apples. Maria's brother is 12 years old. Maria buys 5 more apples. "
        "Then Maria gives 3 apples to Tom. Then Tom gives Maria 2 bags with 4 apples in each. "
        "The shop has 40 apples on the shelf. How many apples does Maria have now?"
    )
    example = Example("x", question, "17")
    assert da.cot_solution(example) == (
        "Maria starts with 7 apples. Maria buys 5 more: 7 + 5 = 12. Maria gives 3 to Tom: 12 - 3 = 9. "
        "Maria gets 2 bags of 4 from Tom: 2 * 4 = 8, and 9 + 8 = 17. The answer is 17."
    )
    problem = da.parse_problem(question)
    assert problem.distractors == ["Maria's brother is 12 years old.", "The shop has 40 apples on the shelf."]
    assert problem.question_without_distractors == (
        "Maria has 7 apples. Maria buys 5 more apples. Then Maria gives 3 apples to Tom. "
        "Then Tom gives Maria 2 bags with 4 apples in each. How many apples does Maria have now?"
    )


def test_not_a_word_problem():
    with pytest.raises(ValueError, match="not a distractor-arithmetic question"):
        da.parse_problem("What is 2 + 3?")


@pytest.mark.parametrize(
    "knobs", [{}, {"steps": 1, "distractors": 0}, {"steps": 4, "distractors": 3}, {"distractors": 2}]
)
def test_cot_solutions_parse_back(knobs):
    check_cot_solutions_parse_back(da, **knobs)


@pytest.mark.parametrize("knobs", [{}, {"steps": 4, "distractors": 3}])
def test_cot_solution_without_meta(knobs):
    check_cot_solution_without_meta(da, **knobs)


def test_splits_never_overlap():
    check_splits_never_overlap(da, steps=1, distractors=0)


@pytest.mark.parametrize("knobs", [{}, {"steps": 3, "distractors": 3}])
def test_deterministic(knobs):
    check_deterministic(da, **knobs)


@pytest.mark.parametrize(
    "knobs, message",
    [
        ({"steps": 0}, "knob steps must be an integer from 1 to 4"),
        ({"steps": 5}, "knob steps must be an integer from 1 to 4"),
        ({"distractors": -1}, "knob distractors must be an integer from 0 to 3"),
        ({"distractors": 4}, "knob distractors must be an integer from 0 to 3"),
        ({"distractors": "2"}, "knob distractors must be an integer"),
    ],
)
def test_bad_knobs(knobs, message):
    with pytest.raises(FastslowError, match=message):
        da.make_examples(1, **knobs)


def test_load_task_with_string_knobs():
    task = load_task("distractor_arithmetic", knobs={"distractors": "2"}, limit=5, seed=1, split="train")
    assert task.kind == "number" and len(task) == 5
    assert task.examples == da.make_examples(5, seed=1, split="train", distractors=2)
    assert task.examples[0].id == "distractor_arithmetic-steps2-d2-s1-train-0"
    example = task.examples[3]
    assert task.score(task.extract(da.cot_solution(example), example), example) == 1.0
    with pytest.raises(FastslowError, match="knob distractors must be an integer from 0 to 3"):
        load_task("distractor_arithmetic", knobs={"distractors": "9"})


def test_listed_with_knobs_and_papers():
    listed = {t["name"]: t for t in list_tasks()}["distractor_arithmetic"]
    assert listed["kind"] == "number" and listed["knobs"] == {"steps": 2, "distractors": 1}
    assert "Weston & Sukhbaatar, 2023" in listed["description"]
