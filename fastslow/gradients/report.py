"""Render a gradients run directory: ``report.md`` with the findings stated with numbers, and plots.

Reads ``summary.json`` and ``config.json``; never calls a model. ``overlay`` sets several runs side
by side (Li, Li & Zhou (2024) compare base and instruction-tuned models this way).

The findings state the paper's claims with the verdicts ``findings.py`` computed (a paired bootstrap
interval and a within-question permutation test each; the rule is printed in the report), over the
four attention projections (the paper's scope; the MLP is reported beside them):

1. Fast thinking (``none``) gives larger gradients and a larger MAD than slow thinking (``detailed``),
   most visibly in the early layers; and, ours, whether the MAD differs beyond scale (MAD / mean).
2. Slow-thinking gradients separate correct (``detailed``) from irrelevant responses (``shuffled``,
   the authors' kind; ``irrelevant``, ours, beside it); fast thinking's (``none`` vs
   ``irrelevant_none``) do not; and slow separates more than fast. The per-example AUC is shown
   beside them as a number, without a verdict.
3. The ``padded`` control: whether the answer after length-matched unrelated text keeps larger
   gradients than detailed reasoning, and where padded falls between none and detailed, ``t = (none
   − padded) / (none − detailed)`` of the mean attention nuclear norm, with its interval. Padded as
   small as detailed is consistent with length driving the gap, not proof of it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.gradients.metrics import PARTS
from fastslow.gradients.modules import ATTENTION
from fastslow.gradients.plots import plot_comparison, plot_curves, plot_overlay


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


def _pts(share: float) -> str:
    """A share as percentage points, one decimal ("132.4", not "1.3e+02")."""
    return f"{100 * share:.1f}"


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
def _claim(summary: dict[str, Any], key: str) -> dict[str, Any] | None:
    return summary.get("findings", {}).get("claims", {}).get(key)


def _ratio(claim: dict[str, Any]) -> tuple[str, str, str]:
    """A log-ratio claim's effect and 95% interval, back on the ratio scale, formatted."""
    low, high = claim["interval"]
    return _f(math.exp(claim["effect"])), _f(math.exp(low)), _f(math.exp(high))


def claim_line(claim: dict[str, Any]) -> str:
    """One claim: its verdict, then the numbers the verdict reads (``findings.VERDICT_RULE``)."""
    verdict = claim["verdict"]
    if "interval" not in claim:
        return f"**{verdict}**: {claim['text']} ({claim.get('why', 'no interval')})."
    low, high = claim["interval"]
    n = claim["questions"]
    if claim["scale"] == "log_ratio":
        effect, lo, hi = _ratio(claim)
        numbers = f"ratio {effect}, 95% interval [{lo}, {hi}]"
    else:
        numbers = (
            f"{_f(100 * claim['effect'])} points above a noise floor of {_f(100 * claim['floor'])} "
            f"(observed {_f(100 * claim['statistic'])}), 95% interval [{_f(100 * low)}, {_f(100 * high)}]"
        )
    source = "" if claim["source"] == "paper" else " (ours, not the paper's)"
    return f"**{verdict}**: {claim['text']}{source}: {numbers}, p = {_f(claim['p'], 2)}; {n} questions."


def claim_cell(claim: dict[str, Any] | None) -> str:
    """One claim in a table cell: the verdict, the effect with its interval, p and the questions."""
    if claim is None:
        return "–"
    verdict = claim["verdict"]
    if "interval" not in claim:
        return verdict
    low, high = claim["interval"]
    if claim["scale"] == "log_ratio":
        effect, lo, hi = _ratio(claim)
        numbers = f"{effect} [{lo}, {hi}]"
    elif claim["scale"] == "rd":
        numbers = f"{_pts(claim['effect'])} pts [{_pts(low)}, {_pts(high)}]"
    else:
        return f"{_f(claim['statistic'])} [{_f(low)}, {_f(high)}], n={claim['questions']}"
    p = f", p {_f(claim['p'], 2)}" if "p" in claim else ""
    return f"{verdict}: {numbers}{p}, n={claim['questions']}"


