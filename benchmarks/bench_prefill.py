"""Self-consistency's samples on `embedded-reasoner`: one prompt pass per sample against one per prompt.

The transformers backend decodes the K samples of a prompt side by side. Before, each of the K rows
ran the prompt through the model itself; now the prompt is run once and its KV cache copied to the
K rows (``decode(..., repeats=...)``). Both ways decode the same batches here, interleaved batch by
batch (so drift in the machine's speed hits both alike), with the same seeds: the samples come out
the same, and the script checks and prints how many rows match. It prints the wall time of each
way and their ratio.

    python benchmarks/bench_prefill.py [--prompts 16] [--k 8] [--max-tokens 128] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastslow.models.base import Request  # noqa: E402
from fastslow.models.decode import decode  # noqa: E402
from fastslow.models.registry import load_model  # noqa: E402
from fastslow.strategies.cot import cot_messages  # noqa: E402
from fastslow.tasks.registry import load_task  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embedded-reasoner")
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--temperature", type=float, default=0.7)
    args = ap.parse_args()
    if args.batch_size % args.k:
        ap.error("--batch-size must be a multiple of --k (each batch holds whole prompts)")

    model = load_model(args.model, batch_size=args.batch_size)
    task = load_task("arithmetic", limit=args.prompts, seed=7, knobs={"steps": "3"})
    prompts = []
    for ex in task.examples:
        messages, prefill = cot_messages(ex, task, True, [])
        prompts.append(model.format_prompt(Request(messages=messages, prefill=prefill)))
    per_batch = args.batch_size // args.k
    settings = dict(
        max_new_tokens=args.max_tokens,
        eos_ids=model.eos_ids,
        temperature=args.temperature,
        top_p=0.95,
    )
    model.generate([Request([{"role": "user", "content": "warm up"}], max_tokens=4)])

    seconds = {"one pass per sample": 0.0, "one pass per prompt": 0.0}
    tokens = {name: 0 for name in seconds}
    same = rows = 0
    for b, start in enumerate(range(0, len(prompts), per_batch)):
        batch = prompts[start : start + per_batch]
        outs = {}
        # Alternate which way goes first, so neither always runs on a warmer cache.
        order = list(seconds) if b % 2 == 0 else list(reversed(seconds))
        for name in order:
            shared = name == "one pass per prompt"
            texts = batch if shared else [p for p in batch for _ in range(args.k)]
            enc = model.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            t0 = time.perf_counter()
            outs[name] = decode(
                model.model,
                enc["input_ids"],
                enc["attention_mask"],
                seed=b,
                repeats=[args.k] * len(batch) if shared else None,
                **settings,
            )
            seconds[name] += time.perf_counter() - t0
            tokens[name] += sum(len(d.tokens) for d in outs[name])
        a, c = outs.values()
        same += sum(x.tokens == y.tokens for x, y in zip(a, c))
        rows += len(a)

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; model {args.model}")
    print(
        f"{rows} rows ({args.prompts} prompts x {args.k} samples, T={args.temperature}, top-p 0.95), "
        f"batches of {args.batch_size}, cap {args.max_tokens} tokens"
    )
    for name in seconds:
        print(f"{name}: {tokens[name]} tokens in {seconds[name]:.1f} s")
    print(f"identical samples: {same} of {rows} rows")
    ratio = seconds["one pass per sample"] / seconds["one pass per prompt"]
    print(f"ratio: one pass per sample / one pass per prompt = {ratio:.2f}x wall time")


if __name__ == "__main__":
    main()
