"""The CLI as a user meets it: real subprocesses, exit codes, one-line errors, no tracebacks."""

import json
import os
import subprocess
import sys

import pytest


def fastslow(*args, cwd=None, timeout=120):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "fastslow", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def assert_clean_error(proc, *needles):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    err = proc.stderr.strip()
    for n in needles:
        assert n in err, err
    return err


@pytest.fixture
def out(tmp_path):
    return str(tmp_path / "run")


def test_empty_file(tmp_path, out):
    f = tmp_path / "empty.jsonl"
    f.write_text("")
    err = assert_clean_error(
        fastslow("eval", "--data", str(f), "--methods", "direct", "--out", out), "empty.jsonl"
    )
    assert len(err.splitlines()) == 1


def test_invalid_json_line_is_named(tmp_path, out):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"question": "a", "answer": "b"}\n{"question": oops}\n')
    assert_clean_error(
        fastslow("eval", "--data", str(f), "--methods", "direct", "--out", out), "line 2", "bad.jsonl"
    )


def test_missing_question_field(tmp_path, out):
    f = tmp_path / "q.jsonl"
    f.write_text('{"question": "a", "answer": "b"}\n{"answer": "c"}\n')
    assert_clean_error(
        fastslow("eval", "--data", str(f), "--methods", "direct", "--out", out), "line 2", "question"
    )


def test_unknown_method(out):
    assert_clean_error(
        fastslow("eval", "--task", "coin_flip", "--methods", "direct,wizard", "--out", out), "wizard"
    )


def test_unknown_task(out):
    assert_clean_error(fastslow("eval", "--task", "chess", "--methods", "direct", "--out", out), "chess")


@pytest.mark.parametrize("limit", ["0", "-3"])
def test_bad_limit(limit, out):
    proc = fastslow("eval", "--task", "coin_flip", "--methods", "direct", "--limit", limit, "--out", out)
    assert_clean_error(proc, "--limit")


@pytest.mark.parametrize("size", ["0", "x"])
def test_bad_batch_size(size, out):
    proc = fastslow("eval", "--task", "coin_flip", "--methods", "direct", "--batch-size", size, "--out", out)
    assert_clean_error(proc, "--batch-size")


def test_missing_model_path(tmp_path, out):
    proc = fastslow(
        "eval", "--task", "coin_flip", "--limit", "2", "--model", "hf:/no/such/model", "--out", out
    )
    assert_clean_error(proc, "/no/such/model")
    proc = fastslow("solve", "hi", "--model", f"gguf:{tmp_path}/missing.gguf")
    assert_clean_error(proc, "missing.gguf")


def test_unreachable_openai_url(tmp_path, out):
    proc = fastslow(
        "eval",
        "--task",
        "coin_flip",
        "--limit",
        "2",
        "--methods",
        "direct",
        "--model",
        "openai:m@http://127.0.0.1:9/v1",
        "--out",
        out,
        "--cache",
        str(tmp_path / "cache.sqlite"),
    )
    assert_clean_error(proc, "http://127.0.0.1:9/v1")


def test_bigbench_without_targets(tmp_path, out):
    f = tmp_path / "task.json"
    f.write_text(json.dumps({"name": "x", "examples": [{"input": "2+2"}]}))
    assert_clean_error(
        fastslow("eval", "--task-file", str(f), "--methods", "direct", "--out", out), "task.json"
    )


def test_bad_param_and_listing_commands():
    assert_clean_error(fastslow("solve", "q", "--method", "sc", "--param", "k=many"), "integer")
    for cmd in ("models", "tasks", "methods"):
        proc = fastslow(cmd)
        assert proc.returncode == 0, proc.stderr
    assert "SmolLM2-135M-Instruct" in fastslow("models").stdout
    assert "last_letters" in fastslow("tasks").stdout
    assert "self-consistency" in fastslow("methods").stdout
    assert fastslow("--help").returncode == 0 and fastslow("eval", "--help").returncode == 0


@pytest.mark.parametrize(
    "share, needle",
    [
        ("poetry=0.5", "not a primed family"),
        ("arithmetic=lots", "expected a number"),
        ("coin_flip", "KEY=VALUE"),
        ("coin_flip=-1", "zero or more"),
        ("coin_flip=inf", "finite"),
    ],
)
def test_prime_rejects_a_bad_share_before_training(share, needle, out):
    assert_clean_error(fastslow("prime", "--out", out, "--share", share), needle)
    assert not os.path.exists(out)  # nothing written: a corrected rerun into the same --out works


def test_prime_share_overrides_one_family_and_keeps_the_others():
    from fastslow.prime import SHARES, parse_shares

    shares = parse_shares(["arithmetic=0.5", "last_letters=0.38"])
    assert shares == dict(SHARES, arithmetic=0.5, last_letters=0.38)
