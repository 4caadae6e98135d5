"""Strategies: how a model is asked to answer one example.

A strategy is written as a *program*: a generator that yields a list of ``Request`` objects,
receives their ``Completion`` objects back, and finally returns a ``Trace``::

    def program(self, example, task, prefill):
        [c] = yield [Request(messages=[{"role": "user", "content": example.question}])]
        return Trace(answer=task.extract(c.texts[0], example), final_text=c.texts[0], steps=[...])

``run_batch`` drives the programs of many examples in lockstep and sends every request that is
pending at one moment to the model in one ``generate`` call, so even multi-step strategies are
batched across examples. It also does the cost accounting (calls, tokens, seconds), so no
strategy can forget it.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from fastslow.models.base import Completion, Message, Model, Request
from fastslow.tasks.base import Example, Task


@dataclass
class Step:
    """One stage of a strategy: what was asked and what came back."""

    name: str
    messages: list[Message]
    outputs: list[str]
    prefill: str = ""


@dataclass
class Trace:
    """The result of a strategy on one example, with its full cost.

    ``calls`` counts model generations (a request for k samples counts k), ``prompt_tokens`` the
    prompt tokens of every request, ``completion_tokens`` every generated token, ``seconds`` the
    model time; ``cached`` says how many of the generations came from the cache.
    """

    answer: str | None
    final_text: str
    steps: list[Step] = field(default_factory=list)
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cached: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trace:
        d = dict(d)
        d["steps"] = [Step(**s) for s in d.get("steps", [])]
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})


Program = Generator[list[Request], list[Completion], Trace]


@dataclass
class Strategy:
    """Base class: subclasses are dataclasses whose fields are the strategy's parameters."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    cost: ClassVar[str] = "1"  # model calls per example, as a formula of the parameters
    citation: ClassVar[str] = ""

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        raise NotImplementedError

    def run(self, model: Model, example: Example, task: Task) -> Trace:
        return run_batch(self, model, [example], task)[0]


def run_batch(strategy: Strategy, model: Model, examples: list[Example], task: Task) -> list[Trace]:
    """Run ``strategy`` on every example, batching all requests pending at once into one call."""
    programs = [strategy.program(ex, task, model.supports_prefill) for ex in examples]
    traces: list[Trace | None] = [None] * len(examples)
    costs = [Trace(answer=None, final_text="") for _ in examples]  # accumulators
    pending: dict[int, list[Request]] = {}

    def advance(i: int, sent: list[Completion] | None) -> None:
        try:
            reqs = programs[i].send(sent) if sent is not None else next(programs[i])
        except StopIteration as stop:
            trace: Trace = stop.value
            c = costs[i]
            trace.calls, trace.prompt_tokens, trace.completion_tokens = (
                c.calls,
                c.prompt_tokens,
                c.completion_tokens,
            )
            trace.seconds, trace.cached = c.seconds, c.cached
            traces[i] = trace
            pending.pop(i, None)
            return
        if not reqs:
            raise RuntimeError(f"strategy {strategy.name!r} yielded an empty request list")
        pending[i] = list(reqs)

    for i in range(len(examples)):
        advance(i, None)
    while pending:
        order = sorted(pending)
        flat = [r for i in order for r in pending[i]]
        outs = model.generate(flat)
        pos = 0
        for i in order:
            reqs = pending[i]
            got = outs[pos : pos + len(reqs)]
            pos += len(reqs)
            c = costs[i]
            for r, o in zip(reqs, got):
                c.calls += r.n
                c.prompt_tokens += o.prompt_tokens
                c.completion_tokens += o.completion_tokens
                c.seconds += o.seconds
                c.cached += o.cached
            advance(i, got)
    return [t for t in traces if t is not None]


def user(content: str) -> Message:
    return {"role": "user", "content": content}


def assistant(content: str) -> Message:
    return {"role": "assistant", "content": content}
