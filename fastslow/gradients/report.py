"""Render a gradients run directory: ``report.md`` with the findings stated with numbers, and plots.

Reads ``summary.json`` and ``config.json``; never calls a model. ``overlay`` sets several runs side
by side (Li, Li & Zhou (2024) compare base and instruction-tuned models this way).

The findings test the paper's three claims on this run's numbers, over the four attention projections
(the paper's scope; the MLP is reported beside them):

1. Fast thinking (``none``) gives larger gradients and a larger MAD than slow thinking (``detailed``).
2. Slow-thinking gradients separate correct (``detailed``) from irrelevant responses (``irrelevant``);
   fast thinking's (``none`` vs ``irrelevant_none``) do not. "Separate" is our number: the AUC of the
   per-example nuclear norm (averaged over layers and Q, K, V, O); we call |AUC − 0.5| ≥ 0.25 a
   separation (three in four pairs of examples ordered one way).
3. The ``padded`` control: where padded falls between none and detailed, ``t = (none − padded) /
   (none − detailed)`` of the mean attention nuclear norm: t ≈ 1 means length alone explains the
   fast/slow gap, t ≈ 0 that it explains none of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.gradients.metrics import PARTS
from fastslow.gradients.modules import ATTENTION
from fastslow.gradients.plots import plot_comparison, plot_curves, plot_overlay

SEPARATION = 0.25  # |AUC − 0.5| at or above which we say a statistic separates two response types


def is_gradients_run(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a gradients run (its config.json says so)."""
    path = Path(run_dir) / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("command") == "gradients"
    except (OSError, json.JSONDecodeError):
        return False


