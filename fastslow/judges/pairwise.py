"""A pairwise LLM judge turned into per-response scores (``llm-pairwise:SPEC``; Wu et al. 2024's
second judge): every pair of the K responses is judged in both orders (A/B swapped), so a verdict
that only follows the position cancels out, and a Bradley–Terry fit over all verdicts gives each
response an ELO-like score. The judge sees the query and the two responses, never a thought.
"""

from __future__ import annotations

import itertools
import re

from fastslow.judges.bradley_terry import bradley_terry, wins_from_verdicts
from fastslow.models.base import Model, Request
from fastslow.strategies.prompts import question_text
from fastslow.tasks.base import Example, Task

INSTRUCTION = (
    "Which response answers the user's query better: more correct, helpful and clear? "
    'End your reply with "Verdict: A", "Verdict: B" or "Verdict: tie".'
)
_VERDICT = re.compile(r"verdict\s*[:=]?\s*\**\s*(A|B|tie)\b", re.IGNORECASE)


def parse_verdict(text: str) -> str | None:
    """ "A", "B" or "tie" from the last "Verdict: X" of a reply; None if there is none."""
    found = _VERDICT.findall(text)
    if not found:
        return None
    last = found[-1]
    return "tie" if last.lower() == "tie" else last.upper()


def pair_messages(example: Example, first: str, second: str) -> list[dict[str, str]]:
    content = (
        f"[Query]\n{question_text(example)}\n\n[Response A]\n{first.strip()}\n\n"
        f"[Response B]\n{second.strip()}\n\n{INSTRUCTION}"
    )
    return [{"role": "user", "content": content}]


class PairwiseJudge:
    def __init__(self, model: Model, max_tokens: int = 96):
        self.model = model
        self.name = f"llm-pairwise:{model.name}"
        self.max_tokens = max_tokens

    def score(self, example: Example, task: Task, responses: list[str]) -> list[float | None]:
        """ELO-like scores of the responses (mean zero); a malformed verdict counts as a tie."""
        orders = [(i, j) for i, j in itertools.permutations(range(len(responses)), 2)]
        requests = [
            Request(pair_messages(example, responses[i], responses[j]), max_tokens=self.max_tokens)
            for i, j in orders
        ]
        replies = self.model.generate(requests) if requests else []
        verdicts = [(i, j, parse_verdict(c.texts[0]) or "tie") for (i, j), c in zip(orders, replies)]
        return list(bradley_terry(wins_from_verdicts(len(responses), verdicts)))
