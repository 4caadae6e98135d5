"""The transformers backend: batched, seeded generation on a local causal LM.

Requests are expanded into one row per sample; rows that share sampling settings are decoded
together in batches with left padding, and the ``n`` samples of one prompt sit side by side in a
batch, sharing one pass over the prompt. On a CPU this is the main lever:
``benchmarks/bench_sampling.py`` measures it against one ``generate`` call per sample. The decode
loop (``decode.py``) drops each row from the batch as soon as it stops, so a batch no longer runs
at full width until its longest row ends.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from fastslow.models.base import Completion, Request, truncate_at_stop


@dataclass
class _Row:
    request_index: int
    sample_index: int
    prompt: str


# The prompt format of a model whose tokenizer has no chat template (a base model): each message on
# its own lines, "User:"/"Assistant:" turns, the assistant's turn opened (and prefilled) last. The
# model stops when it starts a new "User:" turn by itself.
PLAIN_ROLES = {"system": "", "user": "User: ", "assistant": "Assistant: "}
PLAIN_STOPS = ("\nUser:",)


def plain_prompt(messages: list[dict[str, str]] | tuple[dict[str, str], ...], bos: str | None = None) -> str:
    """The plain prompt of ``messages`` (see PLAIN_ROLES), ending with an open "Assistant:" turn."""
    parts = [
        f"{PLAIN_ROLES.get(m['role'], m['role'].title() + ': ')}{m['content'].strip()}" for m in messages
    ]
    return (bos or "") + "\n\n".join(parts) + "\n\nAssistant:"


class HFModel:
    """A transformers causal LM; its chat template formats the prompt, or, for a model without one
    (a base model), the plain format above.

    ``batch_size`` bounds the rows decoded at once. Sampling is seeded per batch from the requests'
    seeds, so the same list of requests gives the same texts; ``temperature == 0`` is greedy.
    ``device`` defaults to the GPU when torch sees one, else the CPU (the numbers differ a little
    between the two, so a cache entry made on one may differ from a fresh run on the other).
    """

    supports_prefill = True

    def __init__(
        self,
        path: str | Path,
        name: str | None = None,
        batch_size: int = 32,
        dtype: str = "float32",
        device: str | None = None,
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        self.path = Path(path)
        # A lower precision gives other samples: another name, so the generation cache keeps them apart.
        self.name = (name or f"hf:{self.path}") + ("" if dtype == "float32" else f"@{dtype}")
        self.dtype = dtype
        self.batch_size = batch_size
        self.reference_sampler = False  # transformers' top-p warper (benchmarks/bench_throughput.py)
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(self.path, dtype=getattr(torch, dtype))
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model.to(self.device).eval()
        self.eos_ids = _eos_ids(self.model, self.tokenizer)
        self.plain = not getattr(self.tokenizer, "chat_template", None)
        self.implicit_stops = PLAIN_STOPS if self.plain else ()
        self._identity: str | None = None

    @property
    def identity(self) -> str:
        """The name and a digest of the weight files: tells two models apart behind one spec."""
        if self._identity is None:
            from fastslow.models.identity import weights_digest

            self._identity = f"{self.name}@{weights_digest(self.path)}"
        return self._identity

    # -- prompt formatting -------------------------------------------------------------------
    def format_prompt(self, request: Request) -> str:
        """The chat-templated prompt text, with the assistant turn opened (and prefilled)."""
        if self.plain:
            return plain_prompt(request.messages, self.tokenizer.bos_token) + (
                " " + request.prefill if request.prefill else ""
            )
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

    def stream(
        self,
        request: Request,
        on_text: Callable[[str], None],
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Completion:
        """One sample of ``request``, its text handed to ``on_text`` piece by piece as it is decoded
        (the pieces join to the completion's text); ``cancelled()`` true ends the decoding early.

        Text that could still be the start of a stop string, or an unfinished multi-byte character,
        is held back until the next tokens settle it.
        """
        if request.n != 1:
            raise ValueError("stream() draws one sample; use generate() for n > 1")
        stops = [*request.stop, *self.implicit_stops]
        hold = max((len(s) for s in stops), default=1) - 1
        eos = set(self.eos_ids)
        sent = 0

        def watch(tokens: list[int]) -> bool:
            nonlocal sent
            text = self.tokenizer.decode([t for t in tokens if t not in eos], skip_special_tokens=True)
            text, hit = truncate_at_stop(text, stops)
            safe = len(text) if hit else len(text) - hold
            while safe > sent and text[safe - 1] == "\ufffd":  # a character still being decoded
                safe -= 1
            if safe > sent:
                on_text(text[sent:safe])
                sent = safe
            return cancelled()

        prompt = self.format_prompt(request)
        t0 = time.perf_counter()
        [(text, tokens, reason, logprob)] = self._generate_rows([_Row(0, 0, prompt)], request, watch=watch)
        if len(text) > sent:
            on_text(text[sent:])
        return Completion(
            texts=[text],
            prompt_tokens=self.count_tokens(prompt),
            completion_tokens=tokens,
            seconds=time.perf_counter() - t0,
            finish_reasons=[reason],
            sample_tokens=[tokens],
            logprobs=[logprob],
        )

    def _generate_rows(
        self,
        rows: list[_Row],
        settings: Request,
        watch: Callable[[list[int]], bool] | None = None,
    ) -> list[tuple[str, int, str, float | None]]:
        """``watch(tokens)``, when given, sees every row's tokens after each step and ends the row
        when it returns True (streaming, cancellation)."""
        from fastslow.models.decode import decode

        # The samples of one request sit side by side: its prompt is run once and shared.
        groups = [list(g) for _, g in groupby(rows, key=lambda row: row.request_index)]
        prompts, repeats = [g[0].prompt for g in groups], [len(g) for g in groups]
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        stops = [*settings.stop, *self.implicit_stops]
        # A row stops at the first stop string, so only the newest tokens can complete one: decode a
        # tail window (every token is at least one character) instead of the whole row each step.
        window = 2 * max((len(s) for s in stops), default=0) + 4

        def hit_stop(tokens: list[int]) -> bool:
            if not stops:
                return False
            text = self.tokenizer.decode(tokens[-window:], skip_special_tokens=True)
            return any(s in text for s in stops)

        # One seed per batch, derived from its rows: the same requests give the same samples.
        seed = hash((settings.seed, rows[0].request_index, rows[0].sample_index, len(rows))) % (2**31)
        decoded = decode(
            self.model,
            enc["input_ids"].to(self.device),
            enc["attention_mask"].to(self.device),
            max_new_tokens=settings.max_tokens,
            eos_ids=self.eos_ids,
            temperature=settings.temperature,
            top_p=settings.top_p,
            seed=seed,
            logprobs=settings.logprobs,
            stop=(lambda t: hit_stop(t) or watch(t)) if watch else (hit_stop if stops else None),
            repeats=repeats,
            reference_sampler=self.reference_sampler,
        )
        results = []
        eos = set(self.eos_ids)
        for d in decoded:
            content = [t for t in d.tokens if t not in eos]
            text = self.tokenizer.decode(content, skip_special_tokens=True)
            text, _ = truncate_at_stop(text, stops)
            results.append((text, len(d.tokens), "stop" if d.stopped else "length", d.logprob))
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
