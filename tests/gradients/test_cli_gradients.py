"""`fastslow gradients` through the real CLI, on the tiny test model."""

from tests.test_cli import assert_clean_error, fastslow


def test_make_data_run_report_and_overlay(tmp_path, tiny_model_dir):
    data = tmp_path / "data"
    made = fastslow("gradients", "make-data", "--task", "coin_flip", "--knob", "flips=2", "--limit", "3",
                    "--out", str(data))  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "detailed" in made.stdout and (data / "none.jsonl").is_file()
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        proc = fastslow("gradients", "--data-dir", str(data), "--model", f"hf:{tiny_model_dir}", "--out", str(out),
                        "--quiet")  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert (out / "summary.json").is_file() and (out / "report.md").is_file()
        runs.append(str(out))
    report = fastslow("report", *runs, "--out", str(tmp_path / "overlay"))
    assert report.returncode == 0, report.stderr
    assert "overlay:" in report.stdout and (tmp_path / "overlay").is_dir()


def test_gradients_without_data_is_a_clean_error(tmp_path):
    assert_clean_error(fastslow("gradients", "--out", str(tmp_path / "r")), "--data")
    assert_clean_error(
        fastslow("gradients", "--data", "none=/no/such.jsonl", "--out", str(tmp_path / "r")), "such"
    )
