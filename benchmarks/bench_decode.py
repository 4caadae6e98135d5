"""Sampled chains of thought on the embedded model: our decode loop, which drops finished rows from
the batch, against transformers' ``generate``, which keeps every row until the longest one ends.

Both decode the same rows (P prompts x K samples, the ``cot`` prompt of held-out arithmetic
questions, T=0.8, top-p 0.95, the same token cap) in the same batches of up to ``--batch-size`` rows,
one after the other in this run. Samples differ between the two (different random streams), so the
script prints generated tokens per second for each, and their ratio.

    python benchmarks/bench_decode.py [--prompts 16] [--k 8] [--max-tokens 128]
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


def generate_full_width(hf, prompts: list[str], args) -> int:
    """transformers' generate on the same batches: rows stay until the longest one stops."""
    import torch

    tokens = 0
    eos = set(hf.eos_ids)
    for start in range(0, len(prompts), args.batch_size):
        batch = prompts[start : start + args.batch_size]
        enc = hf.tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False)
        torch.manual_seed(start)
        with torch.inference_mode():
            out = hf.model.generate(
                **enc,
                max_new_tokens=args.max_tokens,
                do_sample=True,
                temperature=0.8,
                top_p=0.95,
                top_k=0,
                eos_token_id=hf.eos_ids,
                pad_token_id=hf.tokenizer.pad_token_id,
            )
        for seq in out[:, enc["input_ids"].shape[1] :].tolist():
            n = next((j + 1 for j, t in enumerate(seq) if t in eos), len(seq))
            tokens += n
    return tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()

    import torch

    hf = load_model("embedded", batch_size=args.batch_size)
    task = load_task("arithmetic", limit=args.prompts, split="test", knobs={"steps": "2"})
    messages = [cot_messages(ex, task, False, [])[0] for ex in task.examples]
    requests = [
        Request(m, n=args.k, temperature=0.8, top_p=0.95, max_tokens=args.max_tokens, seed=i)
        for i, m in enumerate(messages)
    ]
    prompts = [hf.format_prompt(r) for r in requests for _ in range(args.k)]
    hf.generate([Request([{"role": "user", "content": "warm up"}], max_tokens=4)])

    t0 = time.perf_counter()
    ours = hf.generate(requests)
    t_ours = time.perf_counter() - t0
    tok_ours = sum(c.completion_tokens for c in ours)
    capped = sum(f == "length" for c in ours for f in c.finish_reasons)

    t0 = time.perf_counter()
    tok_full = generate_full_width(hf, prompts, args)
    t_full = time.perf_counter() - t0

    rate_o, rate_f = tok_ours / t_ours, tok_full / t_full
    rows = args.prompts * args.k
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(
        f"{rows} rows ({args.prompts} prompts x {args.k} samples), batches of {args.batch_size}, "
        f"cap {args.max_tokens} tokens"
    )
    print(
        f"decode loop (drops finished rows): {tok_ours} tokens in {t_ours:.1f} s = {rate_o:.1f} tokens/s "
        f"({tok_ours / rows:.0f} per row, {capped} rows hit the cap)"
    )
    print(f"transformers generate (full width): {tok_full} tokens in {t_full:.1f} s = {rate_f:.1f} tokens/s")
    print(
        f"ratio: decode loop / generate = {rate_o / rate_f:.2f}x tokens/s, {t_full / t_ours:.2f}x wall time"
    )


if __name__ == "__main__":
    main()
