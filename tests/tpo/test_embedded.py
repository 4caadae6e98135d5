"""`fastslow tpo` end to end on the embedded model, as a user runs it (a few prompts, a few steps)."""

import json

import pytest

from tests.test_cli import fastslow


@pytest.mark.slow
def test_tpo_runs_end_to_end_and_its_model_loads_and_answers(tmp_path):
    out = tmp_path / "run"
    args = ["tpo", "--model", "embedded-reasoner", "--task", "arithmetic", "--knob", "steps=2",
            "--thought-prompt", "answer", "--prompts", "4", "--samples", "4", "--iterations", "1",
            "--test-limit", "3", "--max-tokens", "96", "--max-steps", "2", "--train-batch-size", "2",
            "--out", str(out), "--quiet", "--cache", str(tmp_path / "c.sqlite")]  # fmt: skip
    proc = fastslow(*args, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "seed, thought prompt" in proc.stdout and "iteration 1" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["iterations"][0]["training"]["steps"] == 2
    samples = [json.loads(line) for line in (out / "iter-1" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 4 and all(len(s["outputs"]) == 4 for s in samples)
    # The reasoner follows the answer format: its samples split into a thought and a response.
    assert sum(r is not None for s in samples for r in s["responses"]) >= 12
    solved = fastslow("solve", "What is 3 + 4?", "--method", "direct", "--model", f"hf:{out / 'model'}",
                      "--cache", str(tmp_path / "c.sqlite"))  # fmt: skip
    assert solved.returncode == 0, solved.stderr[-2000:]
    assert "answer:" in solved.stdout
