import pytest

from fastslow.errors import FastslowError
from fastslow.tasks import arithmetic, coin_flip, distractor_arithmetic, judge_pairs, last_letters
from fastslow.tasks.answers import extract_answer, score_answer
from fastslow.tasks.base import Example
from fastslow.tasks.registry import list_tasks, load_task

from .generator_checks import (
    check_cot_solution_without_meta,
    check_cot_solutions_parse_back,
    check_deterministic,
)

SOURCES = list(judge_pairs.SOURCES)


def _sentences(text):
    return judge_pairs._SENTENCES.split(text)


@pytest.mark.parametrize("source", SOURCES)
def test_one_right_and_one_wrong_response_of_the_same_shape(source):
    module = judge_pairs.SOURCES[source][0]
    examples = judge_pairs.make_examples(60, seed=0, source=source)
    originals = module.make_examples(60, seed=0)
    differences = []
    for example, original in zip(examples, originals):
        meta = example.meta
        a, b = meta["responses"]
        right, wrong = (a, b) if example.answer == "A" else (b, a)
        assert right == module.cot_solution(original)
        assert meta["instruction"] == original.question and meta["source_id"] == original.id
        assert example.id == f"judge_pairs-{original.id}"
        assert example.question == judge_pairs.question_for(original.question, [a, b])
        assert example.choices == ["A", "B"] and meta["choices_shown"]
        # the wrong one ends in another answer, and says so the same way the source does
        assert wrong.endswith(f"The answer is {meta['wrong_answer']}.")
        kind = module.KIND
        assert score_answer(extract_answer(wrong, kind, original.choices), original.answer, kind) == 0.0
        assert score_answer(extract_answer(right, kind, original.choices), original.answer, kind) == 1.0
        # same style: as many sentences, the same up to the corrupted step, close in length
        assert len(_sentences(right)) == len(_sentences(wrong))
        first = next(i for i, (x, y) in enumerate(zip(_sentences(right), _sentences(wrong))) if x != y)
        assert _sentences(right)[:first] == _sentences(wrong)[:first]
        differences.append(len(wrong) - len(right))
    # Close in length, and not longer or shorter on the whole. An arithmetic slip that changes a
    # sign is carried through with the sign worked out ("-(1 * 16) = -16"), which adds up to a few
    # such forms to one response, either one.
    bound = 45 if source == "arithmetic" else 12
    assert max(abs(d) for d in differences) <= bound
    assert abs(sum(differences) / len(differences)) <= 3
    assert {e.answer for e in examples} == {"A", "B"}  # the right response is not always first


def test_arithmetic_errors_are_carried_through():
    example = Example("x", arithmetic.question_for("(7 + 3) * (12 - 5)", "parens"), "70")
    seen = set()
    for seed in range(40):
        rng = judge_pairs.make_rng("t", "x", seed)
        text, answer, mistake = judge_pairs.wrong_solution("arithmetic", example, rng)
        at, d = int(mistake.split()[1]) - 1, int(mistake.split()[-1])
        expected = {
            0: [
                f"7 + 3 = {10 + d}.",
                f"Now we have {10 + d} * (12 - 5).",
                "12 - 5 = 7.",
                f"Now we have {10 + d} * 7.",
                f"{10 + d} * 7 = {(10 + d) * 7}.",
            ],
            1: [
                "7 + 3 = 10.",
                "Now we have 10 * (12 - 5).",
                f"12 - 5 = {7 + d}.",
                f"Now we have 10 * {7 + d}.",
                f"10 * {7 + d} = {10 * (7 + d)}.",
            ],
            2: [
                "7 + 3 = 10.",
                "Now we have 10 * (12 - 5).",
                "12 - 5 = 7.",
                "Now we have 10 * 7.",
                f"10 * 7 = {70 + d}.",
            ],
        }[at]
        assert _sentences(text) == [*expected, f"The answer is {answer}."]
        assert answer == expected[-1].split(" = ")[1].rstrip(".") and answer != "70"
        seen.add(at)
    assert seen == {0, 1, 2}


