"""benchmarks/sc_vs_cot.py: the cot/sc pairing and the first-operation tally, on a hand-made run."""

import importlib.util
import json
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "sc_vs_cot", Path(__file__).resolve().parents[1] / "benchmarks" / "sc_vs_cot.py"
)
sc_vs_cot = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(sc_vs_cot)

Q1 = "What is (5 - 12) + 3? Work out what is inside the parentheses first."  # -7 + 3 = -4
Q2 = "What is (4 * 3) + 2? Work out what is inside the parentheses first."  # 12 + 2 = 14


def _row(method, eid, question, reference, score, outputs, answers=None):
    row = {
        "method": method,
        "example_id": eid,
        "question": question,
        "reference": reference,
        "score": score,
        "steps": [{"name": "sample", "outputs": outputs}],
        "meta": {},
    }
    if answers is not None:
        row["meta"] = {"answers": answers, "agreement": max(answers.count(a) for a in answers) / len(answers)}
    return row


@pytest.fixture
def run_dir(tmp_path):
    right1 = " 5 - 12 = -(12 - 5) = -7. Now we have -7 + 3. -7 + 3 = -(7 - 3) = -4. The answer is -4."
    wrong1 = " 5 - 12 = -(12 - 5) = -6. Now we have -6 + 3. -6 + 3 = -(6 - 3) = -3. The answer is -3."
    right2 = " 4 * 3 = 12. Now we have 12 + 2. 12 + 2 = 14. The answer is 14."
    skipped = " 3 + 2 = 5. The answer is 5."  # its first sentence is not the question's first operation
    rows = [
        _row("cot", "a-0", Q1, "-4", 1.0, [right1]),
        _row("sc", "a-0", Q1, "-4", 0.0, [wrong1, wrong1, right1], ["-3", "-3", "-4"]),
        _row("cot", "a-1", Q2, "14", 0.0, [skipped]),
        _row("sc", "a-1", Q2, "14", 1.0, [right2, right2, skipped], ["14", "14", "5"]),
    ]
    (tmp_path / "traces.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "summary.json").write_text(json.dumps({"task": "arithmetic", "kind": "number"}))
    return tmp_path


def test_paired_counts_fixes_breaks_and_sampled_accuracy(run_dir):
    task, kind, rows = sc_vs_cot.read_traces(run_dir)
    assert (task, kind) == ("arithmetic", "number")
    p = sc_vs_cot.paired(kind, rows)
    assert (p["n"], p["cot"], p["sc"], p["fixes"], p["breaks"]) == (2, 1.0, 1.0, 1, 1)
    assert p["sampled_right"] == pytest.approx(3 / 6)
    assert p["no_sample_right"] == 0
    assert p["agreement"] == pytest.approx(2 / 3)


def test_first_operation_errors_by_operator_and_sign(run_dir):
    _, _, rows = sc_vs_cot.read_traces(run_dir)
    assert sc_vs_cot.first_operation_errors(rows, "sc") == {"* non-negative": [0, 2], "- negative": [2, 3]}
    assert sc_vs_cot.first_operation_errors(rows, "cot") == {"- negative": [0, 1]}


def test_the_script_prints_both(run_dir, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["sc_vs_cot.py", str(run_dir)])
    sc_vs_cot.main()
    out = capsys.readouterr().out
    assert "cot 1/2, sc 1/2 (fixes 1, breaks 1); a sampled chain right 50.0%" in out
    assert "first operation wrong (sc): * non-negative 0/2, - negative 2/3" in out
    assert "a vote of k samples (mean over random subsets; cot 50.0%): 1: 50.0%" in out
    assert (
        "reached by two or more paths: right 0/1, wrong 0/1; wrong samples off by a multiple of 10: 0/3"
        in out
    )


def test_answer_paths_tells_one_path_from_several(tmp_path):
    q = "What is (7 + (8 * 4)) + 18? Work out what is inside the parentheses first."
    via49 = " 8 * 4 = 32. Now we have (7 + 32) + 18. 7 + 32 = 49. Now we have 49 + 18. 49 + 18 = 67. The answer is 67."
    via39 = " 8 * 4 = 32. Now we have (7 + 32) + 18. 7 + 32 = 39. Now we have 39 + 18. 39 + 18 = 67. The answer is 67."
    right = " 8 * 4 = 32. Now we have (7 + 32) + 18. 7 + 32 = 39. Now we have 39 + 18. 39 + 18 = 57. The answer is 57."
    rows = {
        ("sc", "q"): _row(
            "sc", "q", q, "57", 0.0, [via49, via39, right, right, via49], ["67", "67", "57", "57", "67"]
        ),
        ("cot", "q"): _row("cot", "q", q, "57", 1.0, [right]),
    }
    assert sc_vs_cot.answer_paths(rows, "number") == {"right": [0, 1], "wrong": [1, 1], "off_by_tens": [3, 3]}


def test_pooled_difference_is_the_paired_mean_with_its_interval():
    # 10 questions: sc fixes 3 and breaks 1, so the differences are 1, 1, 1, -1 and six 0s.
    runs = [{"n": 4, "fixes": 2, "breaks": 1}, {"n": 6, "fixes": 1, "breaks": 0}]
    n, mean, low, high = sc_vs_cot.pooled_difference(runs)
    diffs = [1, 1, 1, -1] + [0] * 6
    sd = (sum((d - 0.2) ** 2 for d in diffs) / 9) ** 0.5
    assert (n, mean) == (10, pytest.approx(0.2))
    assert (low, high) == (pytest.approx(0.2 - 1.96 * sd / 10**0.5), pytest.approx(0.2 + 1.96 * sd / 10**0.5))


def test_the_script_pools_several_runs(run_dir, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["sc_vs_cot.py", str(run_dir), str(run_dir)])
    sc_vs_cot.main()
    assert "pooled over 2 runs: cot 2/4, sc 2/4; sc - cot +0.0%" in capsys.readouterr().out
