"""One chat request answered by a strategy (or passed through), with its usage and its stream.

The conversation reaches the model as messages: every request a strategy makes about the last
user turn is sent after the conversation's earlier messages (system prompt and history kept, never
flattened into one string). The strategy works on the last user message as its question.

Usage sums every upstream call: prompt and completion tokens, and as ``reasoning_tokens`` the
completion tokens of every call before the final answer's (the call a strategy marks
``Request.final``, and any call after it, such as cot's extraction, whose text joins the answer;
without a marked call, the last call's, per sample when it drew several). Streaming or not, the
count is the same.

The client's ``temperature``, ``top_p``, ``max_tokens``, ``stop`` and ``seed`` apply to the final
stage (the marked call, or the whole request when passed through), never to a strategy's earlier
calls: a client's ``temperature=0`` does not make self-consistency's samples identical.

Streaming: the marked call is streamed to the client as the upstream produces it (its prefill
first). Text the strategy adds after it (cot's extraction call when the chain named no answer)
follows as one more delta. A strategy with no such call (sc's vote, refine's last version) sends its
answer when it is known. Earlier stages go out as ``reasoning`` deltas, one per call, when the client
asked for them.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastslow.errors import FastslowError
from fastslow.models.base import Completion, Message, Request
from fastslow.strategies.registry import STRATEGIES, make_strategies
from fastslow.tasks.base import Example, Task

PASSTHROUGH = "none"  # the method name that sends the conversation upstream unchanged
DEFAULT_MAX_TOKENS = 1024  # a passed-through request that names no max_tokens


@dataclass
class Plan:
    """What to do with one request: the method (``none``: pass through), its ``--param`` style
    parameters, and the client's settings for the final stage."""

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


class Cancelled(FastslowError):
    """The client went away or the request timed out: its work stops."""


def check_method(method: str) -> None:
    if method != PASSTHROUGH and method not in STRATEGIES:
        raise FastslowError(f"unknown method {method!r}; known: {PASSTHROUGH}, {', '.join(STRATEGIES)}")


def make_strategy(plan: Plan) -> Any:
    """The plan's strategy; a bad parameter is a FastslowError (the proxy answers 400)."""
    return make_strategies([plan.method], plan.params)[0]


def last_user(messages: list[Message]) -> tuple[list[Message], str]:
    if not messages or messages[-1]["role"] != "user" or not messages[-1]["content"].strip():
        raise FastslowError("the last message must be the user's, with text: a strategy answers it")
    return messages[:-1], messages[-1]["content"]


def final_settings(plan: Plan, request: Request) -> Request:
    """The final stage's request with the client's sampling settings where it gave them."""
    changes: dict[str, Any] = {k: getattr(plan, k) for k in ("temperature", "top_p", "max_tokens", "seed")}
    changes = {k: v for k, v in changes.items() if v is not None}
    if plan.stop:
        changes["stop"] = (*request.stop, *plan.stop)
    return dataclasses.replace(request, **changes) if changes else request


@contextmanager
def held(lock: Any, cancelled: Callable[[], bool]) -> Iterator[None]:
    """``lock`` held (None: no lock), waiting in short steps so that a request cancelled while it
    waits gives up instead of running for nobody."""
    if lock is not None:
        while not lock.acquire(timeout=0.25):
            if cancelled():
                raise Cancelled("the request was cancelled")
    try:
        if cancelled():
            raise Cancelled("the request was cancelled")
        yield
    finally:
        if lock is not None:
            lock.release()


class _Upstream:
    """The model as a strategy sees it: the conversation's history before every request, every call
    recorded, the final call given the client's settings and streamed."""

    def __init__(
        self, model: Any, history: list[Message], lock: Any, plan: Plan, on_text, on_reasoning, cancelled
    ):
        self.model, self.history, self.lock, self.plan = model, history, lock, plan
        self.name, self.supports_prefill = model.name, model.supports_prefill
        self.on_text, self.on_reasoning, self.cancelled = on_text, on_reasoning, cancelled
        self.calls: list[tuple[Request, Completion]] = []
        self.final_call: int | None = None
        self.streamed = ""

    def generate(self, requests: list[Request]) -> list[Completion]:
        sent = [dataclasses.replace(r, messages=[*self.history, *r.messages]) for r in requests]
        final = len(sent) == 1 and sent[0].n == 1 and sent[0].final and self.final_call is None
        if final:
            self.final_call = len(self.calls)
            sent = [final_settings(self.plan, sent[0])]
        with held(self.lock, self.cancelled):
            if final and self.on_text is not None and hasattr(self.model, "stream"):
                r = sent[0]

                def emit(delta: str) -> None:
                    self.streamed += delta
                    self.on_text(delta)

                if r.prefill:
                    emit(r.prefill)
                outs = [self.model.stream(r, emit, self.cancelled)]
            else:
                outs = self.model.generate(sent)
        if self.on_reasoning is not None and self.final_call is None:
            for r, c in zip(sent, outs):
                for t in c.texts:
                    self.on_reasoning(r.prefill + t + "\n\n")
        self.calls.extend(zip(sent, outs))
        return outs


def _tokens(c: Completion) -> int:
    """One sample's completion tokens (the mean when the call drew several)."""
    return round(c.completion_tokens / max(1, len(c.texts)))


def _finish(reason: str) -> str:
    return "length" if reason == "length" else "stop"


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
    if plan.method == PASSTHROUGH:
        request = final_settings(plan, Request(messages, max_tokens=DEFAULT_MAX_TOKENS, temperature=1.0))
        with held(lock, cancelled):
            if on_text is not None and hasattr(model, "stream"):
                c = model.stream(request, on_text, cancelled)
            else:
                [c] = model.generate([request])
                if on_text is not None:
                    on_text(c.texts[0])
        return Outcome(
            c.texts[0], _finish(c.finish_reasons[0]), [], c.prompt_tokens, c.completion_tokens, 0, 1
        )

    history, question = last_user(messages)
    strategy = make_strategy(plan)
    reasoning = on_reasoning if plan.include_reasoning else None
    upstream = _Upstream(model, history, lock, plan, on_text, reasoning, cancelled)
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
    calls = upstream.calls
    final = upstream.final_call if upstream.final_call is not None else len(calls) - 1
    completion = sum(c.completion_tokens for _, c in calls)
    # The answer's tokens: the final call's (one sample's) and every call after it (an extraction).
    answer_tokens = _tokens(calls[final][1]) + sum(c.completion_tokens for _, c in calls[final + 1 :])
    return Outcome(
        text=text,
        finish_reason=_finish(calls[final][1].finish_reasons[0]),
        reasoning=[r.prefill + t for r, c in calls[:final] for t in c.texts]
        if plan.include_reasoning
        else [],
        prompt_tokens=sum(c.prompt_tokens for _, c in calls),
        completion_tokens=completion,
        reasoning_tokens=completion - answer_tokens,
        calls=sum(r.n for r, _ in calls),
        path=trace.meta.get("path"),
    )


def model_lock(model: Any) -> Any:
    """Local models decode one request at a time (a lock); a server upstream takes many at once."""
    return None if getattr(model, "base_url", None) else threading.Lock()
