"""The findings' noise floor: paired bootstrap intervals, permutation tests and the verdict rule."""

import math

import numpy as np
import pytest

from fastslow.gradients.findings import (
    RATIO_MARGIN,
    RD_MARGIN,
    VERDICT_RULE,
    claims,
    evaluate_claim,
    evaluate_claims,
    verdict,
)

LAYERS = 12
EARLY = (0, 4)


def _claim(key):
    return next(c for c in claims(LAYERS, EARLY) if c.key == key)


def _curves(n, scale=1.0, noise=0.05, seed=0, spread=0.2):
    """n questions × LAYERS layers: a per-question level (1 ± spread) times a falling shape, with
    multiplicative noise per layer."""
    rng = np.random.default_rng(seed)
    shape = np.linspace(2.0, 1.0, LAYERS)
    level = rng.uniform(1 - spread, 1 + spread, size=(n, 1))
    return scale * level * shape * (1 + noise * rng.standard_normal((n, LAYERS)))


def test_the_verdict_rule():
    m = math.log1p(RATIO_MARGIN)
    assert verdict(0.2, 0.6, 0.001, m) == "reproduces"
    assert verdict(0.2, 0.6, 0.2, m) == "inconclusive"  # the interval alone is not enough
    assert verdict(-0.3, -0.1, 0.9, m) == "does not reproduce"  # the opposite direction
    assert verdict(-0.02, 0.03, 0.4, m) == "does not reproduce"  # excludes any effect of 5% or more
    assert verdict(-0.1, 0.3, 0.3, m) == "inconclusive"
    # A claim that an effect is absent reads the other way.
    assert verdict(-0.004, 0.006, 0.4, RD_MARGIN, expects_effect=False) == "reproduces"
    assert verdict(0.02, 0.05, 0.001, RD_MARGIN, expects_effect=False) == "does not reproduce"
    assert verdict(-0.01, 0.05, 0.2, RD_MARGIN, expects_effect=False) == "inconclusive"
    for word in ("reproduces", "does not reproduce", "inconclusive", "interval", "p <"):
        assert word in VERDICT_RULE


def test_a_clear_size_effect_reproduces_with_its_interval():
    detailed = _curves(40, seed=1)
    none = 2.0 * detailed * (1 + 0.05 * np.random.default_rng(2).standard_normal(detailed.shape))
    result = evaluate_claim(_claim("fast_vs_slow.norm"), [none, detailed])
    low, high = (math.exp(v) for v in result["interval"])
    assert result["verdict"] == "reproduces" and result["questions"] == 40
    assert low < 2.0 < high and high - low < 0.1
    assert math.exp(result["effect"]) == pytest.approx(2.0, rel=0.02)
    assert result["p"] == pytest.approx(1 / 2001)  # no swapped draw comes close


def test_no_effect_does_not_reproduce_and_the_result_is_seeded():
    none, detailed = _curves(60, seed=3), _curves(60, seed=4)
    result = evaluate_claim(_claim("fast_vs_slow.norm"), [none, detailed])
    low, high = result["interval"]
    assert low < 0 < high and result["p"] > 0.05
    assert result["verdict"] == "does not reproduce"  # the interval excludes a 5% effect
    assert evaluate_claim(_claim("fast_vs_slow.norm"), [none, detailed]) == result


def test_a_curve_twice_as_high_differs_in_mad_but_not_in_shape():
    """The issue's point: MAD follows the scale; MAD / mean tells a shape difference from a size one."""
    detailed = _curves(40, seed=5)
    none = 2.0 * detailed
    assert evaluate_claim(_claim("fast_vs_slow.mad"), [none, detailed])["verdict"] == "reproduces"
    shape = evaluate_claim(_claim("fast_vs_slow.shape"), [none, detailed])
    assert shape["effect"] == pytest.approx(0.0, abs=1e-12) and shape["verdict"] == "does not reproduce"
    bumpy = detailed * np.where(np.arange(LAYERS) % 2, 1.5, 0.5)  # uneven at the same mean size
    assert evaluate_claim(_claim("fast_vs_slow.shape"), [bumpy, detailed])["verdict"] == "reproduces"


def test_mean_abs_rd_is_measured_above_its_noise_floor():
    detailed, same = _curves(50, seed=6), _curves(50, seed=7)
    alike = evaluate_claim(_claim("correct_vs_irrelevant.slow.shuffled"), [detailed, same])
    assert alike["statistic"] > 0 and alike["floor"] > 0  # |RD| is positive even between two draws
    assert alike["verdict"] != "reproduces" and alike["interval"][0] < 0 < alike["interval"][1]
    shifted = evaluate_claim(_claim("correct_vs_irrelevant.slow.shuffled"), [detailed, 1.2 * same])
    assert shifted["verdict"] == "reproduces" and shifted["statistic"] == pytest.approx(0.2, abs=0.02)
    # Swaps mix a real difference into the floor too, so the effect above it is on the low side.
    assert 0.1 < shifted["effect"] < shifted["statistic"]
    quiet = [_curves(200, seed=s, spread=0.02, noise=0.02) for s in (8, 9)]
    fast = evaluate_claim(_claim("correct_vs_irrelevant.fast"), quiet)
    assert fast["verdict"] == "reproduces"  # the absence of an effect, bounded below one point
    assert fast["interval"][1] < RD_MARGIN


def test_claims_pair_questions_by_id_and_need_their_types():
    none, detailed = _curves(30, scale=2.0, seed=10), _curves(30, seed=11)
    per_question = {
        "none": {f"q{i}": list(c) for i, c in enumerate(none)},
        "detailed": {f"q{i}": list(c) for i, c in enumerate(detailed)},
    }
    base = evaluate_claims(per_question, LAYERS, EARLY)
    per_question["none"]["extra"] = [1e6] * LAYERS  # a question detailed did not keep
    per_question["detailed"] = dict(reversed(list(per_question["detailed"].items())))  # order is irrelevant
    paired = evaluate_claims(per_question, LAYERS, EARLY)
    assert paired["claims"]["fast_vs_slow.norm"] == base["claims"]["fast_vs_slow.norm"]
    assert paired["claims"]["fast_vs_slow.norm"]["questions"] == 30
    assert paired["claims"]["correct_vs_irrelevant.contrast"]["verdict"] == "not measured"
    assert "padded.position" not in paired["claims"]


def test_the_padded_position_and_its_interval():
    none, detailed = _curves(40, scale=3.0, seed=12), _curves(40, scale=1.0, seed=13)
    padded = _curves(40, scale=1.5, seed=14)
    per_question = {
        t: {f"q{i}": list(c) for i, c in enumerate(x)}
        for t, x in (("none", none), ("detailed", detailed), ("padded", padded))
    }
    result = evaluate_claims(per_question, LAYERS, EARLY)["claims"]
    position = result["padded.position"]
    assert position["statistic"] == pytest.approx(0.75, abs=0.05)
    assert position["interval"][0] < position["statistic"] < position["interval"][1]
    assert result["padded.norm"]["verdict"] == "reproduces"  # padded stays above detailed
