"""A decode loop that drops finished rows from the batch.

``transformers``' ``generate`` keeps every row of a batch until the longest one stops: a batch of
32 samples whose answers end after ~40 tokens but where one sample rambles to a 128-token cap pays
for 32 rows over all 128 steps. Sampled reasoning has exactly this shape. Here a row leaves the
batch (and its slice of the KV cache, ``Cache.batch_select_indices``) as soon as it emits an
end-of-sequence token or one of the stop strings, so each step costs only the rows still running.
``benchmarks/bench_sampling.py`` measures it against ``generate``.

Samples of one prompt share its prefill: with ``repeats``, each prompt row is run through the model
once and its KV cache copied to one row per sample (``Cache.batch_select_indices`` with repeated
indices), instead of computing the same prompt K times. On a CPU the prompt pass of a batch of 32
sampled rows was about a tenth of the batch's time.

Sampling draws from the same distribution as ``generate(do_sample=True, temperature=T, top_p=p,
top_k=0)`` (transformers' temperature and top-p warpers, then a multinomial draw), without sorting
the vocabulary (``sampling.py``), from a seeded generator. ``temperature <= 0`` is greedy.
Log-probabilities are taken from the raw (unwarped) logits, as ``generate(output_logits=True)``
reports them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Decoded:
    """One row's generated tokens (the end-of-sequence token included when it stopped on one)."""

    tokens: list[int]
    logprob: float | None  # summed over ``tokens``; None unless asked for
    stopped: bool  # on an end-of-sequence token or a stop string (else: the length cap)


def decode(
    model: Any,
    input_ids: Any,
    attention_mask: Any,
    max_new_tokens: int,
    eos_ids: list[int],
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int = 0,
    logprobs: bool = False,
    stop: Callable[[list[int]], bool] | None = None,
    repeats: list[int] | None = None,
    reference_sampler: bool = False,
) -> list[Decoded]:
    """Generate up to ``max_new_tokens`` for each row of a left-padded batch.

    ``stop(tokens)`` is asked after every new token of a row (its generated tokens so far) and
    ends that row when it returns True. ``repeats[i]`` (default 1) is how many rows prompt row ``i``
    becomes after its prompt pass: the result has ``sum(repeats)`` rows, each prompt's copies side
    by side, each copy sampled on its own. ``reference_sampler`` samples with transformers' top-p
    warper over the sorted vocabulary, as before ``sampling.py`` (``benchmarks/bench_throughput.py``
    compares the two).
    """
    import torch
    from torch.profiler import record_function as stage  # labels for benchmarks/profile_decode.py

    from fastslow.models.sampling import nucleus_reference, sample_next

    greedy = temperature <= 0.0
    generator = torch.Generator(device=input_ids.device).manual_seed(seed)
    # transformers 5.x renamed forward's ``past_key_values`` to ``cache``; take whichever it has.
    cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    eos = torch.tensor(eos_ids, device=input_ids.device)

    if repeats is not None and (len(repeats) != input_ids.shape[0] or min(repeats) < 1):
        raise ValueError(f"repeats must give a count >= 1 for each of {input_ids.shape[0]} prompt rows")
    rows = sum(repeats) if repeats is not None else input_ids.shape[0]
    out_tokens: list[list[int]] = [[] for _ in range(rows)]
    out_logprob = [0.0] * rows
    stopped = [False] * rows
    active = list(range(rows))  # original indices of the rows still in the batch
    mask = attention_mask
    positions = (mask.long().cumsum(-1) - 1).clamp_min(0)  # left padding: count real tokens only
    with torch.inference_mode():
        with stage("decode.prefill"):
            out = model(
                input_ids=input_ids,
                attention_mask=mask,
                position_ids=positions,
                use_cache=True,
                logits_to_keep=1,
            )
            cache = getattr(out, cache_arg)
            next_position = positions[:, -1] + 1
            last_logits = out.logits[:, -1, :]
            if rows != input_ids.shape[0]:  # one row per sample from here on: copy each prompt's state
                index = torch.repeat_interleave(torch.tensor(repeats, device=input_ids.device))  # [0, 0, 1..]
                cache.batch_select_indices(index)
                mask, next_position, last_logits = mask[index], next_position[index], last_logits[index]
        for step in range(max_new_tokens):
            with stage("decode.sample"):
                logits = last_logits.float()
                if greedy:
                    chosen = logits.argmax(dim=-1)
                elif reference_sampler:
                    chosen = nucleus_reference(logits / temperature, top_p, generator)
                else:
                    chosen = sample_next(logits, temperature, top_p, generator)
                if logprobs:  # log-softmax at the chosen token only
                    norm = torch.logsumexp(logits, dim=-1)
                    picked = (logits.gather(1, chosen[:, None]).squeeze(1) - norm).tolist()
                is_eos = torch.isin(chosen, eos).tolist()
                tokens = chosen.tolist()
            with stage("decode.stop"):
                keep = []
                for j, (row, token) in enumerate(zip(active, tokens)):
                    out_tokens[row].append(token)
                    if logprobs:
                        out_logprob[row] += picked[j]
                    if is_eos[j] or (stop is not None and stop(out_tokens[row])):
                        stopped[row] = True
                    else:
                        keep.append(j)
            if not keep or step == max_new_tokens - 1:
                break
            with stage("decode.select"):
                if len(keep) < len(active):
                    index = torch.tensor(keep, device=input_ids.device)
                    cache.batch_select_indices(index)
                    mask, next_position, chosen = mask[index], next_position[index], chosen[index]
                    active = [active[j] for j in keep]
                mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=1)
            with stage("decode.forward"):
                out = model(
                    input_ids=chosen[:, None],
                    attention_mask=mask,
                    position_ids=next_position[:, None],
                    use_cache=True,
                    **{cache_arg: cache},
                )
                last_logits = out.logits[:, -1, :]
            next_position = next_position + 1
    return [Decoded(out_tokens[r], out_logprob[r] if logprobs else None, stopped[r]) for r in range(rows)]