def test_a_corrupted_step_multiplied_by_zero_is_drawn_again():
    example = Example("x", arithmetic.question_for("(3 - 3) * (2 + 5)", "parens"), "0")
    for seed in range(20):
        text, answer, mistake = judge_pairs.wrong_solution(
            "arithmetic", example, judge_pairs.make_rng("t", "x", seed)
        )
        assert answer != "0" and not mistake.startswith("step 2 ")


def test_left_to_right_arithmetic_and_every_step_can_be_corrupted():
    example = Example("x", arithmetic.question_for("2 + 3 * 4", "left_to_right"), "20")
    seen = set()
    for seed in range(40):
        text, answer, mistake = judge_pairs.wrong_solution(
            "arithmetic", example, judge_pairs.make_rng("t", "x", seed)
        )
        steps = _sentences(text)
        first = int(steps[0].rstrip(".").split(" = ")[-1])
        assert steps[1] == f"Now we have {first} * 4."
        assert int(steps[2].split()[0]) == first  # the next step works from the (possibly wrong) result
        seen.add(mistake.split()[1])
        assert answer != "20"
    assert seen == {"1", "2"}


def test_coin_flip_wrong_move():
    moves = [("Alice", True), ("Bob", False)]
    example = Example("x", coin_flip.question_for(moves), "no", choices=["yes", "no"])
    texts = {
        judge_pairs.wrong_solution("coin_flip", example, judge_pairs.make_rng("t", "x", s))[0]
        for s in range(30)
    }
    assert texts == {
        "The coin starts heads up. Alice flips it, so it is still heads up. "
        "Bob does not flip it, so it is still heads up. The coin ends heads up. The answer is yes.",
        "The coin starts heads up. Alice flips it, so it is now tails up. "
        "Bob does not flip it, so it is now heads up. The coin ends heads up. The answer is yes.",
    }


def test_last_letters_misread_letter():
    example = Example("x", last_letters.question_for(["Alice", "Bob"]), "eb")
    answers = {
        judge_pairs.wrong_solution("last_letters", example, judge_pairs.make_rng("t", "x", s))[1]
        for s in range(40)
    }
    assert answers == {"cb", "ab", "eo"}  # Alic[e] -> c or A; Bo[b] -> o (B is b again)
    text = judge_pairs.wrong_solution("last_letters", example, judge_pairs.make_rng("t", "x", 0))[0]
    answer = text.split()[-1].rstrip(".")
    assert text.endswith(f'so far "{answer}". The answer is {answer}.')


def test_distractor_arithmetic_counts_stay_non_negative():
    for example in judge_pairs.make_examples(100, seed=1, source="distractor_arithmetic", steps=3):
        wrong = example.meta["responses"][0 if example.answer == "B" else 1]
        assert int(example.meta["wrong_answer"]) >= 0 and "-" not in wrong.split("The answer is")[1]


def test_question_reads_back():
    example = judge_pairs.make_examples(1, seed=0)[0]
    assert judge_pairs.parts_of(example.question) == (example.meta["instruction"], example.meta["responses"])
    assert example.question.startswith("Which of the two responses below answers the question correctly")
    with pytest.raises(ValueError, match="not a judge_pairs question"):
        judge_pairs.parts_of("What is 2 + 3?")


def test_cot_solution_points_at_the_first_difference():
    example = Example(
        "x",
        judge_pairs.question_for(
            "What is 2 + 3 + 4?",
            ["2 + 3 = 6. 6 + 4 = 10. The answer is 10.", "2 + 3 = 5. 5 + 4 = 9. The answer is 9."],
        ),
        "B",
        choices=["A", "B"],
    )
    assert judge_pairs.cot_solution(example) == (
        'The responses first differ where Response A says "2 + 3 = 6." and Response B says "2 + 3 = 5.". '
        'The step "2 + 3 = 5." is right, so Response B is correct. The answer is B.'
    )


