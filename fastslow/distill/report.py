"""A distillation run's report: the paper's table and one plot, from ``summary.json`` alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastslow.report import error_bars, markdown_table, text_table

#: The three rows of the paper's table, in its order (``recipe.evaluate_three`` writes them).
ROWS = ("System 1", "System 2 (teacher)", "Distilled System 1")

HEADERS = ["", "accuracy", "95% CI", "unanswered", "n", "tokens/answer", "calls/answer"]


def table_rows(summary: dict[str, Any]) -> list[list[str]]:
    rows = []
    for r in summary["rows"]:
        lo, hi = r["ci95"]
        unanswered = r.get("unanswered_share")
        rows.append(
            [
                r["row"],
                f"{100 * r['accuracy']:.1f}%",
                f"{100 * lo:.0f}-{100 * hi:.0f}%",
                "" if unanswered is None else f"{100 * unanswered:.0f}%",
                str(r["n"]),
                f"{r['completion_tokens']:.1f}",
                f"{r['calls']:.2f}",
            ]
        )
    return rows


def console_table(summary: dict[str, Any]) -> str:
    return text_table(HEADERS, table_rows(summary)) if summary["rows"] else held_out_line(summary)


def held_out_line(summary: dict[str, Any]) -> str:
    """How many held-out questions were scored, where not all of them could be (no label)."""
    held = summary.get("held_out") or {}
    questions, labeled = held.get("questions", 0), held.get("labeled", 0)
    if labeled == questions and summary["rows"]:
        return ""
    if not labeled:
        return (
            f"None of the {questions} held-out questions has a label: nothing was scored. Score the "
            "distilled model on labeled questions with `fastslow eval --model hf:RUN/model ...`."
        )
    return f"Scored on the {labeled} of {questions} held-out questions that have a label."


def difference_lines(summary: dict[str, Any]) -> list[str]:
    """Each paired difference on the held-out questions, in points with its interval."""
    lines = []
    for name, diff in summary.get("differences", {}).items():
        if diff is not None:
            d, lo, hi = (100 * v for v in diff)
            lines.append(
                f"- {name}: {d:+.0f} points, 95% interval [{lo:+.0f}, {hi:+.0f}] (paired, same questions)"
            )
    for r in summary["rows"]:
        if r.get("parse_errors"):
            lines.append(
                f"- {r['row']} (`{r['method']}`): its own step did not parse on {r['parse_errors']} of "
                f"{r['n']} questions, where it fell back; the first: {r['parse_error_example']}"
            )
    rows = {r["row"]: r for r in summary["rows"]}
    teacher, distilled = rows.get(ROWS[1]), rows.get(ROWS[2])
    if teacher and distilled and teacher["completion_tokens"]:
        share = distilled["completion_tokens"] / teacher["completion_tokens"]
        lines.append(f"- generated tokens per answer: {100 * share:.0f}% of the teacher's")
    return lines


def filter_lines(summary: dict[str, Any]) -> list[str]:
    lines = [
        f"- inputs (train side, labels unused): {summary['inputs']}; kept: {summary['kept']} "
        f"({100 * summary['yield']:.0f}%)",
    ]
    for name, share in summary["kept_by_filter"].items():
        lines.append(f"- {name} alone keeps {100 * share:.0f}%")
    if summary.get("filter_precision") is not None:
        lines.append(
            f"- filter precision (kept answers that are right, measured with the labels, never used): "
            f"{100 * summary['filter_precision']:.0f}% of {summary['filter_precision_n']}"
        )
    lines.append(f"- teacher calls per input: {summary['teacher_calls_per_input']:.1f}")
    return lines


def plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary["rows"]
    xs = [max(r["completion_tokens"], 0.5) for r in rows]
    ys = [100 * r["accuracy"] for r in rows]
    fig, ax = plt.subplots(figsize=(5.6, 4.0), dpi=110)
    ax.plot(xs, ys, "--", color="grey", lw=1)
    for r, x, y in zip(rows, xs, ys):
        ax.errorbar([x], [y], yerr=error_bars([r]), fmt="o", capsize=3)
        ax.annotate(r["row"], (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.set_xscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.xaxis.set_major_formatter(ScalarFormatter())  # 4, 10, 40: not 4x10^0
    ax.xaxis.set_minor_formatter(NullFormatter())
    ticks = (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000)
    ax.set_xticks([t for t in ticks if min(xs) / 1.5 <= t <= max(xs) * 1.5])
    ax.set_xlabel("generated tokens per answer (log)")
    ax.set_ylabel("accuracy (%), 95% Wilson interval")
    ax.set_ylim(-3, 103)
    ax.set_title(f"System 2 Distillation on {summary['task']}", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def render(run_dir: str | Path) -> Path:
    """Write ``report.md`` and ``plots/distill.png`` for a finished distillation run."""
    run = Path(run_dir)
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    lines = [
        f"# System 2 Distillation: {summary['task']}",
        "",
        "Yu, Xu, Weston & Kulikov 2024, 'Distilling System 2 into System 1': held-out test questions.",
        "",
    ]
    if held_out_line(summary):
        lines += [held_out_line(summary), ""]
    if summary["rows"]:
        plot(summary, run / "plots" / "distill.png")
        lines += [
            markdown_table(HEADERS, table_rows(summary)),
            "",
            *difference_lines(summary),
            "",
            "![accuracy against tokens](plots/distill.png)",
            "",
        ]
    lines += [
        "## Consistency filters",
        *filter_lines(summary),
        "",
        f"Training: {summary['training']['steps']} steps, final loss {summary['training']['final_loss']}.",
    ]
    path = run / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