def findings_table(runs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """The findings of several runs side by side: one row a claim, one column a run (effects as
    ratios, or points of mean |RD| above the noise floor, with 95% intervals)."""
    keys: list[str] = []
    for _, summary in runs:
        keys += [k for k in summary.get("findings", {}).get("claims", {}) if k not in keys]
    if not keys:
        return []
    rows = [[f"`{k}`", *(claim_cell(_claim(s, k)) for _, s in runs)] for k in keys]
    return _table(["claim", *(label for label, _ in runs)], rows)


def _claim_lines(summary: dict[str, Any], keys: list[str]) -> list[str]:
    return [claim_line(c) for k in keys if (c := _claim(summary, k)) is not None]


NO_FINDINGS = (
    "no intervals or verdicts: this summary was written before fastslow tested the findings; "
    "run the analysis again into a new directory"
)


def finding_fast_vs_slow(summary: dict[str, Any], fast: str = "none", slow: str = "detailed") -> str:
    types = summary["types"]
    kinds = _attn(summary)
    if not (types.get(fast, {}).get("n") and types.get(slow, {}).get("n")) or not kinds:
        return f"**Fast vs slow thinking**: not measured (needs the `{fast}` and `{slow}` types and attention projections)."
    lines = _claim_lines(
        summary, ["fast_vs_slow.norm", "fast_vs_slow.mad", "fast_vs_slow.mad_early", "fast_vs_slow.shape"]
    )
    norm = {k: (types[fast]["mean"]["S_sum"][k], types[slow]["mean"]["S_sum"][k]) for k in kinds}
    norms = ", ".join(
        f"{k.upper()} {_f(a)} vs {_f(b)} ({_f(a / b if b else None, 2)}x)" for k, (a, b) in norm.items()
    )

    def mads(key: str) -> str:
        return ", ".join(
            f"{k.upper()} {_f(types[fast]['mad']['S_sum'][k][key]['all'])} vs "
            f"{_f(types[slow]['mad']['S_sum'][k][key]['all'])}"
            for k in kinds
            if key in types[fast]["mad"]["S_sum"][k]
        )

    text = f"**Fast vs slow thinking** ({fast} vs {slow}):"
    text += "".join(f"\n  - {line}" for line in lines) if lines else f" {NO_FINDINGS}."
    text += (
        f"\n  - Each projection (every example each type kept): mean nuclear norm over layers {norms}; "
        f"MAD over all layers {mads('curve')}"
    )
    scaled = mads("curve_scaled")
    text += f"; MAD / mean {scaled}." if scaled else "."
    if "mlp" in types[fast]["mean"]["S_sum"]:
        a, b = types[fast]["mean"]["S_sum"]["mlp"], types[slow]["mean"]["S_sum"]["mlp"]
        text += f" The MLP (not in the paper): {_f(a)} vs {_f(b)} ({_f(a / b if b else None, 2)}x)."
    return text


def _pair(summary: dict[str, Any], a: str, b: str) -> dict[str, Any] | None:
    return summary["pairs"].get(f"{a}:{b}")


def finding_correct_vs_irrelevant(summary: dict[str, Any]) -> str:
    slow_pairs = [p for p in (_pair(summary, "detailed", t) for t in ("shuffled", "irrelevant")) if p]
    if not slow_pairs:
        return "**Correct vs irrelevant responses**: not measured (needs `detailed` and `shuffled` or `irrelevant`)."
    lines = _claim_lines(
        summary,
        [
            "correct_vs_irrelevant.slow.shuffled",
            "correct_vs_irrelevant.fast",
            "correct_vs_irrelevant.contrast",
            "correct_vs_irrelevant.slow.irrelevant",
        ],
    )

    def describe(pair: dict[str, Any]) -> str:
        group = "attn" if "attn" in pair["auc"] else next(iter(pair["auc"]))
        return (
            f"{pair['a']} vs {pair['b']}: mean RD {_f(100 * pair['mean_rd'][group], 3)}% (mean |RD| "
            f"{_f(100 * pair['mean_abs_rd'][group], 3)}%), per-example AUC {_f(pair['auc'][group], 2)}, "
            f"{pair['b']} larger in {_f(100 * pair['b_larger'][group], 3)}% of {pair['paired']} questions"
        )

    fast = _pair(summary, "none", "irrelevant_none")
    described = "; ".join(describe(p) for p in [*slow_pairs, *([fast] if fast else [])])
    text = "**Correct vs irrelevant responses**:"
    text += "".join(f"\n  - {line}" for line in lines) if lines else f" {NO_FINDINGS}."
    return text + f"\n  - Paired questions, attention: {described}."


def finding_padded(summary: dict[str, Any]) -> str:
    types = summary["types"]
    if (
        not all(types.get(t, {}).get("n") for t in ("none", "detailed", "padded"))
        or "attn" not in types["none"]["mean"]["S_sum"]
    ):
        return "**The `padded` control**: not measured (needs the `none`, `detailed` and `padded` types)."
    claim = _claim(summary, "padded.norm")
    position = _claim(summary, "padded.position")
    tokens = {t: types[t]["response_tokens"] for t in ("none", "detailed", "padded")}
    norms = {t: types[t]["mean"]["S_sum"]["attn"] for t in ("none", "detailed", "padded")}
    text = (
        f"**The `padded` control** (the answer after fluent text unrelated to the question, about as long as "
        f"detailed: {_f(tokens['padded'])} response tokens vs {_f(tokens['detailed'])} detailed and "
        f"{_f(tokens['none'])} none; mean attention nuclear norm {_f(norms['padded'])} vs "
        f"{_f(norms['detailed'])} detailed and {_f(norms['none'])} none):"
    )
    if claim is None:
        return text + f" {NO_FINDINGS}."
    text += f"\n  - {claim_line(claim)}"
    if position and "interval" in position:
        low, high = position["interval"]
        text += (
            f"\n  - padded sits at t = {_f(position['statistic'], 2)} (95% interval [{_f(low, 2)}, {_f(high, 2)}]) "
            f"of the way from none (0) to detailed (1) by mean nuclear norm, on {position['questions']} questions."
        )
    meaning = {
        "reproduces": "length alone does not explain the fast/slow gap on this model",
        "does not reproduce": (
            "padded gradients are no larger than detailed ones, which is consistent with response length "
            "driving the fast/slow gap (the loss is a mean over the response tokens: more of them, most "
            "easy to predict, average to a smaller gradient); it does not prove it, since padded text "
            "differs from detailed reasoning in more than its length"
        ),
        "inconclusive": "the data cannot tell whether length alone explains the fast/slow gap",
    }
    if claim["verdict"] in meaning:
        text += f"\n  - What it says: {meaning[claim['verdict']]}."
    return text


def findings(summary: dict[str, Any]) -> list[str]:
    return [finding_fast_vs_slow(summary), finding_correct_vs_irrelevant(summary), finding_padded(summary)]


def verdict_rule(summary: dict[str, Any]) -> str:
    """How the verdicts were decided, as the summary recorded it."""
    info = summary.get("findings")
    if not info:
        return NO_FINDINGS + "."
    return (
        f"{info['rule']} Tested on the {'attention' if info['group'] == 'attn' else info['group']} "
        f"nuclear-norm curves (the mean of the group's projections at each layer); seed {info['seed']}. "
        "The per-type numbers describe every example a type kept; pair statistics and findings use only "
        "the questions every compared type kept."
    )


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
            rows.append([t, "0", "–", "–", "–", "–", "–", "–", "–", "–"])
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
                _f(mad.get("curve_scaled", {}).get("all")),
                f"{_f(pe['mean'])} ± {_f(pe['std'], 2)}",
                _f(seconds.get(t), 2),
            ]
        )
    return rows