@pytest.mark.parametrize("knobs", [{}, {"source": "coin_flip"}, {"source": "last_letters", "words": 3}])
def test_cot_solutions_parse_back(knobs):
    check_cot_solutions_parse_back(judge_pairs, **knobs)


@pytest.mark.parametrize("knobs", [{}, {"source": "distractor_arithmetic"}])
def test_cot_solution_without_meta(knobs):
    check_cot_solution_without_meta(judge_pairs, **knobs)


@pytest.mark.parametrize("knobs", [{}, {"source": "coin_flip", "flips": 5}])
def test_deterministic(knobs):
    check_deterministic(judge_pairs, **knobs)


@pytest.mark.parametrize("source", SOURCES)
def test_a_pair_is_in_the_split_of_its_source_question(source):
    knobs = {"steps": 1} if source == "distractor_arithmetic" else {}
    train = judge_pairs.make_examples(300, seed=0, split="train", source=source, **knobs)
    test = judge_pairs.make_examples(100, seed=0, split="test", source=source, **knobs)
    module = judge_pairs.SOURCES[source][0]
    assert [e.meta["instruction"] for e in test] == [
        e.question for e in module.make_examples(100, seed=0, **knobs)
    ]
    assert not {e.meta["instruction"] for e in train} & {e.meta["instruction"] for e in test}
    assert all(e.meta["split"] == "train" and "-train-" in e.id for e in train)


def test_knobs_go_to_the_source():
    example = judge_pairs.make_examples(1, seed=2, source="arithmetic", steps=2, style="left_to_right")[0]
    assert example.meta["source_knobs"] == {"steps": 2, "style": "left_to_right"}
    assert example.id == "judge_pairs-arithmetic-steps2-ltr-s2-0"
    assert "left to right" in example.meta["instruction"]


@pytest.mark.parametrize(
    "knobs, message",
    [
        (
            {"source": "gsm8k"},
            "knob source must be one of arithmetic, coin_flip, last_letters, distractor_arithmetic",
        ),
        (
            {"source": "coin_flip", "words": 3},
            "knob words does not apply to source coin_flip \\(it takes flips\\)",
        ),
        ({"steps": "three"}, "knob steps must be an integer, got 'three'"),
        ({"steps": 0}, "arithmetic: knob steps must be an integer from 1 to 10"),
    ],
)
def test_bad_knobs(knobs, message):
    with pytest.raises(FastslowError, match=message):
        judge_pairs.make_examples(1, **knobs)


def test_bad_split():
    with pytest.raises(FastslowError, match="unknown split"):
        judge_pairs.make_examples(1, split="dev")


def test_load_task_with_string_knobs_and_scoring():
    task = load_task("judge_pairs", knobs={"source": "last_letters", "words": "2"}, limit=4, seed=1)
    assert task.kind == "choice" and len(task) == 4
    assert task.examples == judge_pairs.make_examples(4, seed=1, source="last_letters", words=2)
    example = task.examples[0]
    assert task.score(task.extract(judge_pairs.cot_solution(example), example), example) == 1.0
    other = "B" if example.answer == "A" else "A"
    assert task.score(task.extract(f"The answer is {other}.", example), example) == 0.0
    assert task.score(task.extract("The answer is tie.", example), example) == 0.0


def test_listed_with_its_knobs():
    listed = {t["name"]: t for t in list_tasks()}["judge_pairs"]
    assert listed["kind"] == "choice"
    assert listed["knobs"] == {
        "source": "arithmetic",
        "steps": None,
        "style": None,
        "flips": None,
        "words": None,
        "distractors": None,
    }
    assert "Saha et al., 2023" in listed["description"]


def test_distractor_source_keeps_the_distractors_out_of_the_responses():
    for example in judge_pairs.make_examples(20, seed=0, source="distractor_arithmetic", distractors=2):
        problem = distractor_arithmetic.parse_problem(example.meta["instruction"])
        assert len(problem.distractors) == 2
        for response in example.meta["responses"]:
            assert not any(d in response for d in problem.distractors)
