"""From per-example rows to the numbers of Li, Li & Zhou (2024, §3): curves, MAD and RD.

- **Curves**: for each response type, module kind (q, k, v, o, gate, up, down) and statistic, the mean
  over examples at each layer. ``attn`` and ``mlp`` average the kinds of each group.
- **MAD**, the mean absolute difference between adjacent layers, ``mean_l |c[l+1] − c[l]|``: how
  unevenly the gradient is spread over depth. Over all layers and over the early, middle and late
  thirds of the model's *actual* depth (boundaries at round(L/3) and round(2L/3); a part's MAD uses
  only the differences inside it). Reported both on the mean curve (the paper's way) and as the mean
  and standard deviation of the per-example MADs, which shows the spread the mean curve hides.
  The reference code hard-coded the splits for 26, 28, 32 and 42 layers (quarters or thirds, by
  model) and returned nothing for any other depth.
- **RD**, the relative difference between two response types A and B at each layer,
  ``RD[l] = (B[l] − A[l]) / A[l]`` (signed: positive when B's gradients are larger), and its mean
  absolute value over layers. The paper defines RD in words and tables; its released code defines a
  helper (``|A − B| / |A|``, averaged over layers) that no script calls. Our mean |RD| is that number;
  the signed per-layer RD keeps the direction.
- **Separation**: how well one number per example (its nuclear norm averaged over layers) tells A's
  examples from B's: the AUC (probability that a B example's is larger than an A example's; 0.5 is
  no separation) and, for questions present in both, the fraction where B's is larger. These are
  ours, not the paper's: they turn "separates" into a number.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from fastslow.gradients.modules import ATTENTION, MLP

STATS = ("S_sum", "ratio", "fro", "S_max", "S_min")
MAD_STATS = ("S_sum", "ratio")
PARTS = ("all", "early", "middle", "late")
# Pairs (A, B) compared when both types are present: fast vs slow, correct vs irrelevant, length control.
DEFAULT_PAIRS = (
    ("none", "detailed"),
    ("none", "simplified"),
    ("simplified", "detailed"),
    ("detailed", "irrelevant"),
    ("none", "irrelevant_none"),
    ("detailed", "padded"),
    ("none", "padded"),
)


def depth_parts(n_layers: int) -> dict[str, tuple[int, int]]:
    """Layer ranges [start, stop) of all layers and of the early, middle and late thirds."""
    a, b = round(n_layers / 3), round(2 * n_layers / 3)
    return {"all": (0, n_layers), "early": (0, a), "middle": (a, b), "late": (b, n_layers)}


def mad(values: list[float]) -> float | None:
    """Mean absolute difference between adjacent values; None for fewer than two."""
    if len(values) < 2:
        return None
    return sum(abs(values[i + 1] - values[i]) for i in range(len(values) - 1)) / (len(values) - 1)


def mad_by_part(curve: list[float]) -> dict[str, float | None]:
    return {part: mad(curve[a:b]) for part, (a, b) in depth_parts(len(curve)).items()}


def mean_std(values: list[float]) -> dict[str, float | int | None]:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return {"mean": None, "std": None, "n": 0}
    m = sum(values) / len(values)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return {"mean": m, "std": sd, "n": len(values)}


def relative_difference(a: list[float], b: list[float]) -> list[float | None]:
    """``(b − a) / a`` layer by layer (None where a is 0)."""
    return [(y - x) / x if x else None for x, y in zip(a, b)]


def mean_abs(values: list[float | None]) -> float | None:
    kept = [abs(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def auc(a: list[float], b: list[float]) -> float | None:
    """P(a B value > an A value), ties counting half: 0.5 means B cannot be told from A."""
    if not a or not b:
        return None
    wins = sum((y > x) + 0.5 * (y == x) for x in a for y in b)
    return wins / (len(a) * len(b))


def groups(kinds: list[str]) -> dict[str, list[str]]:
    """Each kind on its own, plus ``attn`` and ``mlp`` (the kinds of each group that are present)."""
    out = {k: [k] for k in kinds}
    for name, members in (("attn", ATTENTION), ("mlp", MLP)):
        present = [k for k in members if k in kinds]
        if present:
            out[name] = present
    return out


def example_curves(
    rows: list[dict[str, Any]], types: list[str], kinds: list[str], n_layers: int
) -> dict[str, dict[str, dict[str, dict[str, list[float]]]]]:
    """type -> example id -> kind -> stat -> per-layer values (NaN where a row is missing)."""
    curves: dict = {
        t: defaultdict(lambda: {k: {s: [math.nan] * n_layers for s in STATS} for k in kinds}) for t in types
    }
    for r in rows:
        if r["type"] in curves and r["module"] in kinds:
            per_stat = curves[r["type"]][r["id"]][r["module"]]
            for s in STATS:
                per_stat[s][r["layer"]] = r[s]
    return {t: dict(c) for t, c in curves.items()}


def group_curve(per_kind: dict[str, dict[str, list[float]]], members: list[str], stat: str) -> list[float]:
    columns = [per_kind[k][stat] for k in members]
    return [sum(vals) / len(vals) for vals in zip(*columns)]


def mean_curve(curves: list[list[float]]) -> list[float]:
    return [sum(vals) / len(vals) if vals else math.nan for vals in zip(*curves)]


def summarize(
    rows: list[dict[str, Any]],
    types: list[str],
    kinds: list[str],
    n_layers: int,
    pairs: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The summary of a run: see the module docstring for what each number is."""
    by_example = example_curves(rows, types, kinds, n_layers)
    gs = groups(kinds)
    first_rows: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        first_rows.setdefault((r["type"], r["id"]), r)

    summary: dict[str, Any] = {
        "layers": n_layers,
        "modules": kinds,
        "parts": {p: list(v) for p, v in depth_parts(n_layers).items()},
        "types": {},
        "pairs": {},
    }
    sizes: dict[str, dict[str, dict[str, float]]] = {}  # type -> group -> example id -> mean S_sum
    for t in types:
        examples = by_example[t]
        ids = list(examples)
        info = [first_rows[(t, i)] for i in ids]
        entry: dict[str, Any] = {
            "n": len(ids),
            "loss": mean_std([r["loss"] for r in info])["mean"],
            "tokens": mean_std([r["tokens"] for r in info])["mean"],
            "response_tokens": mean_std([r["response_tokens"] for r in info])["mean"],
            "curves": {},
            "mean": {},
            "mad": {},
        }
        per_group = {
            g: {i: {s: group_curve(examples[i], m, s) for s in STATS} for i in ids} for g, m in gs.items()
        }
        for s in STATS:
            entry["curves"][s] = {g: mean_curve([per_group[g][i][s] for i in ids]) for g in gs}
            entry["mean"][s] = {g: _finite_mean(c) for g, c in entry["curves"][s].items()}
        for s in MAD_STATS:
            entry["mad"][s] = {}
            for g in gs:
                per_example = [mad_by_part(per_group[g][i][s]) for i in ids]
                entry["mad"][s][g] = {
                    "curve": mad_by_part(entry["curves"][s][g]),
                    "per_example": {p: mean_std([m[p] for m in per_example]) for p in PARTS},
                }
        sizes[t] = {g: {i: _finite_mean(per_group[g][i]["S_sum"]) for i in ids} for g in gs}
        summary["types"][t] = entry

    for a, b in pairs if pairs is not None else DEFAULT_PAIRS:
        if a not in summary["types"] or b not in summary["types"]:
            continue
        if not summary["types"][a]["n"] or not summary["types"][b]["n"]:
            continue
        ca, cb = summary["types"][a]["curves"]["S_sum"], summary["types"][b]["curves"]["S_sum"]
        rd = {g: relative_difference(ca[g], cb[g]) for g in gs}
        common = [i for i in by_example[a] if i in by_example[b]]
        summary["pairs"][f"{a}:{b}"] = {
            "a": a,
            "b": b,
            "rd": rd,
            "mean_abs_rd": {g: mean_abs(v) for g, v in rd.items()},
            "mean_rd": {g: _finite_mean([x for x in v if x is not None]) for g, v in rd.items()},
            "mean_rd_parts": {
                g: {
                    p: _finite_mean([x for x in v[a:b] if x is not None])
                    for p, (a, b) in depth_parts(n_layers).items()
                }
                for g, v in rd.items()
            },
            "auc": {g: auc(list(sizes[a][g].values()), list(sizes[b][g].values())) for g in gs},
            "paired": len(common),
            "b_larger": {
                g: (sum(sizes[b][g][i] > sizes[a][g][i] for i in common) / len(common) if common else None)
                for g in gs
            },
        }
    return summary


def _finite_mean(values: list[float]) -> float | None:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return sum(kept) / len(kept) if kept else None
