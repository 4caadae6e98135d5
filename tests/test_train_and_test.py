"""A training recipe's inputs and held-out questions (``evaluate.train_and_test``) from each kind of
task source: never one question on both sides."""

import json

import pytest

from fastslow.errors import FastslowError
from fastslow.evaluate import EvalConfig, train_and_test
from fastslow.tasks.splits import split_of


def _source(**kw):
    return EvalConfig(methods=["direct"], **kw)


def _questions(task):
    return [ex.question for ex in task.examples]


def test_a_builtin_task_gives_its_train_and_test_sides(tmp_path):
    train, test = train_and_test(_source(task="coin_flip"), 30, 10)
    assert len(train.examples) == 30 and len(test.examples) == 10
    assert all(split_of(q) == "train" for q in _questions(train))
    assert all(split_of(q) == "test" for q in _questions(test))


def test_a_jsonl_file_is_one_pool_split_by_a_hash_of_each_question(tmp_path):
    data = tmp_path / "mine.jsonl"
    pool = [f"What is {i} plus {i}?" for i in range(60)]
    data.write_text(
        "".join(json.dumps({"question": q, "answer": str(2 * i)}) + "\n" for i, q in enumerate(pool))
    )
    train, test = train_and_test(_source(data=str(data)), None, 100)
    assert _questions(train) == [q for q in pool if split_of(q) == "train"]  # in file order
    assert _questions(test) == [q for q in pool if split_of(q) == "test"]
    assert 0 < len(test.examples) < len(train.examples)
    train, test = train_and_test(_source(data=str(data)), 5, 3)  # limits cut each side
    assert len(train.examples) == 5 and len(test.examples) == 3


def test_a_bigbench_file_is_split_the_same_way(tmp_path):
    folder = tmp_path / "tiny_bb"
    folder.mkdir()
    examples = [{"input": f"Is {i} even?", "target": "yes" if i % 2 == 0 else "no"} for i in range(40)]
    (folder / "task.json").write_text(json.dumps({"examples": examples}))
    train, test = train_and_test(_source(task_file=str(folder / "task.json")), None, 100)
    questions = _questions(train) + _questions(test)
    assert len(questions) == 40 and all(any(e["input"] in q for q in questions) for e in examples)
    assert all(split_of(q) == "train" for q in _questions(train)) and test.examples
    assert all(split_of(q) == "test" for q in _questions(test))


def _save(path, splits):
    datasets = pytest.importorskip("datasets")
    datasets.DatasetDict(
        {
            name: datasets.Dataset.from_dict({"question": qs, "answer": ["1"] * len(qs)})
            for name, qs in splits.items()
        }
    ).save_to_disk(str(path))
    return str(path)


def test_a_dataset_with_train_and_test_splits_gives_them(tmp_path):
    path = _save(tmp_path / "ds", {"train": ["a?", "b?", "c?"], "test": ["d?", "e?"]})
    train, test = train_and_test(_source(dataset=path), None, 10)
    assert _questions(train) == ["a?", "b?", "c?"] and _questions(test) == ["d?", "e?"]


def test_a_dataset_with_only_a_train_split_is_pooled_and_split_by_hash(tmp_path):
    pool = [f"question {i}?" for i in range(40)]
    path = _save(tmp_path / "ds", {"train": pool})
    train, test = train_and_test(_source(dataset=path), None, 100)
    assert _questions(train) == [q for q in pool if split_of(q) == "train"]
    assert _questions(test) == [q for q in pool if split_of(q) == "test"] and test.examples


def test_a_dataset_whose_splits_share_a_question_is_refused(tmp_path):
    path = _save(tmp_path / "ds", {"train": ["a?", "shared?"], "test": ["shared?", "d?"]})
    with pytest.raises(FastslowError, match="1 held-out questions are also training inputs .*'shared\\?'"):
        train_and_test(_source(dataset=path), None, 10)
