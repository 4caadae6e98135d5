"""Render a run directory: a Markdown report and plots. Reads files only; never calls a model.

``fastslow report RUN`` re-renders a finished (or half-finished) run from its ``summary.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError

# "unanswered": the share of examples with no extracted answer, beside accuracy, so that a format
# failure can never pass for a wrong answer.
HEADERS = ["method", "accuracy", "95% CI", "unanswered", "n", "tokens/ex", "calls/ex", "sec/ex"]
VOTING = "sc"  # the strategy whose samples are put to a majority vote


def table_rows(summary: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, m in summary["methods"].items():
        lo, hi = m["ci95"]
        rows.append(
            [
                name,
                f"{100 * m['accuracy']:.1f}%",
                f"{100 * lo:.0f}-{100 * hi:.0f}%",
                f"{100 * m.get('unanswered', 0) / max(m['n'], 1):.0f}%",
                str(m["n"]),
                f"{m['completion_tokens']:.1f}",
                f"{m['calls']:.2f}",
                f"{m['seconds']:.2f}",
            ]
        )
    return rows


def parse_error_lines(summary: dict[str, Any]) -> list[str]:
    """One line per method whose own step failed to parse on some questions (it fell back)."""
    lines = []
    for name, m in summary["methods"].items():
        if m.get("parse_errors"):
            lines.append(
                f"- {name}: its own step did not parse on {m['parse_errors']} of {m['n']} questions (the "
                f"method fell back; its row measures the fallback there); the first: {m['parse_error_example']}"
            )
    return lines


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both cost (lower) and accuracy (higher)."""
    front = []
    for i, (c, a) in enumerate(points):
        dominated = any(
            (c2 <= c and a2 >= a) and (c2 < c or a2 > a) for j, (c2, a2) in enumerate(points) if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


def error_bars(rows: list[dict[str, Any]]) -> list[list[float]]:
    """Matplotlib's ``yerr`` for rows of ``accuracy`` and ``ci95``, in percent: from each accuracy to
    its interval's ends, never negative (summaries written before ``stats.wilson_interval`` held its
    estimate can have an end a rounding error past it)."""
    below = [max(0.0, 100 * (r["accuracy"] - r["ci95"][0])) for r in rows]
    above = [max(0.0, 100 * (r["ci95"][1] - r["accuracy"])) for r in rows]
    return [below, above]


def _figure():
    """A figure and its axes, drawn off-screen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6, 4.2), dpi=120)


def _finish(fig, ax, path: Path, title: str) -> None:
    """Title, grid and legend; save to ``path`` and free the figure."""
    import matplotlib.pyplot as plt

    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def plot_pareto(summary: dict[str, Any], path: Path, title: str) -> None:
    names = list(summary["methods"])
    ms = [summary["methods"][n] for n in names]
    xs = [m["completion_tokens"] for m in ms]
    ys = [100 * m["accuracy"] for m in ms]
    fig, ax = _figure()
    for n, m, x, y in zip(names, ms, xs, ys):
        ax.errorbar([x], [y], yerr=error_bars([m]), fmt="o", capsize=4, label=n)
        ax.annotate(n, (x, y), textcoords="offset points", xytext=(6, 6), fontsize=9)
    front = pareto_front(list(zip(xs, ys)))
    if len(front) > 1:
        ax.plot(
            [xs[i] for i in front], [ys[i] for i in front], "--", color="grey", lw=1, label="Pareto frontier"
        )
    if xs and max(xs) > 0 and min(xs) > 0 and max(xs) / min(xs) > 20:
        ax.set_xscale("log")
    ax.set_xlabel("mean completion tokens per example")
    ax.set_ylabel("accuracy (%) with 95% CI")
    ax.set_ylim(-3, 108)  # room for labels above 100%
    _finish(fig, ax, path, title)


def plot_votes(curves: dict[str, dict[int, float]], summary: dict[str, Any], path: Path, title: str) -> None:
    """Self-consistency's accuracy against the number of samples voting (one line per way of
    counting the votes), the other methods as lines."""
    fig, ax = _figure()
    for label, curve in curves.items():
        ax.plot(list(curve), [100 * v for v in curve.values()], "o-", label=f"{VOTING}: {label} of j samples")
    for i, (name, m) in enumerate(summary["methods"].items()):
        if name != VOTING:
            ax.axhline(100 * m["accuracy"], ls="--", lw=1, color=f"C{i + len(curves)}", label=name)
    ax.set_xlabel("samples voting (j)")
    ax.set_ylabel("accuracy (%)")
    values = [100 * v for c in curves.values() for v in c.values()]
    values += [100 * m["accuracy"] for m in summary["methods"].values()]
    ax.set_ylim(max(0.0, min(values) - 8), min(100.0, max(values) + 8) + 1)  # the gaps, not the page
    xs = list(next(iter(curves.values())))
    ax.set_xticks(xs if len(xs) <= 16 else xs[:: max(1, len(xs) // 8)])
    _finish(fig, ax, path, title)


def votes_section(run: Path, summary: dict[str, Any], title: str) -> list[str]:
    """The report's lines on self-consistency by number of samples (none if the run has no sc votes)."""
    from fastslow.runs import read_rows
    from fastslow.vote_curve import vote_curve

    if VOTING not in summary["methods"] or "kind" not in summary:  # older summaries lack the kind
        return []
    rows = read_rows(run / "traces.jsonl")
    curve = vote_curve(rows, summary["kind"], method=VOTING)
    if not curve:
        return []
    k = max(curve)
    curves = {"majority": curve}
    weighted = vote_curve(rows, summary["kind"], method=VOTING, weighted=True)
    if weighted:
        curves["weighted vote"] = weighted
    plot_votes(curves, summary, run / "plots" / "votes.png", title)
    lines = [
        "## Self-consistency by number of samples",
        "",
        f"The accuracy a majority vote over j of `{VOTING}`'s {k} samples would have had, averaged over "
        "subsets of each question's samples (the curve of Wang et al. 2022, Figure 2): still climbing at "
        f"{k}, more samples would pay; level, they would not. One sample: {100 * curve[1]:.1f}%; "
        f"all {k}: {100 * curve[k]:.1f}% (a tie counted as a random pick among the tied answers, so this can "
        "differ a little from the table, where a tie goes to the answer sampled first).",
    ]
    if weighted:
        lines.append(
            f"The run voted with weights (`vote=weighted`: each sample counts its length-normalised "
            f"probability); their vote over all {max(weighted)} samples: {100 * weighted[max(weighted)]:.1f}%, "
            "the second line."
        )
    return [*lines, "", "![accuracy by samples voting](plots/votes.png)", ""]


