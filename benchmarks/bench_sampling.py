"""K samples for each of P prompts on the embedded model: the batched backend against a naive loop.

The batched backend decodes the K samples of every prompt together (left padding, up to
``batch_size`` rows at once); the naive loop calls ``generate`` once per sample, as a script
without fastslow would. Both run here, one after the other, on the same prompts and settings, and
the script prints completion tokens per second for each and their ratio. The naive loop is timed on
a subset of the prompts (it is slow); tokens/s is comparable because both draw the same kind of
samples.

    python benchmarks/bench_sampling.py [--prompts 16] [--k 8] [--naive-prompts 4] [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastslow.models.base import Request  # noqa: E402
from fastslow.models.registry import load_model  # noqa: E402
from fastslow.tasks.registry import load_task  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--naive-prompts", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()

    import torch

    model = load_model("embedded", batch_size=args.batch_size)
    task = load_task("arithmetic", limit=args.prompts)
    requests = [
        Request(
            [{"role": "user", "content": ex.question + " Let's think step by step."}],
            n=args.k,
            temperature=0.8,
            top_p=0.95,
            max_tokens=args.max_tokens,
            seed=i,
        )
        for i, ex in enumerate(task.examples)
    ]
    model.generate([Request([{"role": "user", "content": "warm up"}], max_tokens=4)])

    t0 = time.perf_counter()
    batched = model.generate(requests)
    t_batched = time.perf_counter() - t0
    tok_batched = sum(c.completion_tokens for c in batched)

    t0 = time.perf_counter()
    tok_naive = 0
    for r in requests[: args.naive_prompts]:
        for k in range(args.k):
            [c] = model.generate(
                [
                    Request(
                        r.messages,
                        n=1,
                        temperature=0.8,
                        top_p=0.95,
                        max_tokens=args.max_tokens,
                        seed=r.seed * 1000 + k,
                    )
                ]
            )
            tok_naive += c.completion_tokens
    t_naive = time.perf_counter() - t0

    rate_b, rate_n = tok_batched / t_batched, tok_naive / t_naive
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(
        f"batched: {args.prompts} prompts x {args.k} samples = {args.prompts * args.k} samples, "
        f"{tok_batched} tokens in {t_batched:.1f} s = {rate_b:.1f} tokens/s (batch size {args.batch_size})"
    )
    print(
        f"naive:   {args.naive_prompts} prompts x {args.k} samples = {args.naive_prompts * args.k} samples, "
        f"{tok_naive} tokens in {t_naive:.1f} s = {rate_n:.1f} tokens/s (one generate call per sample)"
    )
    print(f"ratio:   batched / naive = {rate_b / rate_n:.2f}x tokens/s")


if __name__ == "__main__":
    main()
