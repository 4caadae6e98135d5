"""``auto``: answer fast, think slow only when needed (our router, not from one paper).

System 1 first: ``fast_samples`` direct answers, sampled at ``temperature`` (the ``direct`` prompt
and prefill). Their agreement (the majority's share, as self-consistency measures it, Wang et al.
2022) is the confidence: at or above ``threshold`` the majority answer is returned and nothing else
runs ("fast" path). Below it, the System-2 method ``slow`` (with ``slow_params``) answers instead
("slow" path), and the System-1 calls stay in the cost. With ``confidence=logprob`` System 1 is one
greedy answer whose mean token log-probability is the confidence, and ``threshold`` a log-probability
(e.g. -0.3; a backend without log-probs makes the router escalate, and say why).

The idea is the adaptive computation of System-2 work: a question the model answers the same way
every time rarely gains from a chain of thought, a question it answers differently each time
might. ``fastslow eval --methods auto`` measures it like any method, so its accuracy-vs-cost point
sits on the Pareto plot between always-direct and always-``slow``; the trace's ``meta.path`` says
which path each question took.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastslow.errors import FastslowError
from fastslow.models.base import Request
from fastslow.strategies.base import Program, Step, Strategy, Trace
from fastslow.strategies.direct import FIRST_SENTENCE, direct_messages
from fastslow.strategies.prompts import ANSWER_MARKER
from fastslow.strategies.self_consistency import majority_vote
from fastslow.tasks.base import Example, Task

CONFIDENCES = ("agreement", "logprob")


def _slow_params(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


@dataclass
class AdaptiveRouter(Strategy):
    name = "auto"
    summary = "router: System-1 answers first; a System-2 method only when they disagree (low confidence)"
    cost = "fast_samples, + the slow method's calls when escalated"
    citation = "fastslow's adaptive router (agreement as confidence: Wang et al. 2022)"

    slow: str = "sc"  # the System-2 method used when System 1 is not confident
    slow_params: str = ""  # its parameters, comma-separated KEY=VALUE (e.g. "k=5,max_tokens=128")
    confidence: str = "agreement"  # or "logprob": one greedy answer's mean token log-probability
    fast_samples: int = 3
    temperature: float = 0.7
    threshold: float = 1.0  # agreement share (or mean log-prob) at or above which System 1 answers
    max_tokens: int = 24
    seed: int = 0

    def __post_init__(self) -> None:
        if self.confidence not in CONFIDENCES:
            raise FastslowError(
                f"auto: confidence must be one of {', '.join(CONFIDENCES)}, got {self.confidence!r}"
            )
        if self.confidence == "logprob" and self.threshold > 0:
            raise FastslowError(
                "auto: a mean log-probability is at most 0; give confidence=logprob a threshold <= 0, e.g. -0.3"
            )
        if self.slow == self.name:
            raise FastslowError("auto: the slow method cannot be auto itself")
        self.slow_strategy()  # an unknown method or parameter is an error now, not mid-run

    def slow_strategy(self) -> Strategy:
        from fastslow.strategies.registry import make_strategies

        params = [f"{self.slow}.{p}" for p in _slow_params(self.slow_params)]
        return make_strategies([self.slow], params)[0]

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        messages = direct_messages(example, task)
        start = ANSWER_MARKER if prefill else ""
        by_logprob = self.confidence == "logprob"
        request = Request(
            messages,
            n=1 if by_logprob else self.fast_samples,
            max_tokens=self.max_tokens,
            temperature=0.0 if by_logprob else self.temperature,
            stop=FIRST_SENTENCE,
            prefill=start,
            seed=self.seed,
            logprobs=by_logprob,
        )
        [c] = yield [request]
        texts = [start + t for t in c.texts]
        answers = [task.extract(t, example) for t in texts]
        fast_step = Step("fast", messages, list(c.texts), prefill=start)
        meta: dict = {"fast_answers": answers}
        if by_logprob:
            lp = c.logprobs[0] if c.logprobs else None
            tokens = c.sample_tokens[0] if c.sample_tokens else c.completion_tokens
            score = None if lp is None or not tokens else lp / tokens
            meta["confidence"] = score
            if score is None:
                meta["why"] = "the backend gave no log-probs: escalated"
            confident = score is not None and score >= self.threshold and answers[0] is not None
            winner = answers[0]
        else:
            winner, agreement, _ = majority_vote(answers, task.kind)
            meta["confidence"] = agreement
            confident = winner is not None and agreement >= self.threshold
        if confident:
            final = next(t for t, a in zip(texts, answers) if a == winner)
            return Trace(answer=winner, final_text=final, steps=[fast_step], meta={**meta, "path": "fast"})
        slow = yield from self.slow_strategy().program(example, task, prefill)
        return Trace(
            answer=slow.answer,
            final_text=slow.final_text,
            steps=[fast_step, *slow.steps],
            meta={**meta, "path": "slow", "slow": self.slow, "slow_meta": slow.meta},
        )
