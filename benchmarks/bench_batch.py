"""Sampled chains of thought at several decode batch sizes: how many rows to decode at once on a CPU.

The same requests (P prompts x K samples: the `cot` prompt of held-out 3-step arithmetic questions on
`embedded-reasoner`, T=0.7, top-p 0.95, the benchmark's 128-token cap: the work of self-consistency)
go through the backend once per batch size, one after the other in this run. Samples differ between
sizes (sampling is seeded per batch), so the script compares generated tokens per second, and prints
each size's ratio to the first.

    python benchmarks/bench_batch.py [--sizes 32,64,128,256] [--prompts 16] [--k 16]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastslow.models.base import Request  # noqa: E402
from fastslow.models.registry import load_model  # noqa: E402
from fastslow.strategies.cot import cot_messages  # noqa: E402
from fastslow.tasks.registry import load_task  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="32,64,128,256", help="batch sizes, comma-separated")
    ap.add_argument("--model", default="embedded-reasoner")
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=128)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    import torch

    hf = load_model(args.model, batch_size=sizes[0])
    task = load_task("arithmetic", limit=args.prompts, split="test", knobs={"steps": "3"})
    requests = []
    for i, ex in enumerate(task.examples):
        messages, prefill = cot_messages(ex, task, True, [])
        requests.append(
            Request(
                messages,
                n=args.k,
                temperature=0.7,
                top_p=0.95,
                max_tokens=args.max_tokens,
                seed=i,
                prefill=prefill,
            )
        )
    hf.generate([Request([{"role": "user", "content": "warm up"}], max_tokens=4)])
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.model}, "
        f"{args.prompts} prompts x {args.k} samples, cap {args.max_tokens} tokens"
    )
    first = None
    for size in sizes:
        hf.batch_size = size
        t0 = time.perf_counter()
        out = hf.generate(requests)
        seconds = time.perf_counter() - t0
        tokens = sum(c.completion_tokens for c in out)
        rate = tokens / seconds
        first = first or rate
        print(
            f"batch {size:4d}: {tokens} tokens in {seconds:.1f} s = {rate:.1f} tokens/s "
            f"({rate / first:.2f}x batch {sizes[0]})",
            flush=True,
        )


if __name__ == "__main__":
    main()
