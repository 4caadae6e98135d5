"""End to end on the real embedded model, through the CLI as a user runs it."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from fastslow.runs import read_rows
from tests.test_cli import fastslow


@pytest.mark.slow
def test_eval_then_identical_rerun_makes_no_model_call(tmp_path):
    args = ["eval", "--task", "arithmetic", "--methods", "direct,cot,sc", "--limit", "3", "--param", "sc.k=3"]
    args += ["--param", "max_tokens=64", "--quiet"]
    first = fastslow(*args, "--out", str(tmp_path / "a"), "--cache", str(tmp_path / "c.sqlite"), timeout=600)
    assert first.returncode == 0, first.stderr
    assert "direct" in first.stdout and "sc" in first.stdout
    s1 = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert s1["run"]["generations_new"] >= 3 + 3 + 9
    assert (tmp_path / "a" / "plots" / "pareto.png").is_file()
    sc = [r for r in read_rows(tmp_path / "a" / "traces.jsonl") if r["method"] == "sc"]
    extracted = sum(r["meta"]["extracted"] for r in sc) / len(sc)  # chains that named no answer
    assert s1["methods"]["sc"]["calls"] == pytest.approx(3.0 + extracted)
    second = fastslow(*args, "--out", str(tmp_path / "b"), "--cache", str(tmp_path / "c.sqlite"), timeout=600)
    assert second.returncode == 0, second.stderr
    s2 = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert s2["run"]["generations_new"] == 0
    assert s2["run"]["generations_cached"] == s1["run"]["generations_new"]
    assert "0 new" in second.stdout
    for m in ("direct", "cot", "sc"):
        assert s2["methods"][m]["accuracy"] == s1["methods"][m]["accuracy"]


@pytest.mark.slow
def test_kill_9_midway_then_resume_loses_and_duplicates_nothing(tmp_path):
    out = tmp_path / "run"
    args = [
        sys.executable,
        "-m",
        "fastslow",
        "eval",
        "--task",
        "coin_flip",
        "--methods",
        "direct",
        "--limit",
        "24",
    ]
    args += ["--chunk", "2", "--quiet", "--out", str(out)]
    args += ["--cache", str(tmp_path / "c.sqlite")]
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    traces = out / "traces.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and (not traces.exists() or len(read_rows(traces)) < 4):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(read_rows(traces))
    assert 4 <= done_before < 24, "the run should have been killed midway"
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    ids = [r["example_id"] for r in read_rows(traces)]
    assert len(ids) == 24 and len(set(ids)) == 24
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["traces_resumed"] == done_before


@pytest.mark.slow
def test_solve_prints_trace_and_cost(tmp_path):
    proc = fastslow(
        "solve", "What is 3 + 4?", "--method", "cot", "--kind", "number", "--answer", "7",
        "--param", "max_tokens=48", "--cache", str(tmp_path / "c.sqlite"), timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "step 1: reason" in proc.stdout
    assert "answer:" in proc.stdout and "cost: " in proc.stdout and "calls" in proc.stdout