def render(run_dir: str | Path) -> Path:
    """Write ``report.md`` and its plots for an eval run directory; return the report path.

    ``plots/pareto.png``: accuracy against tokens per method. ``plots/votes.png``, when the run has
    ``sc``: its accuracy against the number of samples voting (``fastslow.vote_curve``).
    """
    run = Path(run_dir)
    summary_path = run / "summary.json"
    if not summary_path.is_file():
        raise FastslowError(f"{run} has no summary.json: is it a fastslow run directory?")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    info = summary.get("run", {})
    title = f"{summary['task']} · {info.get('model', '?')}"
    plot_pareto(summary, run / "plots" / "pareto.png", title)
    lines = [
        f"# Strategy comparison: {summary['task']}",
        "",
        f"Model `{info.get('model', '?')}`, {info.get('examples', '?')} examples. Accuracy with a 95% Wilson "
        "interval; cost per example in generated tokens, model calls (samples) and model seconds.",
        "",
        markdown_table(HEADERS, table_rows(summary)),
        "",
        *([*parse_error_lines(summary), ""] if parse_error_lines(summary) else []),
        "![accuracy against tokens](plots/pareto.png)",
        "",
        *votes_section(run, summary, title),
    ]
    if info:
        lines += [
            f"Generations this run: {info.get('generations_new')} new, {info.get('generations_cached')} from the "
            f"cache; traces resumed from an earlier run: {info.get('traces_resumed')}.",
            "",
        ]
    path = run / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
