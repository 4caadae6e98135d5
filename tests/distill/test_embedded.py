"""`fastslow distill` end to end on the embedded model, as a user runs it (a few inputs, a few steps)."""

import json

import pytest

from tests.test_cli import fastslow


@pytest.mark.slow
def test_distill_runs_end_to_end_and_its_model_loads_and_answers(tmp_path):
    out = tmp_path / "run"
    args = ["distill", "--model", "embedded-reasoner", "--task", "arithmetic", "--knob", "steps=1",
            "--limit", "6", "--samples", "3", "--min-agreement", "0.6", "--test-limit", "3",
            "--max-steps", "2", "--train-batch-size", "2", "--out", str(out), "--quiet",
            "--cache", str(tmp_path / "c.sqlite")]  # fmt: skip
    proc = fastslow(*args, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "System 1" in proc.stdout and "Distilled System 1" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["inputs"] == 6 and 0 < summary["kept"] <= 6 and summary["training"]["steps"] == 2
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert all(r["completion"][0]["content"].startswith("The answer is ") for r in rows)
    teacher = [json.loads(line) for line in (out / "teacher.jsonl").read_text().splitlines()]
    assert len(teacher) == 6 and all(len(t["answers"]) == 3 for t in teacher)
    # The distilled model is a folder every command loads.
    solved = fastslow("solve", "What is 3 + 4?", "--method", "direct", "--model", f"hf:{out / 'model'}",
                      "--cache", str(tmp_path / "c.sqlite"))  # fmt: skip
    assert solved.returncode == 0, solved.stderr[-2000:]
    assert "answer:" in solved.stdout
