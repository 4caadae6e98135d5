"""The transformers backend: batched, seeded generation on a local causal LM.

Requests are expanded into one row per sample; rows that share sampling settings are decoded
together in batches with left padding, and the ``n`` samples of one prompt sit side by side in a
batch. On a CPU this is the main lever: ``benchmarks/bench_sampling.py`` measures it against one
``generate`` call per sample.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastslow.models.base import Completion, Request, truncate_at_stop


@dataclass
class _Row:
    request_index: int
    sample_index: int
    prompt: str


class HFModel:
    """A transformers causal LM with a chat template.

    ``batch_size`` bounds the rows decoded at once. Sampling is seeded per batch from the requests'
    seeds, so the same list of requests gives the same texts; ``temperature == 0`` is greedy.
    """

    supports_prefill = True

    def __init__(
        self, path: str | Path, name: str | None = None, batch_size: int = 32, dtype: str = "float32"
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        self.path = Path(path)
        self.name = name or f"hf:{self.path}"
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(self.path, dtype=getattr(torch, dtype))
        self.model.eval()
        self.eos_ids = _eos_ids(self.model, self.tokenizer)

    # -- prompt formatting -------------------------------------------------------------------
    def format_prompt(self, request: Request) -> str:
        """The chat-templated prompt text, with the assistant turn opened (and prefilled)."""
        text = self.tokenizer.apply_chat_template(
            list(request.messages), tokenize=False, add_generation_prompt=True
        )
        return text + request.prefill

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    # -- generation --------------------------------------------------------------------------
    def generate(self, requests: list[Request]) -> list[Completion]:
        groups: dict[tuple, list[int]] = defaultdict(list)
        for i, r in enumerate(requests):
            groups[(r.temperature, r.top_p, r.max_tokens, r.stop, r.logprobs)].append(i)

        texts: dict[tuple[int, int], tuple[str, int, str, float | None]] = {}
        prompt_tokens = [0] * len(requests)
        seconds = [0.0] * len(requests)
        for indices in groups.values():
            rows = []
            for i in indices:
                prompt = self.format_prompt(requests[i])
                prompt_tokens[i] = self.count_tokens(prompt)
                rows.extend(_Row(i, k, prompt) for k in range(requests[i].n))
            # Similar lengths together waste less padding; samples of one prompt stay adjacent.
            rows.sort(key=lambda row: (prompt_tokens[row.request_index], row.request_index, row.sample_index))
            for start in range(0, len(rows), self.batch_size):
                batch = rows[start : start + self.batch_size]
                t0 = time.perf_counter()
                outs = self._generate_rows(batch, requests[batch[0].request_index])
                share = (time.perf_counter() - t0) / len(batch)
                for row, out in zip(batch, outs):
                    texts[(row.request_index, row.sample_index)] = out
                    seconds[row.request_index] += share

        completions = []
        for i, r in enumerate(requests):
            samples = [texts[(i, k)] for k in range(r.n)]
            completions.append(
                Completion(
                    texts=[s[0] for s in samples],
                    prompt_tokens=prompt_tokens[i],
                    completion_tokens=sum(s[1] for s in samples),
                    seconds=seconds[i],
                    finish_reasons=[s[2] for s in samples],
                    sample_tokens=[s[1] for s in samples],
                    logprobs=[s[3] for s in samples],
                )
            )
        return completions

    def _generate_rows(self, rows: list[_Row], settings: Request) -> list[tuple[str, int, str, float | None]]:
        import torch

        enc = self.tokenizer(
            [row.prompt for row in rows], return_tensors="pt", padding=True, add_special_tokens=False
        )
        kwargs: dict[str, Any] = dict(
            max_new_tokens=settings.max_tokens,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.eos_ids,
            return_dict_in_generate=True,
            output_logits=settings.logprobs,
        )
        if settings.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(do_sample=True, temperature=settings.temperature, top_p=settings.top_p, top_k=0)
        if settings.stop:
            kwargs.update(stop_strings=list(settings.stop), tokenizer=self.tokenizer)
        # One seed per batch, derived from its rows: the same requests give the same samples.
        seed = hash((settings.seed, rows[0].request_index, rows[0].sample_index, len(rows))) % (2**31)
        torch.manual_seed(seed)
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        new_tokens = out.sequences[:, enc["input_ids"].shape[1] :]
        logprob_rows = None
        if settings.logprobs:
            logits = torch.stack(out.logits, dim=1).float()  # rows x steps x vocab (raw, unwarped)
            logprob_rows = torch.log_softmax(logits, dim=-1).gather(-1, new_tokens.unsqueeze(-1)).squeeze(-1)

        results = []
        eos = set(self.eos_ids)
        for r, seq in enumerate(new_tokens.tolist()):
            length = len(seq)
            finish = "length"
            for j, tok in enumerate(seq):
                if tok in eos:
                    length, finish = j + 1, "stop"
                    break
            content = [t for t in seq[:length] if t not in eos]
            text = self.tokenizer.decode(content, skip_special_tokens=True)
            text, stopped = truncate_at_stop(text, settings.stop)
            if stopped:
                finish = "stop"
            lp = float(logprob_rows[r, :length].sum()) if logprob_rows is not None else None
            results.append((text, length, finish, lp))
        return results


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids = model.generation_config.eos_token_id
    ids = [ids] if isinstance(ids, int) else list(ids or [])
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(im_end, int) and im_end != tokenizer.unk_token_id and im_end not in ids:
        ids.append(im_end)
    return ids