def load_run(run_dir: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    run = Path(run_dir)
    if not (run / "summary.json").is_file():
        raise FastslowError(f"{run} has no summary.json: is it a fastslow gradients run directory?")
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    config_path = run / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    if config.get("command", "gradients") != "gradients" or "types" not in summary:
        raise FastslowError(f"{run} is not a gradients run")
    return summary, config


def _f(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "–"
    return f"{x:.{digits}g}"


def _layers(span: list[int]) -> str:
    start, stop = span
    return (
        f"layers {start}-{stop - 1}"
        if stop - start > 1
        else (f"layer {start}" if stop > start else "no layers")
    )


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def _attn(summary: dict[str, Any]) -> list[str]:
    return [k for k in ATTENTION if k in summary["modules"]]


# -- findings -----------------------------------------------------------------------------------------
def finding_fast_vs_slow(summary: dict[str, Any], fast: str = "none", slow: str = "detailed") -> str:
    types = summary["types"]
    kinds = _attn(summary)
    if not (types.get(fast, {}).get("n") and types.get(slow, {}).get("n")) or not kinds:
        return f"**Fast vs slow thinking**: not measured (needs the `{fast}` and `{slow}` types and attention projections)."
    norm = {k: (types[fast]["mean"]["S_sum"][k], types[slow]["mean"]["S_sum"][k]) for k in kinds}
    mad = {
        k: (types[fast]["mad"]["S_sum"][k]["curve"]["all"], types[slow]["mad"]["S_sum"][k]["curve"]["all"])
        for k in kinds
    }
    early = {
        k: (
            types[fast]["mad"]["S_sum"][k]["curve"]["early"],
            types[slow]["mad"]["S_sum"][k]["curve"]["early"],
        )
        for k in kinds
    }
    bigger_norm = sum(a > b for a, b in norm.values())
    bigger_mad = sum(a is not None and b is not None and a > b for a, b in mad.values())
    bigger_early = sum(a is not None and b is not None and a > b for a, b in early.values())
    n = len(kinds)
    if bigger_norm == n and bigger_mad == n:
        verdict = "**reproduces**"
    elif bigger_norm == 0 and bigger_mad == 0:
        verdict = "**does not reproduce** (the opposite holds)"
    else:
        verdict = "**reproduces in part**"
    norms = ", ".join(
        f"{k.upper()} {_f(a)} vs {_f(b)} ({_f(a / b if b else None, 2)}x)" for k, (a, b) in norm.items()
    )
    mads = ", ".join(f"{k.upper()} {_f(a)} vs {_f(b)}" for k, (a, b) in mad.items())
    text = (
        f"**Fast vs slow thinking** ({fast} vs {slow}): {verdict}. Mean nuclear norm over layers: {norms}: "
        f"larger for {fast} in {bigger_norm}/{n} attention projections. MAD over all layers: {mads}: "
        f"larger for {fast} in {bigger_mad}/{n}; in the early third, in {bigger_early}/{n}."
    )
    if "mlp" in types[fast]["mean"]["S_sum"]:
        a, b = types[fast]["mean"]["S_sum"]["mlp"], types[slow]["mean"]["S_sum"]["mlp"]
        text += f" The MLP (not in the paper): {_f(a)} vs {_f(b)} ({_f(a / b if b else None, 2)}x)."
    return text


def _pair(summary: dict[str, Any], a: str, b: str) -> dict[str, Any] | None:
    return summary["pairs"].get(f"{a}:{b}")


def finding_correct_vs_irrelevant(summary: dict[str, Any]) -> str:
    slow = _pair(summary, "detailed", "irrelevant")
    if slow is None or "attn" not in slow["auc"]:
        return (
            "**Correct vs irrelevant responses**: not measured (needs the `detailed` and `irrelevant` types)."
        )

    def describe(pair: dict[str, Any]) -> str:
        parts = pair.get("mean_rd_parts", {}).get("attn", {})
        early = f", early layers {_f(100 * parts['early'], 3)}%" if parts.get("early") is not None else ""
        return (
            f"mean RD {_f(100 * pair['mean_rd']['attn'], 3)}% (mean |RD| {_f(100 * pair['mean_abs_rd']['attn'], 3)}%"
            f"{early}), AUC {_f(pair['auc']['attn'], 2)} ({pair['b']} larger in "
            f"{_f(100 * pair['b_larger']['attn'], 3)}% of {pair['paired']} questions)"
        )

    fast = _pair(summary, "none", "irrelevant_none")
    has_fast = fast is not None and "attn" in fast["auc"]
    slow_sep = abs(slow["auc"]["attn"] - 0.5)
    fast_sep = abs(fast["auc"]["attn"] - 0.5) if has_fast else None
    slow_rd = slow["mean_abs_rd"]["attn"] or 0.0
    fast_rd = (fast["mean_abs_rd"]["attn"] or 0.0) if has_fast else None
    if slow_sep >= SEPARATION and (fast_sep is None or fast_sep < slow_sep):
        verdict = "**reproduces**: slow-thinking gradients tell irrelevant responses from correct ones, example by example"
    elif slow_sep >= SEPARATION:
        verdict = (
            "**reproduces in part**: slow thinking separates them, but fast thinking separates them as well"
        )
    elif fast_rd is not None and slow_rd > fast_rd:
        verdict = (
            f"**reproduces on the mean curves only**: the mean curves of correct and irrelevant responses differ "
            f"{_f(slow_rd / fast_rd if fast_rd else None, 2)}x more for slow than for fast thinking (the paper's evidence), "
            "but example by example irrelevant responses cannot be told from correct ones"
        )
    else:
        verdict = "**does not reproduce**"
    text = f"**Correct vs irrelevant responses**: {verdict}. Slow thinking (detailed vs irrelevant, attention): {describe(slow)}."
    if has_fast:
        text += f" Fast thinking (none vs irrelevant_none): {describe(fast)}."
    text += f" (We call |AUC − 0.5| ≥ {SEPARATION} a separation.)"
    return text


def finding_padded(summary: dict[str, Any]) -> str:
    types = summary["types"]
    if (
        not all(types.get(t, {}).get("n") for t in ("none", "detailed", "padded"))
        or "attn" not in types["none"]["mean"]["S_sum"]
    ):
        return "**The `padded` control**: not measured (needs the `none`, `detailed` and `padded` types)."

    def position(stat: str, get) -> float | None:
        n, d, p = (get(types[t]) for t in ("none", "detailed", "padded"))
        return (n - p) / (n - d) if None not in (n, d, p) and n != d else None

    t_norm = position("S_sum", lambda e: e["mean"]["S_sum"]["attn"])
    t_mad = position("mad", lambda e: e["mad"]["S_sum"]["attn"]["curve"]["all"])
    if t_norm is None:
        verdict = "cannot be placed (none and detailed are equal)"
    elif t_norm >= 0.75:
        verdict = "length alone explains most of the fast/slow gap"
    elif t_norm > 0.25:
        verdict = "length explains part of the fast/slow gap"
    else:
        verdict = "length alone explains little of the fast/slow gap"
    tokens = {t: types[t]["response_tokens"] for t in ("none", "detailed", "padded")}
    norms = {t: types[t]["mean"]["S_sum"]["attn"] for t in ("none", "detailed", "padded")}
    return (
        f"**The `padded` control** (the answer after fluent text unrelated to the question, about as long as "
        f"detailed: {_f(tokens['padded'])} response tokens vs {_f(tokens['detailed'])} detailed and "
        f"{_f(tokens['none'])} none): mean attention nuclear norm {_f(norms['padded'])} vs {_f(norms['detailed'])} "
        f"detailed and {_f(norms['none'])} none, so padded sits at t = {_f(t_norm, 2)} of the way from none (0) to "
        f"detailed (1); by MAD over all layers, t = {_f(t_mad, 2)}: {verdict}."
    )


def findings(summary: dict[str, Any]) -> list[str]:
    return [finding_fast_vs_slow(summary), finding_correct_vs_irrelevant(summary), finding_padded(summary)]


def console_summary(summary: dict[str, Any]) -> str:
    """A few lines for the terminal: one per response type, then the findings without Markdown."""
    lines = []
    for t, e in summary["types"].items():
        if not e["n"]:
            lines.append(f"{t:<16} n=0")
            continue
        mad = e["mad"]["S_sum"].get("attn") or next(iter(e["mad"]["S_sum"].values()))
        norm = e["mean"]["S_sum"].get("attn", next(iter(e["mean"]["S_sum"].values())))
        lines.append(
            f"{t:<16} n={e['n']:<4} response tokens {_f(e['response_tokens']):>5}  loss {_f(e['loss']):>5}  "
            f"nuclear norm {_f(norm):>6}  MAD {_f(mad['curve']['all']):>6}"
        )
    skipped = summary.get("skipped") or []
    if skipped:
        lines.append(f"skipped: {len(skipped)} (see skipped.jsonl)")
    lines += ["", *(f.replace("**", "").replace("`", "") for f in findings(summary))]
    return "\n".join(lines)


# -- the report -----------------------------------------------------------------------------------------
def type_rows(summary: dict[str, Any]) -> list[list[str]]:
    seconds = summary.get("run", {}).get("seconds_by_type", {})
    rows = []
    for t, e in summary["types"].items():
        if not e["n"]:
            rows.append([t, "0", "–", "–", "–", "–", "–", "–", "–"])
            continue
        means = e["mean"]["S_sum"]
        mad = e["mad"]["S_sum"].get("attn") or next(iter(e["mad"]["S_sum"].values()))
        pe = mad["per_example"]["all"]
        rows.append(
            [
                t,
                str(e["n"]),
                _f(e["response_tokens"]),
                _f(e["loss"]),
                _f(means.get("attn")),
                _f(means.get("mlp")),
                " / ".join(_f(mad["curve"][p]) for p in PARTS),
                f"{_f(pe['mean'])} ± {_f(pe['std'], 2)}",
                _f(seconds.get(t), 2),
            ]
        )
    return rows


def mad_rows(summary: dict[str, Any], part: str = "all") -> tuple[list[str], list[list[str]]]:
    kinds = summary["modules"]
    headers = ["type", *(k.upper() if k in ATTENTION else k for k in kinds)]
    rows = [
        [t, *(_f(e["mad"]["S_sum"][k]["curve"][part]) for k in kinds)]
        for t, e in summary["types"].items()
        if e["n"]
    ]
    return headers, rows


def render(run_dir: str | Path) -> Path:
    """Write ``report.md`` and ``plots/curves.png``, ``plots/comparison.png`` for a gradients run."""
    run = Path(run_dir)
    summary, config = load_run(run)
    info = summary.get("run", {})
    model = info.get("model", config.get("gradients", {}).get("model", "?"))
    title = f"{model} · {summary['layers']} layers"
    plot_curves(summary, run / "plots" / "curves.png", title)
    plot_comparison(summary, run / "plots" / "comparison.png", title)
    parts = summary["parts"]
    lines = [
        "# Layer-wise gradients: fast vs slow thinking",
        "",
        f"Model `{model}`, {summary['layers']} layers, projections {', '.join(summary['modules'])}; "
        f"{'full SVD of autograd gradients' if info.get('path') == 'full_svd' else 'low-rank spectra (T × T factor of X + eigensolve)'}. "
        "One example at a time: mean cross-entropy over the response tokens, backward, the weight gradient's "
        "singular values (Li, Li & Zhou, 2024).",
        "",
        "## Findings",
        "",
        *(f"- {f}" for f in findings(summary)),
        "",
        "## Response types",
        "",
        f"Nuclear norm (S_sum) averaged over layers; MAD of the mean attention curve over all / early / middle / "
        f"late layers (early {_layers(parts['early'])}, middle {_layers(parts['middle'])}, late "
        f"{_layers(parts['late'])}); per-example MAD (all layers) as mean ± std.",
        "",
        *_table(
            [
                "type",
                "n",
                "response tokens",
                "loss",
                "S_sum attn",
                "S_sum mlp",
                "MAD all/early/mid/late",
                "per-example MAD",
                "s/example",
            ],
            type_rows(summary),
        ),
        "",
        "MAD of each projection's mean nuclear-norm curve, all layers:",
        "",
        *_table(*mad_rows(summary)),
        "",
    ]
    if summary["pairs"]:
        group = "attn" if "attn" in next(iter(summary["pairs"].values()))["auc"] else summary["modules"][0]
        rows = [
            [
                f"{p['b']} vs {p['a']}",
                f"{_f(100 * p['mean_rd'][group], 3)}%",
                f"{_f(100 * p['mean_abs_rd'][group], 3)}%",
                _f(p["auc"][group], 2),
                f"{_f(100 * p['b_larger'][group], 3)}% of {p['paired']}"
                if p["b_larger"][group] is not None
                else "–",
            ]
            for p in summary["pairs"].values()
        ]
        lines += [
            f"Relative difference RD = (B − A) / A of the mean nuclear norm per layer ({group}), averaged over layers; "
            "AUC: how often an example of B has a larger nuclear norm (mean over layers) than one of A.",
            "",
            *_table(["B vs A", "mean RD", "mean abs RD", "AUC", "B larger (paired)"], rows),
            "",
        ]
    lines += ["![curves](plots/curves.png)", "", "![comparison](plots/comparison.png)", ""]
    skipped = summary.get("skipped") or []
    if skipped:
        lines += [f"Skipped {len(skipped)} examples:", ""]
        lines += [f"- {s['type']} {s['id']}: {s['reason']}" for s in skipped[:20]]
        if len(skipped) > 20:
            lines.append(f"- ... and {len(skipped) - 20} more (skipped.jsonl)")
        lines.append("")
    if info:
        lines += [
            f"Examples this run: {info.get('examples_new')} new, {info.get('examples_resumed')} resumed "
            f"({info.get('wall_seconds')} s); {_f(info.get('seconds_per_example'))} s per measured example "
            "(forward, backward, spectra; over all runs into this directory).",
            "",
        ]
    path = run / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def overlay(run_dirs: list[str | Path], out: str | Path | None = None) -> Path:
    """Set several gradients runs side by side (e.g. base vs instruction-tuned): ``OUT/overlay.md`` and
    ``OUT/plots/overlay.png``; return the report's path. ``out`` defaults to
    ``overlay-A-vs-B`` beside the first run."""
    if len(run_dirs) < 2:
        raise FastslowError("overlay needs at least two gradients runs")
    if out is None:
        first = Path(run_dirs[0]).resolve()
        out = first.parent / ("overlay-" + "-vs-".join(Path(d).resolve().name for d in run_dirs))
    runs = []
    for d in run_dirs:
        summary, config = load_run(d)
        runs.append((f"{Path(d).name} ({summary.get('run', {}).get('model', '?')})", summary))
    out = Path(out)
    plot_overlay(runs, out / "plots" / "overlay.png")
    types = [t for t in runs[0][1]["types"] if all(t in s["types"] for _, s in runs)]
    rows = []
    for label, s in runs:
        for t in types:
            e = s["types"][t]
            if not e["n"]:
                continue
            mad = e["mad"]["S_sum"].get("attn") or next(iter(e["mad"]["S_sum"].values()))
            rows.append([label, t, str(e["n"]), _f(e["mean"]["S_sum"].get("attn")), _f(mad["curve"]["all"])])
    ratios = []
    for label, s in runs:
        t = s["types"]
        if (
            t.get("none", {}).get("n")
            and t.get("detailed", {}).get("n")
            and "attn" in t["none"]["mean"]["S_sum"]
        ):
            n, d = t["none"]["mean"]["S_sum"]["attn"], t["detailed"]["mean"]["S_sum"]["attn"]
            ratios.append(f"- {label}: none / detailed nuclear norm = {_f(n / d if d else None, 3)}")
    lines = [
        "# Gradients: runs side by side",
        "",
        *_table(["run", "type", "n", "S_sum attn", "MAD attn (all layers)"], rows),
        "",
    ]
    if ratios:
        lines += [
            "How strongly each model separates fast from slow thinking (Li et al. 2024 found base models less "
            "affected than instruction-tuned ones):",
            "",
            *ratios,
            "",
        ]
    lines += ["![overlay](plots/overlay.png)", ""]
    path = out / "overlay.md"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
