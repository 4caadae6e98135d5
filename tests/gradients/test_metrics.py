import math

import pytest

from fastslow.gradients.metrics import auc, depth_parts, mad, mad_by_part, relative_difference, summarize


def test_depth_parts_are_thirds_of_the_actual_depth():
    assert depth_parts(30) == {"all": (0, 30), "early": (0, 10), "middle": (10, 20), "late": (20, 30)}
    assert depth_parts(28) == {"all": (0, 28), "early": (0, 9), "middle": (9, 19), "late": (19, 28)}
    for n in (2, 7, 18, 26, 32, 42, 61):  # any depth, not only those the reference code knew
        parts = depth_parts(n)
        assert parts["early"][0] == 0 and parts["late"][1] == n
        assert parts["early"][1] == parts["middle"][0] and parts["middle"][1] == parts["late"][0]


def test_mad_over_parts():
    assert mad([1.0, 3.0, 2.0, 2.0]) == pytest.approx((2 + 1 + 0) / 3)
    assert mad([5.0]) is None
    curve = [0, 1, 3, 6, 10, 15]  # thirds: [0,1] [3,6] [10,15]
    assert mad_by_part(curve) == {"all": 3.0, "early": 1.0, "middle": 3.0, "late": 5.0}


def test_relative_difference_and_auc():
    assert relative_difference([2.0, 4.0, 0.0], [3.0, 2.0, 1.0]) == [0.5, -0.5, None]
    assert auc([1, 2], [3, 4]) == 1.0 and auc([3, 4], [1, 2]) == 0.0 and auc([1, 2], [1, 2]) == 0.5
    assert auc([], [1]) is None


def _rows(rtype, ex_id, curves, loss=1.0, tokens=10, response=4):
    """Rows for one example: curves = {kind: [S_sum per layer]}; other stats derived."""
    rows = []
    for kind, values in curves.items():
        for layer, v in enumerate(values):
            rows.append(
                {
                    "type": rtype,
                    "id": ex_id,
                    "layer": layer,
                    "module": kind,
                    "S_sum": v,
                    "S_max": v / 2,
                    "S_min": v / 10,
                    "ratio": 0.5,
                    "fro": v / 1.5,
                    "loss": loss,
                    "tokens": tokens,
                    "response_tokens": response,
                }
            )
    return rows


def test_summarize_means_mads_and_pairs():
    rows = []
    rows += _rows("none", "a", {"q": [4, 2, 4], "k": [2, 2, 2]}, loss=2.0, response=2)
    rows += _rows("none", "b", {"q": [2, 2, 2], "k": [4, 4, 4]}, loss=4.0, response=4)
    rows += _rows("detailed", "a", {"q": [1, 1, 1], "k": [1, 1, 1]})
    rows += _rows("detailed", "b", {"q": [2, 1, 2], "k": [1, 1, 1]})
    s = summarize(rows, ["none", "detailed"], ["q", "k"], 3)
    none = s["types"]["none"]
    assert none["n"] == 2 and none["loss"] == 3.0 and none["response_tokens"] == 3.0
    assert none["curves"]["S_sum"]["q"] == [3, 2, 3]
    assert none["curves"]["S_sum"]["attn"] == [3, 2.5, 3]  # mean of q and k
    assert none["curves"]["S_max"]["q"] == [1.5, 1, 1.5]
    assert none["mean"]["S_sum"]["q"] == pytest.approx(8 / 3)
    q_mad = none["mad"]["S_sum"]["q"]
    assert q_mad["curve"]["all"] == 1.0  # the mean curve 3, 2, 3
    assert q_mad["per_example"]["all"]["mean"] == 1.0  # example a: 2, example b: 0
    assert q_mad["per_example"]["all"]["std"] == pytest.approx(math.sqrt(2))
    assert q_mad["curve"]["early"] is None  # one layer per third
    pair = s["pairs"]["none:detailed"]
    assert pair["rd"]["q"] == pytest.approx([(1.5 - 3) / 3, (1 - 2) / 2, (1.5 - 3) / 3])
    assert pair["mean_abs_rd"]["q"] == pytest.approx(0.5)
    assert pair["auc"]["attn"] == 0.0 and pair["b_larger"]["attn"] == 0.0 and pair["paired"] == 2
    assert list(s["pairs"]) == ["none:detailed"]  # only pairs whose both types are present


def test_pairs_compare_only_the_questions_both_types_kept():
    """A question whose detailed example was skipped (too long) leaves the none vs detailed pair."""
    rows = []
    rows += _rows("none", "a", {"q": [4, 4, 4]})
    rows += _rows("none", "b", {"q": [2, 2, 2]})
    rows += _rows("none", "c", {"q": [100, 100, 100]})  # its detailed example is missing
    rows += _rows("detailed", "a", {"q": [2, 2, 2]})
    rows += _rows("detailed", "b", {"q": [1, 1, 1]})
    s = summarize(rows, ["none", "detailed"], ["q"], 3)
    assert s["types"]["none"]["n"] == 3  # the type itself still describes every example it kept
    pair = s["pairs"]["none:detailed"]
    assert pair["paired"] == 2
    assert pair["rd"]["q"] == pytest.approx([-0.5, -0.5, -0.5])  # (1.5 - 3) / 3 on a and b only
    assert pair["auc"]["q"] == pytest.approx(0.125)  # detailed {2, 1} against none {4, 2}: one tie in 4
    assert s["findings"]["claims"]["fast_vs_slow.norm"]["questions"] == 2


def test_scale_free_mad_is_equal_for_curves_of_one_shape():
    rows = _rows("none", "a", {"q": [4, 8, 4, 8, 4, 8]}) + _rows("detailed", "a", {"q": [1, 2, 1, 2, 1, 2]})
    s = summarize(rows, ["none", "detailed"], ["q"], 6)
    none, detailed = (s["types"][t]["mad"]["S_sum"]["q"] for t in ("none", "detailed"))
    assert none["curve"]["all"] == 4 * detailed["curve"]["all"]  # MAD follows the scale
    assert none["curve_scaled"]["all"] == pytest.approx(detailed["curve_scaled"]["all"])
    assert none["curve_scaled"]["all"] == pytest.approx(4 / 6)  # MAD 4, mean 6


def test_rows_keep_the_entry_statistics():
    rows = _rows("none", "a", {"q": [4, 2]})
    for r in rows:
        r.update(M_mean=1e-6, M_max=0.5, M_min=-0.25)
    s = summarize(rows, ["none"], ["q"], 2)
    assert s["types"]["none"]["curves"]["M_max"]["q"] == [0.5, 0.5]
    assert s["types"]["none"]["mean"]["M_min"]["q"] == -0.25
