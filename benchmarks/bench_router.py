"""The adaptive router `auto` against always-direct and always-sc, on the same held-out questions.

`auto` answers with System 1 (3 sampled direct answers) and runs sc only when they disagree. Its
point (accuracy, generated tokens per question) is compared with the straight line between
always-direct and always-sc: a router that spends tokens well sits on or above that line (it buys
more accuracy per token than mixing the two at random would). Also reported: the share of
questions escalated, and accuracy on each path.

Decision rule (written before the run): the router "beats the mix" on a task when its accuracy
exceeds the line's value at its token cost; with n questions the comparison is noisy, so the table
gives the 95% Wilson interval of the router's accuracy beside the line's value, and the claim is
made only where the line lies below that interval.

    python benchmarks/bench_router.py [--model embedded-reasoner] [--tasks coin_flip,arithmetic] [--limit 100]
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

METHODS = ["direct", "sc", "auto"]
PARAMS = ["sc.k=5", "sc.max_tokens=192", "auto.slow_params=k=5,max_tokens=192"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="embedded-reasoner")
    ap.add_argument("--tasks", default="coin_flip,arithmetic")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--out", default="runs/router")
    ap.add_argument("--batch-size", type=int, default=128)
    args = ap.parse_args()
    model = open_model(args.model, ModelOptions(batch_size=args.batch_size))
    lines = []
    for task in args.tasks.split(","):
        out = Path(args.out) / f"{args.model}-{task}"
        config = EvalConfig(methods=METHODS, model=args.model, task=task, limit=args.limit, params=PARAMS)
        print(f"== {task} -> {out}", flush=True)
        s = evaluate(config, out, model=model)["methods"]
        render(out)
        rows = [r for r in read_rows(out / "traces.jsonl") if r["method"] == "auto"]
        slow = [r for r in rows if r["meta"].get("path") == "slow"]
        fast = [r for r in rows if r["meta"].get("path") == "fast"]
        d, c, a = s["direct"], s["sc"], s["auto"]
        share = (a["completion_tokens"] - d["completion_tokens"]) / max(
            1e-9, c["completion_tokens"] - d["completion_tokens"]
        )
        line = d["accuracy"] + share * (c["accuracy"] - d["accuracy"])
        lo, hi = a["ci95"]
        verdict = (
            "above the line" if lo > line else "below the line" if hi < line else "on the line (within noise)"
        )
        for name, m in (("direct", d), ("sc", c), ("auto", a)):
            lines.append(
                f"| {task} | {name} | {100 * m['accuracy']:.0f} [{100 * m['ci95'][0]:.0f}-{100 * m['ci95'][1]:.0f}] "
                f"| {m['completion_tokens']:.0f} | {m['calls']:.2f} | "
                + (
                    f"{100 * len(slow) / len(rows):.0f}% escalated (fast {100 * sum(r['score'] for r in fast) / max(1, len(fast)):.0f}% "
                    f"of {len(fast)}, slow {100 * sum(r['score'] for r in slow) / max(1, len(slow)):.0f}% of {len(slow)}); "
                    f"line at its tokens {100 * line:.0f}%: {verdict} |"
                    if name == "auto"
                    else " |"
                )
            )
    print("\n| task | method | accuracy % [95% CI] | tokens/question | calls/question | router |")
    print("|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
