"""A Model wrapper that answers from the SQLite generation cache (``fastslow/store.py``) first.

Only the samples the cache lacks go to the wrapped model, in one batched call; what comes back is
stored in one transaction before it is returned. ``hits`` and ``misses`` count samples, so a
workflow can say how much of its work came from the cache.
"""

from __future__ import annotations

from dataclasses import replace

from fastslow.models.base import Completion, Model, Request
from fastslow.models.identity import model_identity
from fastslow.store import CachedSample, Store, generation_key


def request_payload(r: Request) -> dict:
    return {
        "messages": list(r.messages),
        "prefill": r.prefill,
        "max_tokens": r.max_tokens,
        "temperature": r.temperature,
        "top_p": r.top_p,
        "stop": list(r.stop),
        "seed": r.seed,
        "logprobs": r.logprobs,
    }


class CachedModel:
    def __init__(self, model: Model, store: Store):
        self.inner = model
        self.store = store
        self.name = model.name
        self.supports_prefill = model.supports_prefill
        self.hits = 0
        self.misses = 0

    @property
    def batch_size(self) -> int | None:
        """Rows the wrapped model decodes at once (None for a model without a batch size)."""
        return getattr(self.inner, "batch_size", None)

    @property
    def identity(self) -> str:
        """The wrapped model's identity (its weights' digest where it has one)."""
        return model_identity(self.inner)

    def generate(self, requests: list[Request]) -> list[Completion]:
        keys = [[generation_key(self.name, request_payload(r), k) for k in range(r.n)] for r in requests]
        found = self.store.get_many([k for ks in keys for k in ks])

        todo: list[tuple[int, list[int]]] = []  # (request index, missing sample indices)
        for i, ks in enumerate(keys):
            missing = [k for k, key in enumerate(ks) if key not in found]
            if missing:
                todo.append((i, missing))
        if todo:
            sub = [
                replace(requests[i], n=len(missing), seed=requests[i].seed + missing[0])
                for i, missing in todo
            ]
            outs = self.inner.generate(sub)
            new: list[tuple[str, CachedSample]] = []
            for (i, missing), out in zip(todo, outs):
                per_sample_seconds = out.seconds / max(1, len(missing))
                for j, k in enumerate(missing):
                    sample = CachedSample(
                        text=out.texts[j],
                        prompt_tokens=out.prompt_tokens,
                        completion_tokens=out.sample_tokens[j] if out.sample_tokens else 0,
                        seconds=per_sample_seconds,
                        finish_reason=out.finish_reasons[j],
                        logprob=out.logprobs[j] if out.logprobs else None,
                    )
                    new.append((keys[i][k], sample))
            self.store.put_many(self.name, new)
            found.update(new)
            self.misses += sum(len(m) for _, m in todo)

        completions = []
        missed = {i: set(m) for i, m in todo}
        for i, (r, ks) in enumerate(zip(requests, keys)):
            samples = [found[key] for key in ks]
            n_cached = r.n - len(missed.get(i, ()))
            self.hits += n_cached
            completions.append(
                Completion(
                    texts=[s.text for s in samples],
                    prompt_tokens=samples[0].prompt_tokens,
                    completion_tokens=sum(s.completion_tokens for s in samples),
                    seconds=sum(s.seconds for s in samples),
                    finish_reasons=[s.finish_reason for s in samples],
                    sample_tokens=[s.completion_tokens for s in samples],
                    logprobs=[s.logprob for s in samples],
                    cached=n_cached,
                )
            )
        return completions
