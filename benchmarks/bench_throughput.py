"""Decode throughput side by side, in one run: self-consistency's sampled chains of thought.

The workload is ``sc``'s (k=8 samples, T=0.7, top-p 0.95, up to 256 new tokens) on ``--prompts``
held-out questions of each built-in family, on `embedded-reasoner`. Rows, each printed as
``NAME  X tokens/s  Y.Yx naive`` so that a script can read them:

- ``naive``: one ``generate`` call per sample (batch 1), as a script without fastslow would;
- ``hf-generate``: transformers ``generate`` at the same batch (``num_return_sequences=k``), counting
  each row's tokens up to its end-of-sequence;
- ``fastslow-reference``: fastslow's loop with transformers' top-p warper over the sorted vocabulary
  (the sampler before ``models/sampling.py``);
- ``fastslow``: the decode loop as it ships (float32);
- ``fastslow-bf16``: the same in bfloat16 (opt-in: ``--dtype bfloat16``);
- ``llama.cpp``: llama-cpp-python in-process, one sequence at a time (its high-level API decodes one
  sequence), on the embedded GGUF (Q4_1, the base model: it writes other chains; its tokens/s is the
  reference point, not its answers).

naive and llama.cpp run on the first ``--subset`` prompts of each family (they are slow), hf-generate
on the first ``--hf-prompts`` of each family (its calls hold 128 rows, fastslow's batch); tokens/s is
comparable since every row decodes the same kind of samples.

    python benchmarks/bench_throughput.py [--prompts 16] [--subset 1] [--hf-prompts 4]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from profile_decode import sc_requests  # noqa: E402

from fastslow.models.registry import load_model  # noqa: E402

K, TEMPERATURE, TOP_P, MAX_TOKENS = 8, 0.7, 0.95, 256


def fastslow_rate(model, requests, reference_sampler: bool = False) -> tuple[int, float]:
    model.reference_sampler = reference_sampler
    model.generate(requests[:1])  # warm up
    t0 = time.perf_counter()
    out = model.generate(requests)
    return sum(c.completion_tokens for c in out), time.perf_counter() - t0


def hf_generate_rate(model, requests, batch_size: int, naive: bool = False) -> tuple[int, float]:
    """transformers ``generate``: ``batch_size // k`` prompts (k samples each) a call, or (naive) one
    sample a call."""
    import torch

    tok, lm = model.tokenizer, model.model
    eos = set(model.eos_ids)
    prompts = [model.format_prompt(r) for r in requests]
    per_call = 1 if naive else max(1, batch_size // K)
    tokens, seconds = 0, 0.0
    for start in range(0, len(prompts), per_call):
        enc = tok(
            prompts[start : start + per_call], return_tensors="pt", padding=True, add_special_tokens=False
        )
        for _ in range(K if naive else 1):
            t0 = time.perf_counter()
            with torch.inference_mode():
                out = lm.generate(
                    **enc,
                    do_sample=True,
                    temperature=TEMPERATURE,
                    top_p=TOP_P,
                    top_k=0,
                    max_new_tokens=MAX_TOKENS,
                    num_return_sequences=1 if naive else K,
                    pad_token_id=tok.pad_token_id,
                )
            seconds += time.perf_counter() - t0
            for row in out[:, enc["input_ids"].shape[1] :].tolist():
                n = next((i + 1 for i, t in enumerate(row) if t in eos), len(row))
                tokens += n
    return tokens, seconds


def llama_cpp_rate(requests, threads: int) -> tuple[int, float]:
    from llama_cpp import Llama

    from fastslow.models.embedded import embedded_gguf_path

    llm = Llama(model_path=str(embedded_gguf_path()), n_ctx=1024, n_threads=threads, verbose=False, seed=0)
    tokens, seconds = 0, 0.0
    for i, r in enumerate(requests):
        for k in range(K):
            t0 = time.perf_counter()
            out = llm.create_chat_completion(
                messages=list(r.messages),  # its chat API cannot prefill the answer's first words
                temperature=TEMPERATURE,
                top_p=TOP_P,
                top_k=0,
                max_tokens=MAX_TOKENS,
                seed=1000 * i + k,
            )
            seconds += time.perf_counter() - t0
            tokens += out["usage"]["completion_tokens"]
    return tokens, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=16, help="questions of each family for fastslow's rows")
    ap.add_argument("--subset", type=int, default=1, help="questions of each family for naive and llama.cpp")
    ap.add_argument("--hf-prompts", type=int, default=4, help="questions of each family for hf-generate")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--skip", default="", help="comma-separated rows to leave out")
    args = ap.parse_args()

    import torch

    skip = set(filter(None, args.skip.split(",")))
    requests = sc_requests(args.prompts, K, MAX_TOKENS)
    subset = sc_requests(args.subset, K, MAX_TOKENS)
    hf_subset = sc_requests(args.hf_prompts, K, MAX_TOKENS)
    model = load_model("embedded-reasoner", batch_size=args.batch_size)
    rows: list[tuple[str, int, float, str]] = []

    def run(name: str, fn, note: str) -> None:
        if name in skip:
            return
        tokens, seconds = fn()
        rows.append((name, tokens, seconds, note))
        print(f"  ({name}: {tokens} tokens in {seconds:.1f} s)", flush=True)

    n_sub, n_all = len(subset) * K, len(requests) * K
    run("naive", lambda: hf_generate_rate(model, subset, 1, naive=True), f"{n_sub} samples, batch 1")
    n_hf = len(hf_subset) * K
    run("hf-generate", lambda: hf_generate_rate(model, hf_subset, args.batch_size), f"{n_hf} samples")
    run("fastslow-reference", lambda: fastslow_rate(model, requests, True), f"{n_all} samples")
    run("fastslow", lambda: fastslow_rate(model, requests), f"{n_all} samples, float32")
    if "fastslow-bf16" not in skip:
        bf16 = load_model("embedded-reasoner", batch_size=args.batch_size, dtype="bfloat16")
        run("fastslow-bf16", lambda: fastslow_rate(bf16, requests), f"{n_all} samples, bfloat16")
    run("llama.cpp", lambda: llama_cpp_rate(subset, torch.get_num_threads()), f"{n_sub} samples, Q4_1 base")

    print(
        f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; sc k={K}, T={TEMPERATURE}, "
        f"top-p {TOP_P}, <= {MAX_TOKENS} tokens, batch {args.batch_size}"
    )
    rates = {name: tokens / seconds for name, tokens, seconds, _ in rows}
    base = rates.get("naive")
    for name, _, _, note in rows:
        ratio = f"{rates[name] / base:5.1f}x naive" if base else ""
        print(f"{name:<22} {rates[name]:7.1f} tokens/s  {ratio}  ({note})")


if __name__ == "__main__":
    main()
