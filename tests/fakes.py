"""A scripted Model for testing control flow and exact prompts (never evidence that a model works)."""

from __future__ import annotations

from collections.abc import Callable

from fastslow.models.base import Completion, Request


class ScriptedModel:
    """Answers each request with ``respond(request, sample_index)`` and records every request.

    ``respond`` may also be a list of strings, consumed in order (one per sample). ``logprob(request,
    sample_index)``, if given, is each sample's summed log-probability (else the backend gives none).
    """

    def __init__(
        self,
        respond: Callable[[Request, int], str] | list[str],
        supports_prefill: bool = True,
        name: str = "scripted",
        logprob: Callable[[Request, int], float] | None = None,
    ):
        self.logprob = logprob
        self.respond = respond
        self.supports_prefill = supports_prefill
        self.name = name
        self.requests: list[Request] = []
        self.generate_calls = 0

    def generate(self, requests: list[Request]) -> list[Completion]:
        self.generate_calls += 1
        out = []
        for r in requests:
            self.requests.append(r)
            texts = []
            for k in range(r.n):
                if callable(self.respond):
                    texts.append(self.respond(r, k))
                else:
                    if not self.respond:
                        raise AssertionError(f"ScriptedModel ran out of responses at {r.messages[-1]}")
                    texts.append(self.respond.pop(0))
            toks = [len(t.split()) for t in texts]
            out.append(
                Completion(
                    texts=texts,
                    prompt_tokens=sum(len(m["content"].split()) for m in r.messages),
                    completion_tokens=sum(toks),
                    seconds=0.001 * r.n,
                    finish_reasons=["stop"] * r.n,
                    sample_tokens=toks,
                    logprobs=[self.logprob(r, k) if self.logprob else None for k in range(r.n)],
                )
            )
        return out
