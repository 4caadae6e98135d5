"""Where a decode step's time goes: self-consistency's sampled chains on `embedded-reasoner`.

The workload of ``sc`` (k=8 samples, T=0.7, top-p 0.95, up to 256 tokens) on ``--prompts``
questions of each built-in family, decoded as fastslow decodes them (``--batch-size`` rows at
once), under ``torch.profiler``. It prints the time of each stage of the decode loop (the labels
in ``models/decode.py``: prefill, forward, sample, select, stop) and the operators that take the
most time, so a speed-up starts from the measured bottleneck.

    python benchmarks/profile_decode.py [--prompts 4] [--batch-size 128] [--k 8]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastslow.models.base import Request  # noqa: E402
from fastslow.models.registry import load_model  # noqa: E402
from fastslow.strategies.cot import cot_messages  # noqa: E402
from fastslow.tasks.registry import load_task  # noqa: E402

FAMILIES = ["last_letters", "coin_flip", "arithmetic", "distractor_arithmetic", "sycophancy"]


def sc_requests(prompts: int, k: int, max_tokens: int) -> list[Request]:
    """The requests ``sc`` sends for ``prompts`` held-out questions of every family."""
    requests = []
    for family in FAMILIES:
        task = load_task(family, limit=prompts)
        for ex in task.examples:
            messages, start = cot_messages(ex, task, True, [])
            requests.append(
                Request(messages, n=k, max_tokens=max_tokens, temperature=0.7, top_p=0.95, prefill=start)
            )
    return requests


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embedded-reasoner")
    ap.add_argument("--prompts", type=int, default=4, help="questions of each family")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--top", type=int, default=15, help="operators listed")
    args = ap.parse_args()

    import torch
    from torch.profiler import ProfilerActivity, profile

    model = load_model(args.model, batch_size=args.batch_size)
    requests = sc_requests(args.prompts, args.k, args.max_tokens)
    model.generate(requests[:1])  # warm up
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        out = model.generate(requests)
    seconds = time.perf_counter() - t0
    tokens = sum(c.completion_tokens for c in out)
    print(
        f"{len(requests)} prompts x {args.k} samples, {tokens} tokens in {seconds:.1f} s under the profiler"
    )
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    print("\nstage (decode.py labels): share of wall time")
    for e in sorted((e for e in events if e.key.startswith("decode.")), key=lambda e: -e.cpu_time_total):
        print(
            f"  {e.key:<16} {e.cpu_time_total / 1e6:8.2f} s  {100 * e.cpu_time_total / 1e6 / seconds:5.1f}%"
        )
    print(f"\noperators by self time (of {total / 1e6:.1f} s)")
    ops = sorted((e for e in events if not e.key.startswith("decode.")), key=lambda e: -e.self_cpu_time_total)
    for e in ops[: args.top]:
        print(
            f"  {e.key:<40} {e.self_cpu_time_total / 1e6:8.2f} s  {100 * e.self_cpu_time_total / total:5.1f}%  x{e.count}"
        )
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
