"""A TPO run's report: the per-iteration table and one figure, from ``summary.json`` alone."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from fastslow.report import error_bars, markdown_table, text_table


def _pct(x: float | None) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}"


def _difference(d: list[float] | None) -> str:
    if not d:
        return ""
    diff, lo, hi = (100 * x for x in d)
    return f"{diff:+.0f} [{lo:+.0f}, {hi:+.0f}]"


def baseline_line(summary: dict[str, Any]) -> list[str]:
    d = summary.get("vs_baseline")
    if not d:
        return []
    return [
        f"Last policy against the direct baseline's last policy, same held-out prompts: "
        f"{_difference(d)} points (Newcombe's paired 95% interval)."
    ]


def headers(summary: dict[str, Any]) -> list[str]:
    judges = summary["judges"]
    return [
        "",
        "held-out acc.",
        "95% CI",
        "vs seed (paired 95% CI)",
        "parse fail",
        "thought words",
        "response words",
        *[f"win vs seed ({j})" for j in judges],
        *[f"train score ({j})" for j in judges],
        "rho",
        "pairs",
    ]


def table_rows(summary: dict[str, Any]) -> list[list[str]]:
    by_iteration = {s["iteration"]: s for s in summary["iterations"]}
    judges = summary["judges"]
    out = []
    for r in summary["rows"]:
        stats = by_iteration.get(r["iteration"]) if r["iteration"] and not r.get("baseline") else None
        lo, hi = r["ci95"]
        accuracy = "n/a" if r["accuracy"] is None else f"{100 * r['accuracy']:.1f}%"
        interval = "" if lo is None else f"{100 * lo:.0f}-{100 * hi:.0f}%"
        wins = [_pct(stats["win_rate_vs_seed"][j]) if stats else "" for j in judges]
        scores = [_num(stats["train_mean_score"][j]) if stats else "" for j in judges]
        out.append(
            [
                r["row"],
                accuracy,
                interval,
                _difference(r.get("vs_seed")),
                _pct(r["parse_failure"]),
                f"{r['thought_words']:.0f}",
                f"{r['response_words']:.0f}",
                *wins,
                *scores,
                f"{stats['rho']:.2f}" if stats else "",
                str(stats["pairs"]) if stats else "",
            ]
        )
    return out


def console_table(summary: dict[str, Any]) -> str:
    return text_table(headers(summary), table_rows(summary))


def plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = [r for r in summary["rows"] if r["accuracy"] is not None]
    direct = next((r for r in scored if r["row"] == "seed, direct"), None)
    seed = "seed, direct" if summary["format"] == "direct" else "seed, thought prompt"
    policy = [r for r in scored if (r["row"] == seed or r["iteration"]) and not r.get("baseline")]
    baseline = [r for r in scored if r.get("baseline")]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), dpi=110)
    curves = [(policy, "policy", "o-")]
    if baseline and direct is not None:  # the direct baseline starts from the seed's direct answers
        curves.append(([direct, *baseline], "direct baseline (--no-thought)", "s--"))
    for rows, label, style in curves:
        acc = [100 * r["accuracy"] for r in rows]
        its = [r["iteration"] for r in rows]
        axes[0].errorbar(its, acc, yerr=error_bars(rows), fmt=style, capsize=3, label=label)
    if direct is not None and direct["accuracy"] is not None:
        axes[0].axhline(100 * direct["accuracy"], color="grey", ls="--", lw=1, label="seed, direct")
    axes[0].set_ylabel("held-out accuracy (%), 95% CI")
    axes[0].legend(fontsize=8)
    stats = summary["iterations"]
    for j in summary["judges"]:
        axes[1].plot(
            [s["iteration"] for s in stats], [100 * s["win_rate_vs_seed"][j] for s in stats], "o-", label=j
        )
        axes[2].plot(
            [s["iteration"] for s in stats], [s["train_mean_score"][j] for s in stats], "o-", label=j
        )
    axes[1].axhline(50, color="grey", ls="--", lw=1)
    axes[1].set_ylabel("win rate against the seed (%)")
    axes[2].set_ylabel("mean judge score of the samples")
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.set_xlabel("iteration")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # iterations 0, 1, 2: no 0.5
        ax.grid(alpha=0.3)
    for ax in axes[1:]:
        ax.legend(fontsize=8)
    fig.suptitle(f"TPO on {summary['task']} ({summary['format']} prompt)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def iteration_lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    for s in summary["iterations"]:
        t = s["training"] or {"steps": 0, "final_loss": "none (no pair: the policy was kept)"}
        lines.append(
            f"- iteration {s['iteration']}: {s['prompts']} prompts, {s['pairs']} pairs, "
            f"{s['skipped_prompts']} without a pair; sample parse failures {_pct(s['train_parse_failure'])}; "
            f"thought {s['train_thought_words']:.0f} / response {s['train_response_words']:.0f} words; "
            f"rho {s['rho']:.2f}; DPO {t['steps']} steps, final loss {t['final_loss']}"
            + "".join(
                f"; {name} scored {_pct(share)} of the responses"
                for name, share in (s.get("judged_share") or {}).items()
            )
        )
    return lines


def render(run_dir: str | Path) -> Path:
    """Write ``report.md`` and ``plots/tpo.png`` for a finished TPO run."""
    run = Path(run_dir)
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    plot(summary, run / "plots" / "tpo.png")
    lines = [
        f"# Thought Preference Optimization: {summary['task']}",
        "",
        "Wu et al. 2024, 'Thinking LLMs': judges see only the responses; held-out prompts, greedy.",
        "",
        markdown_table(headers(summary), table_rows(summary)),
        "",
        *baseline_line(summary),
        "",
        "![TPO across iterations](plots/tpo.png)",
        "",
        "## Iterations",
        *iteration_lines(summary),
    ]
    path = run / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
