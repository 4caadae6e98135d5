import json

import pytest

from fastslow.errors import FastslowError
from fastslow.gradients.report import (
    finding_correct_vs_irrelevant,
    finding_fast_vs_slow,
    finding_padded,
    is_gradients_run,
    overlay,
    render,
)
from fastslow.gradients.run import GradientsConfig, run_gradients


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_model, tiny_model_dir, tiny_data):
    out = tmp_path_factory.mktemp("grun")
    run_gradients(
        GradientsConfig(data=dict(tiny_data), model=f"hf:{tiny_model_dir}", limit=4),
        out,
        progress=False,
        model=tiny_model,
    )
    return out


def test_console_summary(run_dir):
    from fastslow.gradients.report import console_summary, load_run

    text = console_summary(load_run(run_dir)[0])
    assert text.splitlines()[0].startswith("none") and "Fast vs slow thinking" in text and "**" not in text


def test_render_writes_the_report_and_plots(run_dir):
    path = render(run_dir)
    text = path.read_text()
    assert path == run_dir / "report.md"
    for needle in (
        "## Findings",
        "Fast vs slow thinking",
        "Correct vs irrelevant",
        "`padded` control",
        "| none | 4 |",
    ):
        assert needle in text
    assert (run_dir / "plots" / "curves.png").stat().st_size > 10_000
    assert (run_dir / "plots" / "comparison.png").stat().st_size > 10_000
    assert is_gradients_run(run_dir)


def test_overlay_sets_runs_side_by_side(run_dir, tmp_path):
    path = overlay([run_dir, run_dir], tmp_path / "cmp")
    assert "none / detailed nuclear norm" in path.read_text()
    assert (tmp_path / "cmp" / "plots" / "overlay.png").is_file()
    default = overlay([run_dir, run_dir])
    assert default.parent == run_dir.parent / f"overlay-{run_dir.name}-vs-{run_dir.name}"
    with pytest.raises(FastslowError, match="at least two"):
        overlay([run_dir], tmp_path / "cmp")


def test_not_a_gradients_run(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"command": "eval"}))
    (tmp_path / "summary.json").write_text(json.dumps({"methods": {}}))
    assert not is_gradients_run(tmp_path)
    with pytest.raises(FastslowError, match="not a gradients run"):
        render(tmp_path)
    with pytest.raises(FastslowError, match="no summary.json"):
        render(tmp_path / "nothing")


def _summary(none, detailed, padded=None, auc_slow=0.9, auc_fast=0.55):
    """A minimal summary: attention q only, given mean nuclear norms and MADs per type."""

    def entry(norm, mad):
        curve = {"all": mad, "early": mad, "middle": mad, "late": mad}
        return {
            "n": 10,
            "response_tokens": 10.0,
            "mean": {"S_sum": {"q": norm, "attn": norm}},
            "mad": {"S_sum": {"q": {"curve": curve}, "attn": {"curve": curve}}},
        }

    def pair(a, b, value):
        return {
            "a": a,
            "b": b,
            "auc": {"attn": value},
            "b_larger": {"attn": value},
            "paired": 10,
            "mean_rd": {"attn": 0.2},
            "mean_abs_rd": {"attn": 0.2},
        }

    types = {"none": entry(*none), "detailed": entry(*detailed)}
    if padded:
        types["padded"] = entry(*padded)
    pairs = {
        "detailed:irrelevant": pair("detailed", "irrelevant", auc_slow),
        "none:irrelevant_none": pair("none", "irrelevant_none", auc_fast),
    }
    return {"modules": ["q"], "types": types, "pairs": pairs}


def test_findings_state_verdicts_with_numbers():
    yes = finding_fast_vs_slow(_summary((2.0, 0.5), (1.0, 0.1)))
    assert "**reproduces**" in yes and "2 vs 1 (2x)" in yes and "1/1" in yes
    no = finding_fast_vs_slow(_summary((1.0, 0.1), (2.0, 0.5)))
    assert "does not reproduce" in no
    assert "**reproduces**" in finding_correct_vs_irrelevant(
        _summary((2, 1), (1, 1), auc_slow=0.9, auc_fast=0.55)
    )
    assert "does not reproduce" in finding_correct_vs_irrelevant(_summary((2, 1), (1, 1), auc_slow=0.6))
    curves_only = _summary((2, 1), (1, 1), auc_slow=0.6)
    curves_only["pairs"]["none:irrelevant_none"]["mean_abs_rd"]["attn"] = 0.05
    assert "mean curves only" in finding_correct_vs_irrelevant(curves_only)
    assert "in part" in finding_correct_vs_irrelevant(_summary((2, 1), (1, 1), auc_slow=0.9, auc_fast=0.05))
    padded = finding_padded(_summary((2.0, 1.0), (1.0, 0.2), padded=(1.1, 0.3)))
    assert "t = 0.9" in padded and "most of the fast/slow gap" in padded
    assert "little of" in finding_padded(_summary((2.0, 1.0), (1.0, 0.2), padded=(2.1, 1.2)))
    assert "not measured" in finding_padded(_summary((2.0, 1.0), (1.0, 0.2)))
