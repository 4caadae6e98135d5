import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

datasets = pytest.importorskip("datasets")

from fastslow.errors import FastslowError  # noqa: E402
from fastslow.tasks.hf_disk import load_dataset_dir  # noqa: E402


@pytest.fixture
def single(tmp_path):
    path = tmp_path / "gsm_tiny"
    datasets.Dataset.from_dict(
        {
            "problem": ["1+1?", "2*3?"],
            "solution": ["2", "6"],
            "passage": ["Adding.", "Multiplying."],
            "difficulty": [1, 2],
        }
    ).save_to_disk(str(path))
    return path


@pytest.fixture
def splits(tmp_path):
    path = tmp_path / "mc_tiny"
    make = datasets.Dataset.from_dict
    datasets.DatasetDict(
        {
            "train": make({"id": ["t0"], "question": ["Train q"], "options": [["a", "b"]], "label": [0]}),
            "test": make(
                {"id": ["x0", "x1"], "question": ["Q0", "Q1"], "options": [["a", "b"]] * 2, "label": [1, 0]}
            ),
        }
    ).save_to_disk(str(path))
    return path


def test_single_dataset_with_column_mapping(single):
    examples = load_dataset_dir(single, "problem", "solution", context_field="passage")
    assert [e.question for e in examples] == ["1+1?", "2*3?"]
    assert [e.answer for e in examples] == ["2", "6"]
    assert examples[1].context == "Multiplying."
    assert examples[0].id == "gsm_tiny-0"
    assert examples[0].meta == {"difficulty": 1}


def test_dataset_dict_defaults_to_test_and_maps_choice_indices(splits):
    examples = load_dataset_dir(splits, "question", "label", choices_field="options")
    assert [e.id for e in examples] == ["x0", "x1"]
    assert examples[0].choices == ["a", "b"]
    assert [e.answer for e in examples] == ["b", "a"]
    assert examples[0].meta["split"] == "test"


def test_dataset_dict_explicit_split(splits):
    examples = load_dataset_dir(splits, "question", "label", split="train")
    assert [e.question for e in examples] == ["Train q"] and examples[0].answer == "0"


def test_dataset_dict_without_test_uses_first_split(tmp_path):
    path = tmp_path / "only_train"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"q": ["a"], "a": ["b"]})}).save_to_disk(
        str(path)
    )
    assert load_dataset_dir(path, "q", "a")[0].meta["split"] == "train"


def test_unknown_split_lists_splits(splits):
    with pytest.raises(FastslowError, match="no split 'validation'; its splits are: train, test"):
        load_dataset_dir(splits, "question", "label", split="validation")


def test_missing_column_lists_columns(single):
    with pytest.raises(
        FastslowError, match=r"gsm_tiny has no column 'question' .*problem, solution, passage, difficulty"
    ):
        load_dataset_dir(single, "question", "solution")
    with pytest.raises(FastslowError, match="no column 'answer' for the answer.*--answer-field"):
        load_dataset_dir(single, "problem", "answer")


def test_missing_dir(tmp_path):
    with pytest.raises(FastslowError, match="nowhere does not exist"):
        load_dataset_dir(tmp_path / "nowhere", "q", "a")


def test_dir_that_is_not_a_dataset(tmp_path):
    with pytest.raises(FastslowError, match="not a dataset saved with"):
        load_dataset_dir(tmp_path, "q", "a")


def test_file_instead_of_dir(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("{}\n")
    with pytest.raises(FastslowError, match="is a file, not a dataset directory"):
        load_dataset_dir(path, "q", "a")
