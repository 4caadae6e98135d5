import json

import pytest

from fastslow.errors import FastslowError
from fastslow.runlog import append_rows, read_rows


def test_append_and_read(tmp_path):
    p = tmp_path / "t.jsonl"
    append_rows(p, [{"a": 1}, {"a": 2}])
    append_rows(p, [{"a": 3}])
    assert [r["a"] for r in read_rows(p)] == [1, 2, 3]


def test_torn_last_line_is_dropped_and_trimmed(tmp_path):
    p = tmp_path / "t.jsonl"
    append_rows(p, [{"a": 1}])
    with open(p, "a") as f:
        f.write('{"a": 2, "b"')  # a write cut short by kill -9
    assert [r["a"] for r in read_rows(p, repair=True)] == [1]
    append_rows(p, [{"a": 3}])
    assert [r["a"] for r in read_rows(p)] == [1, 3]


def test_whole_last_row_without_newline_is_kept(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text(json.dumps({"a": 1}))
    assert len(read_rows(p, repair=True)) == 1
    append_rows(p, [{"a": 2}])
    assert [r["a"] for r in read_rows(p)] == [1, 2]


def test_damage_in_the_middle_is_an_error_naming_the_line(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text('{"a": 1}\nnot json\n{"a": 3}\n')
    with pytest.raises(FastslowError, match="line 2 of"):
        read_rows(p)
