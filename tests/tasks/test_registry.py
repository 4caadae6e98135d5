import json
import os

import pytest

from fastslow.errors import FastslowError
from fastslow.tasks import arithmetic, coin_flip, last_letters
from fastslow.tasks.base import Example
from fastslow.tasks.registry import BUILTIN_TASKS, cot_solver, guess_kind, list_loaders, list_tasks, load_task

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def test_list_tasks_describes_every_builtin():
    tasks = {t["name"]: t for t in list_tasks()}
    assert set(tasks) == {
        "last_letters",
        "coin_flip",
        "arithmetic",
        "distractor_arithmetic",
        "sycophancy",
        "judge_pairs",
    }
    assert tasks["last_letters"]["knobs"] == {"words": 4} and tasks["last_letters"]["kind"] == "text"
    assert tasks["coin_flip"]["knobs"] == {"flips": 4} and tasks["coin_flip"]["kind"] == "choice"
    assert tasks["arithmetic"]["knobs"] == {"steps": 3, "style": "parens"}
    assert tasks["arithmetic"]["kind"] == "number"
    assert all(t["description"] for t in tasks.values())
    assert {loader["name"] for loader in list_loaders()} == {"bigbench", "jsonl", "hf_disk"}


def test_load_builtin_with_string_knobs_limit_seed_and_split():
    task = load_task("last_letters", knobs={"words": "2"}, limit=5, seed=3, split="train")
    assert task.name == "last_letters" and task.kind == "text" and len(task) == 5
    assert task.examples == last_letters.make_examples(5, seed=3, split="train", words=2)
    assert task.meta["knobs"] == {"words": 2} and task.meta["split"] == "train"


def test_load_builtin_default_size_and_kind():
    task = load_task("coin_flip")
    assert len(task) == 100 and task.kind == "choice"
    example = task.examples[0]
    assert task.score(task.extract(coin_flip.cot_solution(example), example), example) == 1.0


def test_string_knob_keeps_string_type():
    task = load_task("arithmetic", knobs={"style": "left_to_right", "steps": "2"}, limit=3)
    assert task.examples == arithmetic.make_examples(3, steps=2, style="left_to_right")


def test_cot_solver():
    example = last_letters.make_examples(1)[0]
    assert cot_solver("last_letters")(example) == last_letters.cot_solution(example)


def test_unknown_task_lists_known_ones():
    with pytest.raises(FastslowError, match="unknown task 'gsm8k'.*last_letters, coin_flip, arithmetic"):
        load_task("gsm8k")


def test_unknown_knob_lists_the_task_knobs():
    with pytest.raises(
        FastslowError, match=r"unknown knob 'flips' for task last_letters.*words \(default 4\)"
    ):
        load_task("last_letters", knobs={"flips": "3"})


def test_knob_that_is_not_a_number():
    with pytest.raises(FastslowError, match="knob words must be an integer, got 'four'"):
        load_task("last_letters", knobs={"words": "four"})


@pytest.mark.parametrize("limit", [0, -3])
def test_limit_must_be_positive(limit):
    with pytest.raises(FastslowError, match="^--limit must be a positive integer$"):
        load_task("last_letters", limit=limit)


def test_exactly_one_source(tmp_path):
    with pytest.raises(FastslowError, match="exactly one task source.*got none"):
        load_task()
    with pytest.raises(FastslowError, match="exactly one task source.*got name and data"):
        load_task("last_letters", data=tmp_path / "x.jsonl")


def test_knobs_with_a_file_source(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"question": "q", "answer": "1"}\n')
    with pytest.raises(FastslowError, match="knobs apply only to built-in tasks"):
        load_task(data=path, knobs={"words": "3"})


def test_unknown_kind():
    with pytest.raises(FastslowError, match="unknown answer kind 'date'"):
        load_task("last_letters", kind="date")


def _jsonl(tmp_path, name, records):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_jsonl_kind_guessing_name_and_limit(tmp_path):
    numbers = _jsonl(tmp_path, "sums.jsonl", [{"question": f"{i}+1?", "answer": i + 1} for i in range(5)])
    task = load_task(data=numbers, limit=2)
    assert task.name == "sums" and task.kind == "number" and len(task) == 2
    assert task.score(task.extract("so it is 1.0", task.examples[0]), task.examples[0]) == 1.0
    words = _jsonl(
        tmp_path, "words.jsonl", [{"question": "q", "answer": "abc"}, {"question": "r", "answer": "3"}]
    )
    assert load_task(data=words).kind == "text"
    mc = _jsonl(tmp_path, "mc.jsonl", [{"question": "q", "answer": "2", "choices": ["1", "2"]}])
    assert load_task(data=mc).kind == "choice"
    assert load_task(data=mc, kind="number").kind == "number"


def test_guess_kind_with_list_and_missing_answers():
    assert guess_kind([Example("a", "q", ["1", "1.0"])]) == "number"
    assert guess_kind([Example("a", "q", None)]) == "text"


def test_bigbench_source_and_limit(tmp_path):
    directory = tmp_path / "tiny_bb"
    directory.mkdir()
    data = {"metrics": ["exact_str_match"], "examples": [{"input": f"{i}?", "target": "x"} for i in range(4)]}
    (directory / "task.json").write_text(json.dumps(data))
    task = load_task(task_file=directory / "task.json", limit=3)
    assert task.name == "tiny_bb" and len(task) == 3 and task.kind == "text"


def test_dataset_source(tmp_path):
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "tiny_ds"
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict({"prompt": ["a", "b", "c"], "label": ["1", "2", "3"]})}
    ).save_to_disk(str(path))
    task = load_task(dataset=path, question_field="prompt", answer_field="label", limit=2)
    assert (
        task.name == "tiny_ds" and task.kind == "number" and [e.question for e in task.examples] == ["a", "b"]
    )
    with pytest.raises(FastslowError, match="no column 'question'"):
        load_task(dataset=path)
    with pytest.raises(FastslowError, match="no split 'validation'"):
        load_task(dataset=path, question_field="prompt", answer_field="label", split="validation")


def test_a_split_is_refused_for_files_that_have_none(tmp_path):
    data = tmp_path / "mine.jsonl"
    data.write_text('{"question": "1 + 1?", "answer": "2"}\n')
    with pytest.raises(FastslowError, match="not to --task-file or --data"):
        load_task(data=data, split="train")
    assert len(load_task(data=data).examples) == 1


def test_every_builtin_module_keeps_the_task_generator_contract():
    from fastslow.tasks.answers import KINDS, names_answer
    from fastslow.tasks.base import TaskGenerator

    for name, builtin in BUILTIN_TASKS.items():
        module = builtin.module
        assert isinstance(module, TaskGenerator), name
        assert module.NAME == name and module.KIND == builtin.kind and module.KIND in KINDS
        task = load_task(name, limit=3, split="train")
        for ex in task.examples:
            solution = module.cot_solution(ex)
            assert names_answer(solution) and task.score(task.extract(solution, ex), ex) == 1.0, solution
