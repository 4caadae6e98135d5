"""The Model protocol: batched generation over chat messages.

Every backend (transformers, OpenAI-compatible servers, ...) implements ``generate`` over a list of
``Request`` objects and returns one ``Completion`` per request, in order. Batching is the lever on a
CPU: strategies hand the backend every request they can at once (see ``strategies/base.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}


@dataclass(frozen=True)
class Request:
    """One prompt and how to sample from it.

    ``prefill`` starts the assistant's turn with the given text (for example "The answer is") on
    backends that allow it (``Model.supports_prefill``); the completion texts exclude it.
    ``n`` samples are drawn; with ``temperature == 0`` decoding is greedy. ``final`` marks the
    request whose text (after its prefill) begins the strategy's final answer text: the reasoning
    proxy streams that call to its client as it is generated (never part of a cache key).
    """

    messages: tuple[Message, ...] | list[Message]
    n: int = 1
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int = 0
    prefill: str = ""
    logprobs: bool = False
    final: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "messages", tuple(dict(m) for m in self.messages))
        object.__setattr__(self, "stop", tuple(self.stop))
        if self.n < 1:
            raise ValueError(f"Request.n must be >= 1, got {self.n}")
        if self.max_tokens < 1:
            raise ValueError(f"Request.max_tokens must be >= 1, got {self.max_tokens}")

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


@dataclass
class Completion:
    """The samples drawn for one Request, with their cost.

    ``prompt_tokens`` counts the prompt once per generation that had to process it; ``completion_tokens``
    is the total over all samples; ``seconds`` is the time spent on this request: its share of a
    batch on local backends, its wall-clock latency (queueing and retries included) on HTTP backends,
    where requests overlap and their seconds do not add up to elapsed time. ``cached`` counts the samples served from the generation cache (they cost no model time
    now; tokens and seconds still report what they cost when generated).
    ``logprobs`` holds each sample's summed token log-probability where the backend gives it.
    """

    texts: list[str]
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reasons: list[str]
    sample_tokens: list[int] = field(default_factory=list)
    logprobs: list[float | None] = field(default_factory=list)
    cached: int = 0


@runtime_checkable
class Model(Protocol):
    """Anything that turns requests into completions, in a batch."""

    name: str  # a stable identifier: part of every generation-cache key
    supports_prefill: bool

    def generate(self, requests: list[Request]) -> list[Completion]: ...


def truncate_at_stop(text: str, stop: tuple[str, ...] | list[str]) -> tuple[str, bool]:
    """Cut ``text`` at the first stop string; return the text and whether a stop string was found."""
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut], cut < len(text)
