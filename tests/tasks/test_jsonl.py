import json

import pytest

from fastslow.errors import FastslowError
from fastslow.tasks.jsonl import load_jsonl


def _write(tmp_path, lines, name="data.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_loads_fields_ids_and_meta(tmp_path):
    path = _write(
        tmp_path,
        [
            json.dumps({"question": "2+2?", "answer": 4, "source": "x"}),
            "",
            json.dumps(
                {"id": "cap", "question": "Capital?", "answer": "Paris", "choices": ["Rome", "Paris"]}
            ),
            json.dumps({"question": "Color?", "answer": ["color", "colour"], "context": "Spelling."}),
            json.dumps({"question": "No answer"}),
            "   ",
        ],
    )
    examples = load_jsonl(path)
    assert [e.id for e in examples] == ["data-0", "cap", "data-2", "data-3"]
    assert examples[0].answer == "4" and examples[0].meta == {"source": "x"}
    assert examples[1].choices == ["Rome", "Paris"]
    assert examples[2].answer == ["color", "colour"] and examples[2].context == "Spelling."
    assert examples[3].answer is None


def test_missing_file(tmp_path):
    with pytest.raises(FastslowError, match="nope.jsonl does not exist"):
        load_jsonl(tmp_path / "nope.jsonl")


def test_empty_file(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(FastslowError, match=r"data\.jsonl is empty"):
        load_jsonl(path)


def test_invalid_json_names_line_and_file(tmp_path):
    path = _write(
        tmp_path, [json.dumps({"question": "a"}), json.dumps({"question": "b"}), '{"question": "c",']
    )
    with pytest.raises(FastslowError, match=r"^line 3 of .*data\.jsonl: invalid JSON: "):
        load_jsonl(path)


def test_missing_question_names_line_and_file(tmp_path):
    lines = [json.dumps({"question": f"q{i}"}) for i in range(16)] + [json.dumps({"answer": "x"})]
    path = _write(tmp_path, lines)
    with pytest.raises(FastslowError, match=r'^line 17 of .*data\.jsonl: missing "question"'):
        load_jsonl(path)


@pytest.mark.parametrize("line", ['["question", "answer"]', '"just a string"', "42"])
def test_non_object_line(tmp_path, line):
    path = _write(tmp_path, [json.dumps({"question": "ok"}), line])
    with pytest.raises(FastslowError, match=r"^line 2 of .*data\.jsonl: expected a JSON object"):
        load_jsonl(path)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"question": ""}, '"question" must be a non-empty string'),
        ({"question": 3}, '"question" must be a non-empty string'),
        ({"question": "q", "choices": "ab"}, '"choices" must be a non-empty list'),
        ({"question": "q", "answer": []}, '"answer" is an empty list'),
        ({"question": "q", "answer": {"a": 1}}, '"answer" must be a string'),
    ],
)
def test_bad_values_name_the_line(tmp_path, record, message):
    path = _write(tmp_path, [json.dumps(record)])
    with pytest.raises(FastslowError, match="line 1 of .*data.jsonl: " + message):
        load_jsonl(path)


def test_duplicate_id(tmp_path):
    path = _write(
        tmp_path, [json.dumps({"id": "a", "question": "q"}), json.dumps({"id": "a", "question": "r"})]
    )
    with pytest.raises(FastslowError, match="line 2 of .*duplicate id 'a' \\(first used on line 1\\)"):
        load_jsonl(path)


def test_directory_and_non_utf8(tmp_path):
    with pytest.raises(FastslowError, match="is a directory"):
        load_jsonl(tmp_path)
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"question": "caf\xe9"}\n')
    with pytest.raises(FastslowError, match="latin.jsonl is not UTF-8"):
        load_jsonl(path)
