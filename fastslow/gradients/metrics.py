"""From per-example rows to the numbers of Li, Li & Zhou (2024, §3): curves, MAD and RD.

- **Curves**: for each response type, module kind (q, k, v, o, gate, up, down) and statistic, the mean
  over examples at each layer. ``attn`` and ``mlp`` average the kinds of each group.
- **MAD**, the mean absolute difference between adjacent layers, ``mean_l |c[l+1] − c[l]|``: how
  unevenly the gradient is spread over depth. Over all layers and over the early, middle and late
  thirds of the model's *actual* depth (boundaries at round(L/3) and round(2L/3); a part's MAD uses
  only the differences inside it). Reported both on the mean curve (the paper's way) and as the mean
  and standard deviation of the per-example MADs, which shows the spread the mean curve hides; and
  scale-free, MAD / mean of the same layers of the curve (``curve_scaled``): two curves of the same
  shape at different heights have different MADs but the same MAD / mean, so only this one says
  whether a curve is less *even*, not merely larger.
  The reference code hard-coded the splits for 26, 28, 32 and 42 layers (quarters or thirds, by
  model) and returned nothing for any other depth.
- **RD**, the relative difference between two response types A and B at each layer,
  ``RD[l] = (B[l] − A[l]) / A[l]`` (signed: positive when B's gradients are larger), and its mean
  absolute value over layers. A pair is compared on the questions *both* types kept (paired by
  question id): when long detailed responses are skipped, the bare answers of those questions are
  left out of the none vs detailed comparison too, or the two curves would describe different
  questions. The paper defines RD in words and tables; its released code defines a
  helper (``|A − B| / |A|``, averaged over layers) that no script calls. Our mean |RD| is that number;
  the signed per-layer RD keeps the direction.
- **Separation**: how well one number per example (its nuclear norm averaged over layers) tells A's
  examples from B's, on the same paired questions: the AUC (probability that a B example's is larger
  than an A example's; 0.5 is no separation) and the fraction of questions where B's is larger.
  These are ours, not the paper's: they turn "separates" into a number.
- **Findings**: the paper's claims with paired bootstrap intervals, permutation tests and verdicts
  (``findings.py``), on the attention curves of each question.

The per-type numbers (curves, means, MADs) describe every example the type kept; pair statistics
and findings use only the questions every compared type kept.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from fastslow.gradients.findings import evaluate_claims
from fastslow.gradients.modules import ATTENTION, MLP

STATS = ("S_sum", "ratio", "fro", "S_max", "S_min", "M_mean", "M_max", "M_min")
MAD_STATS = ("S_sum", "ratio")
PARTS = ("all", "early", "middle", "late")
# Pairs (A, B) compared when both types are present: fast vs slow, correct vs irrelevant, length control.
DEFAULT_PAIRS = (
    ("none", "detailed"),
    ("none", "simplified"),
    ("simplified", "detailed"),
    ("detailed", "shuffled"),
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


def scaled_mad_by_part(curve: list[float]) -> dict[str, float | None]:
    """MAD / mean of each part of the curve: a scale-free MAD (None where either is undefined)."""
    out: dict[str, float | None] = {}
    for part, (a, b) in depth_parts(len(curve)).items():
        m, values = mad(curve[a:b]), curve[a:b]
        level = sum(values) / len(values) if values else 0.0
        out[part] = m / level if m is not None and level else None
    return out


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
                per_stat[s][r["layer"]] = r.get(s, math.nan)  # (M_* are absent in older runs)
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
    # type -> group -> example id -> stat -> per-layer curve (the group's kinds averaged)
    per_group: dict[str, dict[str, dict[str, dict[str, list[float]]]]] = {}
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
        per_group[t] = {
            g: {i: {s: group_curve(examples[i], m, s) for s in STATS} for i in ids} for g, m in gs.items()
        }
        for s in STATS:
            entry["curves"][s] = {g: mean_curve([per_group[t][g][i][s] for i in ids]) for g in gs}
            entry["mean"][s] = {g: _finite_mean(c) for g, c in entry["curves"][s].items()}
        for s in MAD_STATS:
            entry["mad"][s] = {}
            for g in gs:
                per_example = [mad_by_part(per_group[t][g][i][s]) for i in ids]
                curve = entry["curves"][s][g]
                entry["mad"][s][g] = {
                    "curve": mad_by_part(curve),
                    "curve_scaled": scaled_mad_by_part(curve),
                    "per_example": {p: mean_std([m[p] for m in per_example]) for p in PARTS},
                }
        summary["types"][t] = entry

    for a, b in pairs if pairs is not None else DEFAULT_PAIRS:
        if a not in summary["types"] or b not in summary["types"]:
            continue
        common = [i for i in by_example[a] if i in by_example[b]]
        if not common:
            continue
        summary["pairs"][f"{a}:{b}"] = pair_summary(a, b, common, per_group, gs, n_layers)

    tested = "attn" if "attn" in gs else next(iter(gs))
    per_question = {t: {i: c["S_sum"] for i, c in per_group[t][tested].items()} for t in types}
    summary["findings"] = {
        "group": tested,
        **evaluate_claims(per_question, n_layers, tuple(depth_parts(n_layers)["early"])),
    }
    return summary


def pair_summary(
    a: str,
    b: str,
    common: list[str],
    per_group: dict[str, dict[str, dict[str, dict[str, list[float]]]]],
    gs: dict[str, list[str]],
    n_layers: int,
) -> dict[str, Any]:
    """RD, AUC and the paired fraction of types ``a`` and ``b`` on the questions both kept."""
    ca = {g: mean_curve([per_group[a][g][i]["S_sum"] for i in common]) for g in gs}
    cb = {g: mean_curve([per_group[b][g][i]["S_sum"] for i in common]) for g in gs}
    rd = {g: relative_difference(ca[g], cb[g]) for g in gs}
    size = {
        t: {g: {i: _finite_mean(per_group[t][g][i]["S_sum"]) for i in common} for g in gs} for t in (a, b)
    }
    return {
        "a": a,
        "b": b,
        "paired": len(common),
        "rd": rd,
        "mean_abs_rd": {g: mean_abs(v) for g, v in rd.items()},
        "mean_rd": {g: _finite_mean([x for x in v if x is not None]) for g, v in rd.items()},
        "mean_rd_parts": {
            g: {
                p: _finite_mean([x for x in v[start:stop] if x is not None])
                for p, (start, stop) in depth_parts(n_layers).items()
            }
            for g, v in rd.items()
        },
        "auc": {g: auc(list(size[a][g].values()), list(size[b][g].values())) for g in gs},
        "b_larger": {g: sum(size[b][g][i] > size[a][g][i] for i in common) / len(common) for g in gs},
    }


def _finite_mean(values: list[float]) -> float | None:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return sum(kept) / len(kept) if kept else None