def mad_rows(
    summary: dict[str, Any], part: str = "all", key: str = "curve"
) -> tuple[list[str], list[list[str]]]:
    """MAD of each projection's mean curve (``key="curve_scaled"``: MAD / mean) for every type."""
    kinds = summary["modules"]
    headers = ["type", *(k.upper() if k in ATTENTION else k for k in kinds)]
    rows = [
        [t, *(_f(e["mad"]["S_sum"][k].get(key, {}).get(part)) for k in kinds)]
        for t, e in summary["types"].items()
        if e["n"]
    ]
    return headers, rows


def _prompt_format(summary: dict[str, Any], config: dict[str, Any]) -> str:
    used = summary.get("run", {}).get("prompt_format") or {}
    recorded = config.get("prompt_format") or {}
    fmt = used.get("used") or recorded.get("used")
    if not fmt:
        return "not recorded (a run from before fastslow recorded it)"
    why = used.get("why")
    return (
        f"`{fmt}`"
        + (f" ({why})" if why else "")
        + "; the first prompt as the model read it is in config.json"
    )


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
        f"Prompt format: {_prompt_format(summary, config)}.",
        "",
        *(f"- {f}" for f in findings(summary)),
        "",
        f"How the verdicts are decided: {verdict_rule(summary)}",
        "",
        "## Response types",
        "",
        f"Nuclear norm (S_sum) averaged over layers; MAD of the mean attention curve over all / early / middle / "
        f"late layers (early {_layers(parts['early'])}, middle {_layers(parts['middle'])}, late "
        f"{_layers(parts['late'])}); MAD / mean (scale-free), all layers; per-example MAD (all layers) as "
        "mean ± std. Every example each type kept.",
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
                "MAD/mean",
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
        "The same divided by the curve's mean (scale-free: equal values mean the curves have the same shape "
        "at different heights):",
        "",
        *_table(*mad_rows(summary, key="curve_scaled")),
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
            "AUC: how often an example of B has a larger nuclear norm (mean over layers) than one of A. "
            "Each pair on the questions both types kept.",
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
            claim = _claim(s, "fast_vs_slow.norm")
            if claim is not None and "interval" in claim:  # on the questions both kept, with its interval
                effect, lo, hi = _ratio(claim)
                ratios.append(
                    f"- {label}: none / detailed nuclear norm = {effect}, 95% interval [{lo}, {hi}] "
                    f"({claim['questions']} paired questions)"
                )
            else:
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
    table = findings_table(runs)
    if table:
        lines += [
            "The findings side by side (each cell: verdict, effect with its 95% interval, p, questions; "
            "the rule is each run's report's):",
            "",
            *table,
            "",
        ]
    lines += ["![overlay](plots/overlay.png)", ""]
    path = out / "overlay.md"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
