"""An LLM judge that gives each response a score from 1 to 10 with a rubric (``llm-score:SPEC``).

Each response is judged on its own (pointwise, like the reward model of Wu et al. 2024), in one
batch over the responses. The reply must say "Score: N" with N from 1 to 10; any other reply is a
malformed score (None), never a guess.
"""

from __future__ import annotations

import re

from fastslow.models.base import Model, Request
from fastslow.strategies.prompts import question_text
from fastslow.tasks.base import Example, Task

RUBRIC = (
    "You are judging a response to a user's query. Judge only the response: is it correct, "
    "helpful, complete and clearly written? Give a score from 1 (worst) to 10 (best). "
    'End your reply with "Score: N", N the score.'
)
SCORE_START = "Score:"
_SCORE = re.compile(r"score\s*[:=]?\s*\**\s*(\d{1,2})(?:\s*/\s*10)?\b", re.IGNORECASE)


def parse_score(text: str) -> float | None:
    """The last "Score: N" of a reply with 1 <= N <= 10, else None."""
    found = _SCORE.findall(text)
    if not found:
        return None
    value = int(found[-1])
    return float(value) if 1 <= value <= 10 else None


def judge_messages(example: Example, response: str) -> list[dict[str, str]]:
    return [
        {
            "role": "user",
            "content": f"{RUBRIC}\n\n[Query]\n{question_text(example)}\n\n[Response]\n{response.strip()}",
        }
    ]


class LLMScoreJudge:
    def __init__(self, model: Model, max_tokens: int = 96):
        self.model = model
        self.name = f"llm-score:{model.name}"
        self.max_tokens = max_tokens

    def score(self, example: Example, task: Task, responses: list[str]) -> list[float | None]:
        return self.score_many([example], task, [responses])[0]

    def score_many(
        self, examples: list[Example], task: Task, responses: list[list[str]]
    ) -> list[list[float | None]]:
        """Every prompt's responses in one batch (a judge call per response)."""
        requests = [
            Request(judge_messages(ex, r), max_tokens=self.max_tokens)
            for ex, rs in zip(examples, responses)
            for r in rs
        ]
        scores = iter([parse_score(c.texts[0]) for c in self.model.generate(requests)] if requests else [])
        return [[next(scores) for _ in rs] for rs in responses]
