"""Self-consistency (Wang et al. 2022, "Self-Consistency Improves Chain of Thought Reasoning in
Language Models"): sample k diverse chains of thought and take the majority final answer.

The k samples are one request with ``n=k``, so the transformers backend decodes them in one batch
over the shared prompt. The trace records every sampled answer and the agreement ratio (the
winner's share of the votes), which System 2 Distillation uses as its consistency filter.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from fastslow.models.base import Request
from fastslow.strategies.base import Program, Step, Strategy, Trace
from fastslow.strategies.cot import cot_messages, load_exemplars
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


@dataclass
class SelfConsistency(Strategy):
    name = "sc"
    summary = "self-consistency: k sampled chains of thought, majority vote over their answers"
    cost = "k"
    citation = "Wang et al. 2022, 'Self-Consistency Improves Chain of Thought Reasoning'"

    k: int = 8
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 256
    exemplars: str = ""
    shots: int = 0
    seed: int = 0

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        shots = load_exemplars(self.exemplars, self.shots or None) if self.exemplars else []
        messages, start = cot_messages(example, task, prefill, shots)
        req = Request(
            messages,
            n=self.k,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=self.seed,
            prefill=start,
        )
        [c] = yield [req]
        answers = [task.extract(start + t, example) for t in c.texts]
        winner, agreement, counts = majority_vote(answers, task.kind)
        final = next((start + t for t, a in zip(c.texts, answers) if a == winner), start + c.texts[0])
        return Trace(
            answer=winner,
            final_text=final,
            steps=[Step("sample", messages, list(c.texts), prefill=start)],
            meta={"answers": answers, "agreement": agreement, "votes": counts},
        )
