import json

import pytest

from fastslow.errors import FastslowError
from fastslow.runs import append_rows, read_rows


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


# -- open_run: the config check -------------------------------------------------------------------
from dataclasses import dataclass, field  # noqa: E402

from fastslow.runs import open_run  # noqa: E402


@dataclass
class _Inner:
    steps: int = 3


@dataclass
class _Config:
    name: str = "a"
    limit: int = 5
    inner: _Inner = field(default_factory=_Inner)
    chunk: int = 16


def test_open_run_writes_the_config_once_and_resumes_with_the_same_settings(tmp_path):
    run = open_run(tmp_path / "r", "demo", _Config(), model_id="m@1", extra={"data_sha256": {"x": "1"}})
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved == {
        "command": "demo",
        "demo": {"name": "a", "limit": 5, "inner": {"steps": 3}, "chunk": 16},
        "data_sha256": {"x": "1"},
        "model_id": "m@1",
    }
    run.append("rows.jsonl", [{"a": 1}])
    again = open_run(tmp_path / "r", "demo", _Config(chunk=8), model_id="m@1", extra={"data_sha256": {"x": "1"}},
                     runtime_fields={"chunk"})  # fmt: skip
    assert again.rows("rows.jsonl") == [{"a": 1}]


@pytest.mark.parametrize(
    "kwargs, named",
    [
        ({"config": _Config(limit=6)}, "limit"),
        ({"config": _Config(inner=_Inner(steps=4))}, "inner.steps"),
        ({"model_id": "m@2"}, "model (weights m@1 then, m@2 now)"),
        ({"extra": {"data_sha256": {"x": "2"}}}, "data_sha256.x"),
    ],
)
def test_a_resume_with_other_settings_or_other_weights_is_refused_naming_the_field(tmp_path, kwargs, named):
    open_run(tmp_path, "demo", _Config(), model_id="m@1", extra={"data_sha256": {"x": "1"}})
    args = {"config": _Config(), "model_id": "m@1", "extra": {"data_sha256": {"x": "1"}}, **kwargs}
    with pytest.raises(FastslowError) as err:
        open_run(tmp_path, "demo", args.pop("config"), **args)
    message = str(err.value)
    assert f"differs in: {named})" in message and "\n" not in message


def test_a_run_of_another_command_is_refused(tmp_path):
    open_run(tmp_path, "demo", _Config())
    with pytest.raises(FastslowError, match="holds a demo run"):
        open_run(tmp_path, "other", _Config())


def test_a_saved_run_lacking_a_newer_field_resumes_at_its_default(tmp_path):
    open_run(tmp_path, "demo", _Config())
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["demo"]["limit"], saved["demo"]["inner"]["steps"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    open_run(tmp_path, "demo", _Config())
    with pytest.raises(FastslowError, match="inner.steps"):
        open_run(tmp_path, "demo", _Config(inner=_Inner(steps=9)))
