"""Self-consistency (Wang et al. 2022, "Self-Consistency Improves Chain of Thought Reasoning in
Language Models"): sample k diverse chains of thought and take the majority final answer.

The k samples are one request with ``n=k``, so the transformers backend decodes them in one batch
over the shared prompt. The trace records every sampled answer and the agreement ratio (the
winner's share of the votes), which System 2 Distillation uses as its consistency filter.

``vote=weighted`` weights each sample by its length-normalised probability, exp(mean token
log-probability) - the "weighted sum, normalized probability" variant of Wang et al. (2022, Table 1),
which they found about as good as the plain majority. It needs a backend that returns log-probs
(transformers, llama.cpp's server); where a sample has none, the trace says so and the plain
majority decides.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from fastslow.errors import FastslowError
from fastslow.strategies.base import Program, Strategy, Trace
from fastslow.strategies.cot import load_exemplars, sample_cots
from fastslow.strategies.extraction import finish_many
from fastslow.tasks.answers import normalize_answer
from fastslow.tasks.base import Example, Task


def majority_vote(answers: list[str | None], kind: str) -> tuple[str | None, float, dict[str, int]]:
    """The most frequent answer (after normalisation), its share of all samples, and the counts.

    Unparseable samples (None) count against agreement but cannot win. Ties go to the answer seen
    first, so the vote is deterministic.
    """
    keyed = [(normalize_answer(a, kind), a) for a in answers if a is not None]
    if not keyed:
        return None, 0.0, {}
    counts = Counter(k for k, _ in keyed)
    best_key = max(counts, key=lambda k: (counts[k], -[kk for kk, _ in keyed].index(k)))
    representative = next(a for k, a in keyed if k == best_key)
    return representative, counts[best_key] / len(answers), dict(counts)


def weighted_vote(
    answers: list[str | None], weights: list[float], kind: str
) -> tuple[str | None, float, dict[str, float]]:
    """The answer with the largest total weight, its share of the total weight, and the totals.

    Unparseable samples (None) add to the total but cannot win; ties go to the answer seen first.
    """
    totals: dict[str, float] = defaultdict(float)
    first: dict[str, str] = {}
    for a, w in zip(answers, weights):
        if a is None:
            continue
        key = normalize_answer(a, kind)
        totals[key] += w
        first.setdefault(key, a)
    if not totals:
        return None, 0.0, {}
    order = list(first)
    best = max(order, key=lambda k: (totals[k], -order.index(k)))
    return first[best], totals[best] / sum(weights), dict(totals)


def normalized_probability(logprob: float, tokens: int) -> float:
    """exp(mean token log-probability): a sample's probability, normalised for its length."""
    return math.exp(logprob / max(tokens, 1))


VOTES = ("majority", "weighted")


@dataclass
class SelfConsistency(Strategy):
    name = "sc"
    summary = "self-consistency: k sampled chains of thought, majority vote over their answers"
    cost = "k (+1 per sample whose chain names no answer, when answer_call is on)"
    citation = "Wang et al. 2022, 'Self-Consistency Improves Chain of Thought Reasoning'"

    k: int = 8
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 256
    exemplars: str = ""
    shots: int = 0
    seed: int = 0
    vote: str = "majority"  # or "weighted": by length-normalised probability (needs log-probs)
    answer_call: bool = True  # as cot: a sample that names no answer gets the extraction call

    def __post_init__(self) -> None:
        if self.vote not in VOTES:
            raise FastslowError(f"sc: vote must be one of {', '.join(VOTES)}, got {self.vote!r}")

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        shots = load_exemplars(self.exemplars, self.shots or None) if self.exemplars else []
        samples = yield from sample_cots(
            example,
            task,
            prefill,
            n=self.k,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=self.seed,
            exemplars=shots,
            logprobs=self.vote == "weighted",
        )
        # Scored as cot is: a sample whose chain names no answer gets Kojima et al.'s extraction
        # call (all such samples in one batch), so no vote is lost to the answer format.
        done = yield from finish_many(
            [(samples.messages, r) for r in samples.responses], example, task, prefill, self.answer_call
        )
        c, answers = samples.completion, [d.answer for d in done]
        winner, agreement, counts = majority_vote(answers, task.kind)
        meta: dict = {
            "answers": answers,
            "agreement": agreement,
            "votes": counts,
            "extracted": sum(d.extracted for d in done),
        }
        if self.vote == "weighted":
            lps = list(c.logprobs) + [None] * (len(c.texts) - len(c.logprobs))
            if any(lp is None for lp in lps):
                meta["weighted_vote"] = "unavailable: the backend gave no log-probs; majority vote used"
            else:
                toks = c.sample_tokens or [len(t.split()) for t in c.texts]
                weights = [normalized_probability(lp, n) for lp, n in zip(lps, toks)]  # type: ignore[arg-type]
                winner, share, totals = weighted_vote(answers, weights, task.kind)
                meta.update(weights=weights, weighted_share=share, weighted_votes=totals)
        final = next((d.final for d, a in zip(done, answers) if a == winner), done[0].final)
        return Trace(
            answer=winner,
            final_text=final,
            steps=[samples.step(), *(step for d in done for step in d.steps)],
            meta=meta,
        )
