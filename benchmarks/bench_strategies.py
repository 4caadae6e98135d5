"""Every strategy on the five built-in task families: one accuracy/tokens table and one figure.

Each task is one resumable `fastslow eval` run under ``--out`` (default runs/strategies), so an
interrupted run continues where it stopped and a finished one re-prints from its files. The
figure (accuracy against mean generated tokens per example, one panel per task, the Pareto
frontier dashed) is written to ``--figure``.

    python benchmarks/bench_strategies.py [--model embedded] [--limit 30]

The equivalent for one task from the CLI:

    fastslow eval --task coin_flip --methods direct,cot,sc,... --limit 30 --param cot.max_tokens=128 ...
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastslow.evaluate import EvalConfig, evaluate  # noqa: E402
from fastslow.models.options import ModelOptions, open_model  # noqa: E402
from fastslow.report import pareto_front, render  # noqa: E402
from fastslow.strategies.registry import STRATEGIES  # noqa: E402

TASKS = ["last_letters", "coin_flip", "arithmetic", "distractor_arithmetic", "sycophancy"]
METHODS = list(STRATEGIES)
# CPU budget: every reasoning call is capped at 128 new tokens (a rambling 135M model otherwise runs
# to the default 256-384 on every call), sampling methods draw 5 samples instead of 8, bsm plans 2
# criteria and l2m solves at most 4 questions. The caps are the same for every method they apply to.
PARAMS = [
    "cot.max_tokens=128",
    "sc.max_tokens=128",
    "sc.k=5",
    "l2m.max_tokens=96",
    "l2m.max_subquestions=4",
    "ps.max_tokens=128",
    "ps+.max_tokens=128",
    "s2a.max_tokens=128",
    "s2a.rewrite_tokens=128",
    "rar.max_tokens=160",
    "rar2.rephrase_tokens=96",
    "rar2.max_tokens=128",
    "bsm.criteria=2",
    "bsm.max_tokens=128",
    "usc.k=5",
    "usc.max_tokens=128",
    "refine.max_tokens=128",
    "refine.feedback_tokens=96",
    "thought.max_tokens=160",
]


def plot_panels(summaries: dict[str, dict], path: Path, model: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, axes = plt.subplots(
        1, len(summaries), figsize=(4.2 * len(summaries), 4.4), dpi=110, sharey=True, squeeze=False
    )
    axes = axes[0]
    for ax, (task, s) in zip(axes, summaries.items()):
        names = list(s["methods"])
        xs = [s["methods"][n]["completion_tokens"] for n in names]
        ys = [100 * s["methods"][n]["accuracy"] for n in names]
        ax.scatter(xs, ys, s=18)
        for n, x, y in zip(names, xs, ys):
            ax.annotate(n, (x, y), textcoords="offset points", xytext=(3, 3), fontsize=7)
        front = pareto_front(list(zip(xs, ys)))
        ax.plot([xs[i] for i in front], [ys[i] for i in front], "--", color="grey", lw=1)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # decade labels only: minor ones overlap
        ax.set_title(f"{task} (n={s['methods'][names[0]]['n']})", fontsize=9)
        ax.set_xlabel("generated tokens per example (log)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (%)")
    axes[0].set_ylim(-3, 105)
    fig.suptitle(f"All strategies on {model}: accuracy against cost", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--limit", type=int, default=30)
    ap.add_argument("--chunk", type=int, default=32, help="questions whose requests are batched together")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--out", default="runs/strategies")
    ap.add_argument("--figure", default=None, help="default: benchmarks/strategies-MODEL.png")
    ap.add_argument("--cache", default=None)
    # 32, not the embedded models' default of 128: sampling is seeded per batch, so the table in
    # RESULTS.md, decoded in batches of 32, comes out the same on a rerun without the cache.
    ap.add_argument("--batch-size", type=int, default=32, help="rows decoded at once")
    ap.add_argument(
        "--dtype",
        default="float32",
        choices=("float32", "bfloat16"),
        help="bfloat16 is 2.3x faster where the CPU has BF16",
    )
    ap.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="METHOD.KEY=VALUE",
        help="a parameter added after the caps (repeatable; the later of two for one key wins)",
    )
    args = ap.parse_args()

    methods = args.methods.split(",")
    args.figure = args.figure or f"benchmarks/strategies-{args.model}.png"
    model = open_model(
        args.model, ModelOptions(cache=args.cache, batch_size=args.batch_size, dtype=args.dtype)
    )
    summaries = {}
    # The per-method caps of the methods chosen (a METHOD.KEY for a method not run is an error).
    params = [p for p in PARAMS if "." not in p.partition("=")[0] or p.partition(".")[0] in methods]
    params += args.param
    for task in args.tasks.split(","):
        out = Path(args.out) / f"{args.model}-{task}"
        config = EvalConfig(
            methods=methods, model=args.model, task=task, limit=args.limit, params=params, chunk=args.chunk
        )
        print(f"== {args.model} on {task} -> {out}", flush=True)
        summaries[task] = evaluate(config, out, model=model)
        render(out)
    plot_panels(summaries, Path(args.figure), args.model)

    print(
        "\naccuracy % [95% Wilson interval] · unanswered % · mean generated tokens · model calls · "
        "model seconds, per example\n"
    )
    print("| method | " + " | ".join(summaries) + " |")
    print("|---|" + "---|" * len(summaries))
    for m in methods:
        cells = []
        for s in summaries.values():
            r = s["methods"][m]
            lo, hi = r["ci95"]
            unanswered = r.get("unanswered_share", r["unanswered"] / max(r["n"], 1))
            cells.append(
                f"{100 * r['accuracy']:.0f} [{100 * lo:.0f}-{100 * hi:.0f}] · {100 * unanswered:.0f}% · "
                f"{r['completion_tokens']:.0f} tok · {r['calls']:.1f} · {r['seconds']:.2f} s"
            )
        print(f"| {m} | " + " | ".join(cells) + " |")
    print(f"\nfigure: {args.figure}")


if __name__ == "__main__":
    main()
