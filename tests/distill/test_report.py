"""The distillation report's plot on the extreme rows real runs produce."""

from fastslow.distill.report import plot


def _row(name, accuracy, ci95, tokens):
    return {"row": name, "accuracy": accuracy, "ci95": ci95, "completion_tokens": tokens}


def test_the_plot_draws_rows_at_zero_and_one_hundred_percent(tmp_path):
    # The coin-flip run's teacher scored 100/100 and its summary stored the upper limit as
    # 0.9999999999999999: the plot raised "'yerr' must not contain negative values".
    summary = {
        "task": "coin_flip",
        "rows": [
            _row("System 1", 0.0, [0.0, 0.037], 3.0),
            _row("System 2 (teacher)", 1.0, [0.9630051925239981, 0.9999999999999999], 68.7),
            _row("Distilled System 1", 0.51, [0.413, 0.606], 3.0),
        ],
    }
    plot(summary, tmp_path / "distill.png")
    assert (tmp_path / "distill.png").stat().st_size > 10_000


def test_the_report_says_where_the_teacher_fell_back():
    from fastslow.distill.report import difference_lines

    teacher = {**_row("System 2 (teacher)", 0.43, [0.34, 0.53], 140.6), "method": "s2a", "n": 100}
    teacher.update(parse_errors=97, parse_error_example="no question part: the original text was used")
    summary = {"rows": [_row("System 1", 0.0, [0.0, 0.037], 4.9) | {"method": "direct", "n": 100}, teacher]}
    assert difference_lines(summary)[0] == (
        "- System 2 (teacher) (`s2a`): its own step did not parse on 97 of 100 questions, where it fell "
        "back; the first: no question part: the original text was used"
    )
    assert len(difference_lines(summary)) == 1  # System 1 had nothing to parse
