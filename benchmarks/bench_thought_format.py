"""Can the model follow a thought prompt? The share of sampled outputs whose response TPO can find.

Wu et al. 2024 (TPO) split each sampled output at a response marker and judge only what follows;
an output without the marker can only be a rejected sample. A 135M model may never write the
paper's markers, and then TPO has nothing to choose from. This measures, per thought prompt
(``generic``, ``specific``: the paper's; ``answer``: ours, the last "The answer is" sentence), the
share of outputs that split, and the accuracy of the responses found, on held-out questions,
sampled as TPO samples (T=0.8, top-p 0.95).

    python benchmarks/bench_thought_format.py [--model embedded-reasoner] [--limit 30] [--samples 4]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastslow.models.base import Request  # noqa: E402
from fastslow.models.options import ModelOptions, open_model  # noqa: E402
from fastslow.stats import wilson_interval  # noqa: E402
from fastslow.tasks.registry import load_task  # noqa: E402
from fastslow.tpo.formats import ThoughtFormat  # noqa: E402

FORMATS = ["generic", "specific", "answer"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="embedded-reasoner")
    ap.add_argument("--tasks", default="arithmetic,last_letters")
    ap.add_argument("--limit", type=int, default=30)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=256)
    args = ap.parse_args()
    model = open_model(args.model, ModelOptions())
    print(
        f"{args.model}: {args.limit} held-out questions a task, {args.samples} samples each, T=0.8, top-p 0.95"
    )
    print(f"{'task':<14}{'prompt':<10}{'split found':>22}{'right (of found)':>20}")
    for name in args.tasks.split(","):
        task = load_task(name, limit=args.limit, split="test")
        for fmt_name in FORMATS:
            fmt = ThoughtFormat(fmt_name)
            requests = [
                Request(fmt.messages(ex, task), n=args.samples, max_tokens=args.max_tokens,
                        temperature=0.8, top_p=0.95, seed=1)
                for ex in task.examples
            ]  # fmt: skip
            found = right = total = 0
            for ex, c in zip(task.examples, model.generate(requests)):
                for text in c.texts:
                    total += 1
                    _, response = fmt.split(text)
                    if response is not None:
                        found += 1
                        right += task.score(task.extract(response, ex), ex)
            lo, hi = wilson_interval(found, total)
            share = f"{found}/{total} ({100 * found / total:.0f}%, {100 * lo:.0f}-{100 * hi:.0f})"
            acc = f"{100 * right / found:.0f}%" if found else "-"
            print(f"{name:<14}{fmt_name:<10}{share:>22}{acc:>20}")


if __name__ == "__main__":
    main()
