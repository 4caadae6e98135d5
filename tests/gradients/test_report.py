import json

import pytest

from fastslow.errors import FastslowError
from fastslow.gradients.report import (
    finding_correct_vs_irrelevant,
    finding_fast_vs_slow,
    finding_padded,
    findings,
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
    text = path.read_text()
    assert "none / detailed nuclear norm" in text
    # the ratio carries its paired interval, as the claim has it
    assert "(4 paired questions)" in text and "95% interval [" in text
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


def _synthetic_summary(scales, n=30, layers=6, seed=0):
    """A summary from rows of every response type: per question a random level times a falling
    curve, times the type's scale, with a little noise; q, k, v, o alike."""
    import numpy as np

    from fastslow.gradients.metrics import summarize

    rng = np.random.default_rng(seed)
    shape = np.linspace(2.0, 1.0, layers)
    rows = []
    for i in range(n):
        level = rng.uniform(0.7, 1.3)
        for t, scale in scales.items():
            curve = scale * level * shape * (1 + 0.03 * rng.standard_normal(layers))
            for kind in ("q", "k", "v", "o"):
                for layer, v in enumerate(curve):
                    rows.append(
                        {"type": t, "id": f"q{i}", "layer": layer, "module": kind, "S_sum": float(v),
                         "S_max": v / 2, "S_min": v / 10, "ratio": 0.5, "fro": v / 1.5, "loss": 1.0,
                         "tokens": 20, "response_tokens": 10}
                    )  # fmt: skip
    return summarize(rows, list(scales), ["q", "k", "v", "o"], layers)


SCALES = {"none": 2.0, "detailed": 1.0, "shuffled": 1.3, "irrelevant": 1.0, "irrelevant_none": 2.0}


def test_findings_state_verdicts_with_intervals_and_p_values():
    summary = _synthetic_summary({**SCALES, "padded": 1.0})
    fast_slow, irrelevant, padded = (f for f in findings(summary))
    assert "**reproduces**: fast thinking (none) gives larger gradients" in fast_slow
    assert "ratio 2" in fast_slow and "95% interval [" in fast_slow and "p = 0.0005" in fast_slow
    # Twice as high at the same shape: the MAD reproduces, its scale-free form does not.
    assert "**does not reproduce**: fast thinking's curve is less even beyond its scale" in fast_slow
    assert (
        "**reproduces**: slow thinking's curves differ between correct (detailed) and irrelevant responses (shuffled"
        in irrelevant
    )
    assert "points above a noise floor" in irrelevant and "per-example AUC" in irrelevant
    assert "**reproduces**: length alone does not make" not in padded
    assert "**does not reproduce**: length alone" in padded
    assert (
        "consistent with response length driving the fast/slow gap" in padded
        and "does not prove it" in padded
    )
    assert "t = 1 (95% interval [" in padded
    kept = _synthetic_summary({**SCALES, "padded": 1.6})
    assert "**reproduces**: length alone" in finding_padded(kept)
    assert "does not explain the fast/slow gap" in finding_padded(kept)


def test_every_claim_of_a_run_carries_a_verdict_by_the_written_rule(run_dir):
    from fastslow.gradients.findings import VERDICT_RULE
    from fastslow.gradients.report import load_run

    summary, _ = load_run(run_dir)
    report = render(run_dir).read_text()
    assert VERDICT_RULE in report and "Prompt format: `plain`" in report
    for claim in summary["findings"]["claims"].values():
        assert claim["verdict"] in (
            "reproduces",
            "does not reproduce",
            "inconclusive",
            "not measured",
            "descriptive",
        )
        if claim["verdict"] in ("reproduces", "does not reproduce", "inconclusive") and "interval" in claim:
            assert "p" in claim and len(claim["interval"]) == 2
            assert f"**{claim['verdict']}**: {claim['text']}" in report


def test_a_summary_from_before_the_findings_says_so():
    summary = _synthetic_summary({**SCALES, "padded": 1.0})
    del summary["findings"]
    for text in (
        finding_fast_vs_slow(summary),
        finding_correct_vs_irrelevant(summary),
        finding_padded(summary),
    ):
        assert "no intervals or verdicts" in text and "**reproduces**" not in text


def test_overlay_sets_the_findings_of_each_run_side_by_side(tmp_path):
    gap = _synthetic_summary({**SCALES, "padded": 1.0})
    level = _synthetic_summary({**SCALES, "none": 1.0, "irrelevant_none": 1.0, "padded": 1.0}, seed=1)
    for name, summary in (("gap", gap), ("level", level)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps({"command": "gradients"}))
        (tmp_path / name / "summary.json").write_text(json.dumps(summary))
    text = overlay([tmp_path / "gap", tmp_path / "level"], tmp_path / "cmp").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `fast_vs_slow.norm`"))
    gap_cell, level_cell = row.strip("|").split("|")[1:3]
    assert gap_cell.strip().startswith("reproduces: 2") and "p 0.0005" in gap_cell and "n=30" in gap_cell
    assert level_cell.strip().startswith("does not reproduce: 1") and "[" in level_cell
    assert "| `correct_vs_irrelevant.slow.shuffled` | reproduces: " in text and " pts [" in text


def test_claim_cell_writes_points_in_fixed_decimals():
    from fastslow.gradients.report import claim_cell

    claim = {
        "verdict": "reproduces",
        "scale": "rd",
        "effect": 1.3241,
        "interval": [1.19, 1.46],
        "p": 0.0005,
        "questions": 100,
    }
    assert claim_cell(claim) == "reproduces: 132.4 pts [119.0, 146.0], p 0.0005, n=100"
    assert claim_cell(None) == "–"
