import json

import pytest

from fastslow.errors import FastslowError
from fastslow.tasks.bigbench import load_bigbench


def _write_task(tmp_path, data, folder="my_task"):
    directory = tmp_path / folder
    directory.mkdir(exist_ok=True)
    path = directory / "task.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


GENERATIVE = {
    "name": "my_task",
    "description": "Say the word.",
    "metrics": ["exact_str_match"],
    "preferred_score": "exact_str_match",
    "task_prefix": "Answer with one word.",
    "example_input_prefix": "\nQuestion: ",
    "example_output_prefix": "\nAnswer: ",
    "examples": [
        {"input": "What color is the sky?", "target": "blue"},
        {"input": "Spell the color of grass.", "target": ["green", "Green"], "comment": "two spellings"},
    ],
}

MULTIPLE_CHOICE = {
    "metrics": ["multiple_choice_grade"],
    "examples": [
        {"input": "2 + 2 =", "target_scores": {"3": 0, "4": 1, "5": 0}},
        {"input": "Pick a fruit.", "target_scores": {"apple": 1, "pear": 1, "stone": 0}},
    ],
}


def test_generative_task_with_prefixes_and_list_target(tmp_path):
    task = load_bigbench(_write_task(tmp_path, GENERATIVE))
    assert task.name == "my_task" and task.kind == "text" and len(task) == 2
    first, second = task.examples
    assert first.question == "Answer with one word.\nQuestion: What color is the sky?\nAnswer:"
    assert first.answer == "blue" and first.choices is None and first.id == "my_task-0"
    assert second.answer == ["green", "Green"] and second.meta["comment"] == "two spellings"
    assert task.meta["metrics"] == ["exact_str_match"] and task.meta["scoring"] == "exact_match"
    assert task.description == "Say the word."
    # exact match after normalisation, any of a list
    assert task.score(task.extract("The answer is Blue.", first), first) == 1.0
    assert task.score(task.extract("The answer is green.", second), second) == 1.0
    assert task.score(task.extract("The answer is red.", first), first) == 0.0


def test_default_prefixes_are_bigbench_q_and_a(tmp_path):
    data = {"examples": [{"input": "How many legs has a cat?", "target": "4"}]}
    task = load_bigbench(_write_task(tmp_path, data))
    assert task.examples[0].question == "Q: How many legs has a cat?\nA:"
    assert task.kind == "number"
    assert task.score(task.extract("Cats have 4.0 legs", task.examples[0]), task.examples[0]) == 1.0


def test_multiple_choice_task(tmp_path):
    task = load_bigbench(_write_task(tmp_path, MULTIPLE_CHOICE, folder="mc"))
    assert task.name == "mc" and task.kind == "choice" and task.meta["scoring"] == "multiple_choice"
    first, second = task.examples
    assert first.choices == ["3", "4", "5"] and first.answer == "4"
    assert first.question == "Q: 2 + 2 =\n  choice: 3\n  choice: 4\n  choice: 5\nA:"
    assert first.meta["choices_shown"] is True
    assert second.answer == ["apple", "pear"]
    assert task.score(task.extract("The answer is 4.", first), first) == 1.0
    # The options were shown as "choice: 4", never lettered: a letter names none of them.
    assert task.score(task.extract("The answer is (B).", first), first) == 0.0
    assert task.score(task.extract("The answer is 5.", first), first) == 0.0
    assert task.score(task.extract("I would eat the pear", second), second) == 1.0
    assert task.score(task.extract("the stone", second), second) == 0.0


def test_choices_not_appended_when_the_task_says_so(tmp_path):
    data = dict(MULTIPLE_CHOICE, append_choices_to_input=False, choice_prefix="\nOption: ")
    task = load_bigbench(_write_task(tmp_path, data))
    assert task.examples[0].question == "Q: 2 + 2 =\nA:"
    assert task.examples[0].meta["choices_shown"] is False


def test_metrics_choose_between_target_and_target_scores(tmp_path):
    both = {
        "metrics": ["exact_str_match"],
        "examples": [{"input": "2+2", "target": "4", "target_scores": {"4": 1, "5": 0}}],
    }
    assert load_bigbench(_write_task(tmp_path, both, "a")).kind == "number"
    both["metrics"] = ["multiple_choice_grade", "exact_str_match"]
    assert load_bigbench(_write_task(tmp_path, both, "b")).kind == "choice"


def test_file_not_named_task_json_uses_its_stem(tmp_path):
    path = tmp_path / "riddles.json"
    path.write_text(json.dumps(GENERATIVE), encoding="utf-8")
    assert load_bigbench(path).name == "riddles"


def test_example_without_target_names_file_and_index(tmp_path):
    data = {"examples": [{"input": "a", "target": "b"}, {"input": "c", "target": "d"}, {"input": "e"}]}
    with pytest.raises(FastslowError, match=r'^example 2 of .*task\.json: has neither "target"'):
        load_bigbench(_write_task(tmp_path, data))


def test_mixed_targets_name_the_example(tmp_path):
    data = {
        "metrics": ["multiple_choice_grade"],
        "examples": [{"input": "a", "target_scores": {"x": 1}}, {"input": "c", "target": "d"}],
    }
    with pytest.raises(FastslowError, match=r'^example 1 of .*task\.json: missing "target_scores"'):
        load_bigbench(_write_task(tmp_path, data))


def test_missing_input_names_the_example(tmp_path):
    data = {"examples": [{"input": "a", "target": "b"}, {"target": "d"}]}
    with pytest.raises(FastslowError, match=r'^example 1 of .*task\.json: missing "input"'):
        load_bigbench(_write_task(tmp_path, data))


def test_not_json(tmp_path):
    path = tmp_path / "task.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(FastslowError, match=r"task\.json is not valid JSON \(line 1, column 2"):
        load_bigbench(path)


@pytest.mark.parametrize("data", [{"name": "x"}, [1, 2], {"examples": "none"}])
def test_no_examples_list(tmp_path, data):
    path = tmp_path / "task.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(FastslowError, match=r'task\.json has no "examples" list'):
        load_bigbench(path)


def test_missing_file(tmp_path):
    with pytest.raises(FastslowError, match="does not exist"):
        load_bigbench(tmp_path / "task.json")


def test_bad_target_scores(tmp_path):
    data = {"examples": [{"input": "a", "target_scores": {"x": "high"}}]}
    with pytest.raises(FastslowError, match="example 0 of .*non-number 'high'"):
        load_bigbench(_write_task(tmp_path, data))


def test_numeric_targets_listed_with_their_words_make_a_number_task(tmp_path):
    """object_counting's targets are ["6", "six"]: scored as numbers, the last number of the marked
    sentence counts ("The answer is 1 + 1 = 2." is 2), and the word form still matches."""
    path = tmp_path / "object_counting" / "task.json"
    path.parent.mkdir()
    examples = [
        {"input": "I have a chair and a bed. How many objects do I have?", "target": ["2", "two"]},
        {"input": "I have a pear. How many fruits do I have?", "target": ["1", "one"]},
    ]
    path.write_text(
        json.dumps({"name": "object_counting", "metrics": ["exact_str_match"], "examples": examples})
    )
    task = load_bigbench(path)
    assert task.kind == "number"
    first, second = task.examples
    assert task.score(task.extract("The answer is 1 + 1 = 2.", first), first) == 1.0
    assert task.score(task.extract("The answer is two.", first), first) == 1.0
    assert task.score(task.extract("The answer is 3.", second), second) == 0.0
