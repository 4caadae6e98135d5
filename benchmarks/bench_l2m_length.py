"""Least-to-most against chain-of-thought as problems grow: last letters of 2 to 12 words.

Zhou et al. 2022 (least-to-most prompting) report, on last-letter concatenation with
code-davinci-002, least-to-most 94.0% / 74.0% against chain-of-thought 84.2% / 31.8% for 4 / 12
words: the gap grows with length. Here: `embedded-reasoner` (primed on 2-6 words) with direct, cot,
sc and l2m on ``--limit`` held-out questions at each length; one resumable eval run per length
under ``--out``, a table with 95% Wilson intervals, and a figure of accuracy against length.

    python benchmarks/bench_l2m_length.py [--limit 50] [--words 2,4,6,8,10,12]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastslow.evaluate import EvalConfig, evaluate  # noqa: E402
from fastslow.models.options import ModelOptions, open_model  # noqa: E402
from fastslow.report import render  # noqa: E402
from fastslow.runs import read_rows  # noqa: E402
from fastslow.stats import difference_by_id  # noqa: E402

METHODS = ["direct", "cot", "sc", "l2m"]


def params(words: int) -> list[str]:
    """Caps that grow with the list: a templated chain takes ~25 tokens a word; l2m solves one
    growing sublist per word (Zhou et al.'s decomposition), each answer ~60 tokens."""
    chain = 64 + 32 * words
    return [
        f"cot.max_tokens={chain}",
        f"sc.max_tokens={chain}",
        "sc.k=5",
        f"l2m.max_subquestions={words}",
        "l2m.max_tokens=96",
        f"l2m.decompose_tokens={32 + 24 * words}",
    ]


def plot(results: dict[int, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    words = sorted(results)
    for m in METHODS:
        acc = [100 * results[w]["methods"][m]["accuracy"] for w in words]
        lo = [100 * results[w]["methods"][m]["ci95"][0] for w in words]
        hi = [100 * results[w]["methods"][m]["ci95"][1] for w in words]
        ax.plot(words, acc, marker="o", label=m)
        ax.fill_between(words, lo, hi, alpha=0.12)
    ax.axvspan(min(words) - 0.3, 6.3, color="grey", alpha=0.08, label="primed lengths (2-6)")
    ax.set_xlabel("words in the list")
    ax.set_ylabel("accuracy (%), 95% Wilson band")
    ax.set_ylim(-3, 103)
    ax.set_title("embedded-reasoner on last letters: accuracy against length", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embedded-reasoner")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--words", default="2,4,6,8,10,12")
    ap.add_argument("--out", default="runs/l2m-length")
    ap.add_argument("--figure", default="benchmarks/l2m-length.png")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument(
        "--dtype",
        default="float32",
        choices=("float32", "bfloat16"),
        help="bfloat16 is 2.3x faster where the CPU has BF16",
    )
    # All the questions of a length in one step: every method's requests fill the decode batch
    # (chunks of 16 decoded 16 rows at a time where 128 fit).
    ap.add_argument("--chunk", type=int, default=64, help="questions whose requests are batched together")
    args = ap.parse_args()

    model = open_model(
        args.model, ModelOptions(cache=args.cache, batch_size=args.batch_size, dtype=args.dtype)
    )
    results = {}
    for words in map(int, args.words.split(",")):
        out = Path(args.out) / f"{args.model}-words{words}"
        config = EvalConfig(
            methods=METHODS,
            model=args.model,
            task="last_letters",
            knobs={"words": str(words)},
            limit=args.limit,
            params=params(words),
            chunk=args.chunk,
        )
        print(f"== {words} words -> {out}", flush=True)
        results[words] = evaluate(config, out, model=model)
        render(out)
    plot(results, Path(args.figure))

    print("\naccuracy % [95% Wilson interval] · unanswered % · mean generated tokens per example\n")
    print("| words | " + " | ".join(METHODS) + " | l2m - cot (paired 95% interval) |")
    print("|---|" + "---|" * len(METHODS) + "---|")
    for words, s in results.items():
        m = s["methods"]
        cells = [
            f"{100 * m[x]['accuracy']:.0f} [{100 * m[x]['ci95'][0]:.0f}-{100 * m[x]['ci95'][1]:.0f}] · "
            f"{100 * m[x]['unanswered_share']:.0f}% · {m[x]['completion_tokens']:.0f} tok"
            for x in METHODS
        ]
        traces = read_rows(Path(args.out) / f"{args.model}-words{words}" / "traces.jsonl")
        by = {x: [r for r in traces if r["method"] == x] for x in ("l2m", "cot")}
        diff = difference_by_id(by["l2m"], by["cot"])  # None when no question has both
        gap = "–" if diff is None else "{:+.0f} [{:+.0f}, {:+.0f}]".format(*(100 * v for v in diff))
        print(f"| {words} | " + " | ".join(cells) + f" | {gap} |")
    print(f"\nfigure: {args.figure}")


if __name__ == "__main__":
    main()
