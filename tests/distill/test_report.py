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
