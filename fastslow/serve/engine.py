"""One chat request answered by a strategy (or passed through), with its usage and its stream.

The conversation reaches the model as messages: every request a strategy makes about the last
user turn is sent after the conversation's earlier messages (system prompt and history kept, never
flattened into one string). The strategy works on the last user message as its question.

Usage sums every upstream call: prompt and completion tokens, and as ``reasoning_tokens`` the
completion tokens of every call that is not the final answer's (the final call's own tokens, per
sample when it drew several).

Streaming: a strategy marks the request whose text begins its answer (``Request.final``); that call
is streamed to the client as the upstream produces it (its prefill first). Text the strategy adds
after it (cot's extraction call when the chain named no answer) follows as one more delta. A
strategy with no such call (sc's vote, refine's last version) sends its answer when it is known.
Earlier stages go out as ``reasoning`` deltas, one per call, when the client asked for them.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from fastslow.errors import FastslowError
from fastslow.models.base import Completion, Message, Request
from fastslow.strategies.registry import STRATEGIES, make_strategies, parameters
from fastslow.tasks.base import Example, Task

PASSTHROUGH = "none"  # the method name that sends the conversation upstream unchanged
SAMPLING = ("temperature", "top_p", "max_tokens", "seed")


@dataclass
class Plan:
    """What to do with one request: the method (``none``: pass through), its ``--param`` style
    parameters, and the client's sampling settings."""

    method: str
    params: list[str] = field(default_factory=list)
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    seed: int | None = None
    include_reasoning: bool = False


@dataclass
class Outcome:
    text: str
    finish_reason: str
    reasoning: list[str]
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    calls: int
    path: str | None = None


def check_method(method: str) -> None:
    if method != PASSTHROUGH and method not in STRATEGIES:
        raise FastslowError(f"unknown method {method!r}; known: {PASSTHROUGH}, {', '.join(STRATEGIES)}")


def strategy_params(plan: Plan) -> list[str]:
    """The plan's parameters, with the client's sampling settings for those the method has (a
    parameter given explicitly wins)."""
    given = {p.partition("=")[0].rpartition(".")[2] for p in plan.params}
    have = parameters(STRATEGIES[plan.method])
    extra = [
        f"{plan.method}.{key}={getattr(plan, key)}"
        for key in SAMPLING
        if getattr(plan, key) is not None and key in have and key not in given
    ]
    return [*plan.params, *extra]


class _Upstream:
    """The model as a strategy sees it: the conversation's history before every request, every call
    recorded, the final call streamed."""

    def __init__(
        self,
        model: Any,
        history: list[Message],
        lock: Any,
        on_text: Callable[[str], None] | None,
        on_reasoning: Callable[[str], None] | None,
        cancelled: Callable[[], bool],
    ):
        self.model, self.history, self.lock = model, history, lock
        self.name, self.supports_prefill = model.name, model.supports_prefill
        self.on_text, self.on_reasoning, self.cancelled = on_text, on_reasoning, cancelled
        self.calls: list[tuple[Request, Completion]] = []
        self.final_call: int | None = None
        self.streamed = ""

    def generate(self, requests: list[Request]) -> list[Completion]:
        if self.cancelled():
            raise FastslowError("the request was cancelled")
        sent = [dataclasses.replace(r, messages=[*self.history, *r.messages]) for r in requests]
        stream = self.on_text is not None and hasattr(self.model, "stream")
        if stream and len(sent) == 1 and sent[0].n == 1 and sent[0].final:
            if self.streamed:  # a second final call: its text is not a continuation of the first
                self.on_text = None
                return self.generate(requests)
            self.final_call = len(self.calls)
            r = sent[0]

            def emit(delta: str) -> None:
                self.streamed += delta
                self.on_text(delta)  # type: ignore[misc]

            if r.prefill:
                emit(r.prefill)
            with self.lock:
                c = self.model.stream(r, emit, self.cancelled)
            outs = [c]
        else:
            with self.lock:
                outs = self.model.generate(sent)
            if self.on_reasoning is not None:
                for r, c in zip(sent, outs):
                    for t in c.texts:
                        self.on_reasoning(r.prefill + t)
        self.calls.extend(zip(sent, outs))
        return outs


def _last_user(messages: list[Message]) -> tuple[list[Message], str]:
    if not messages or messages[-1]["role"] != "user":
        raise FastslowError("the last message must be the user's: a strategy answers the last user turn")
    return messages[:-1], messages[-1]["content"]


def _tokens(c: Completion) -> int:
    """One sample's completion tokens (the mean when the call drew several)."""
    return round(c.completion_tokens / max(1, len(c.texts)))


def answer(
    model: Any,
    messages: list[Message],
    plan: Plan,
    lock: Any = None,
    on_text: Callable[[str], None] | None = None,
    on_reasoning: Callable[[str], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Outcome:
    """Answer the conversation as ``plan`` says; stream through ``on_text`` when given."""
    lock = lock or nullcontext()
    if plan.method == PASSTHROUGH:
        request = Request(
            messages,
            max_tokens=plan.max_tokens or 512,
            temperature=1.0 if plan.temperature is None else plan.temperature,
            top_p=1.0 if plan.top_p is None else plan.top_p,
            stop=tuple(plan.stop or ()),
            seed=plan.seed or 0,
        )
        with lock:
            if on_text is not None and hasattr(model, "stream"):
                c = model.stream(request, on_text, cancelled)
            else:
                [c] = model.generate([request])
                if on_text is not None:
                    on_text(c.texts[0])
        return Outcome(
            c.texts[0], _finish(c.finish_reasons[0]), [], c.prompt_tokens, c.completion_tokens, 0, 1
        )

    history, question = _last_user(messages)
    strategy = make_strategies([plan.method], strategy_params(plan))[0]
    upstream = _Upstream(
        model, history, lock, on_text, on_reasoning if plan.include_reasoning else None, cancelled
    )
    example = Example(id="request", question=question)
    trace = strategy.run(upstream, example, Task(name="chat", examples=[example]))
    text = trace.final_text
    if on_text is not None:
        if not upstream.streamed:
            on_text(text)
        elif text.startswith(upstream.streamed):
            if len(text) > len(upstream.streamed):
                on_text(text[len(upstream.streamed) :])
        else:  # the strategy's answer is not what it streamed: the client keeps what it has
            text = upstream.streamed
    final = upstream.final_call if upstream.final_call is not None else len(upstream.calls) - 1
    completion = sum(c.completion_tokens for _, c in upstream.calls)
    answer_tokens = _tokens(upstream.calls[final][1]) if upstream.calls else 0
    reasoning = [r.prefill + t for i, (r, c) in enumerate(upstream.calls) if i != final for t in c.texts]
    return Outcome(
        text=text,
        finish_reason=_finish(upstream.calls[final][1].finish_reasons[0]) if upstream.calls else "stop",
        reasoning=reasoning if plan.include_reasoning else [],
        prompt_tokens=sum(c.prompt_tokens for _, c in upstream.calls),
        completion_tokens=completion,
        reasoning_tokens=completion - answer_tokens,
        calls=sum(r.n for r, _ in upstream.calls),
        path=trace.meta.get("path"),
    )


def _finish(reason: str) -> str:
    return "length" if reason == "length" else "stop"


def model_lock(model: Any) -> Any:
    """Local models decode one request at a time (a lock); a server upstream takes many at once."""
    return nullcontext() if getattr(model, "base_url", None) else threading.Lock()
