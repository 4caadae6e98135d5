"""`embedded` against `embedded-reasoner`: direct, chain-of-thought and self-consistency on held-out
examples of three primed families, side by side in one table.

Each cell is a resumable `fastslow eval` run under ``--out`` (default runs/reasoner), so an
interrupted benchmark continues where it stopped and a finished one re-prints from its files.

    python benchmarks/bench_reasoner.py [--limit 100] [--models embedded-reasoner,embedded] [--tasks arithmetic]
        [--seed 1] [--split train] [--param sc.temperature=0.5] [--dtype bfloat16]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastslow.evaluate import EvalConfig, evaluate  # noqa: E402
from fastslow.models.options import ModelOptions, open_model  # noqa: E402
from fastslow.report import render  # noqa: E402

SETTINGS = [
    ("last_letters", {"words": "4"}),
    ("coin_flip", {"flips": "4"}),
    ("arithmetic", {"steps": "3"}),
]
METHODS = ["direct", "cot", "sc"]
# The primed traces need at most ~110 tokens; 128 leaves room and bounds the cost of samples that
# ramble. The same bound applies to both models.
PARAMS = ["cot.max_tokens=128", "sc.max_tokens=128"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--models", default="embedded-reasoner,embedded")
    ap.add_argument("--out", default="runs/reasoner")
    ap.add_argument("--cache", default=None)
    # 32, not the embedded models' default of 128: sampling is seeded per batch, so the tables in
    # RESULTS.md, decoded in batches of 32, come out the same on a rerun without the cache.
    ap.add_argument("--batch-size", type=int, default=32, help="rows decoded at once (raise it on a GPU)")
    ap.add_argument("--chunk", type=int, default=16, help="examples per batched step")
    ap.add_argument("--tasks", default=None, help="only these of the three tasks, comma-separated")
    ap.add_argument(
        "--seed", type=int, default=0, help="task generation seed: another seed, other held-out examples"
    )
    ap.add_argument(
        "--split",
        default="test",
        choices=["test", "train"],
        help="train: questions of the train split, to choose settings without touching the test split",
    )
    ap.add_argument(
        "--dtype", default="float32", choices=["float32", "bfloat16"], help="weights and activations"
    )
    ap.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="[METHOD.]KEY=VALUE",
        help="strategy parameter, after the benchmark's own (repeatable)",
    )
    args = ap.parse_args()
    settings = SETTINGS
    if args.tasks:
        wanted = args.tasks.split(",")
        unknown = sorted(set(wanted) - {task for task, _ in SETTINGS})
        if unknown:
            ap.error(f"unknown task(s) {', '.join(unknown)}: choose from {', '.join(t for t, _ in SETTINGS)}")
        settings = [(task, knobs) for task, knobs in SETTINGS if task in wanted]

    results = {}
    for spec in args.models.split(","):
        model = open_model(spec, ModelOptions(cache=args.cache, batch_size=args.batch_size, dtype=args.dtype))
        for task, knobs in settings:
            knob_tag = "-".join(f"{k}{v}" for k, v in knobs.items())
            dtype_tag = "" if args.dtype == "float32" else f"-{args.dtype}"
            out = Path(args.out) / f"{spec}{dtype_tag}-{task}-{knob_tag}"
            config = EvalConfig(
                methods=METHODS,
                model=spec,
                task=task,
                knobs=knobs,
                limit=args.limit,
                seed=args.seed,
                split=args.split,
                params=PARAMS + args.param,
                chunk=args.chunk,
            )
            print(f"== {spec} on {task} ({knob_tag}) -> {out}", flush=True)
            results[(spec, task)] = evaluate(config, out, model=model)
            render(out)

    print(f"\n| model | task | {' | '.join(METHODS)} | cot - direct | tokens/ex (direct / cot / sc) |")
    print("|---|---|" + "---|" * len(METHODS) + "---|---|")
    for (spec, task), s in results.items():
        m = s["methods"]
        acc = [
            f"{100 * m[x]['accuracy']:.0f}% [{100 * m[x]['ci95'][0]:.0f}-{100 * m[x]['ci95'][1]:.0f}]"
            for x in METHODS
        ]
        gap = 100 * (m["cot"]["accuracy"] - m["direct"]["accuracy"])
        toks = " / ".join(f"{m[x]['completion_tokens']:.0f}" for x in METHODS)
        print(f"| {spec} | {task} | {' | '.join(acc)} | {gap:+.0f} | {toks} |")


if __name__ == "__main__":
    main()
