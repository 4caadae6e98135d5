"""The judge protocol: scores for the responses to one prompt, seeing the responses only.

TPO (Wu et al. 2024) judges only the response after the thought: a judge is given the user's
prompt (without the thought instructions) and each response, never a thought. A score of None
means the judge could not score that response (a malformed reply); TPO then drops the response from
the pair choice for that judge.
"""

from __future__ import annotations

from typing import Protocol

from fastslow.tasks.base import Example, Task


class Judge(Protocol):
    name: str

    def score(self, example: Example, task: Task, responses: list[str]) -> list[float | None]: ...


class Verifier:
    """The task's own answer check: 1.0 when the response's answer is right, else 0.0 (needs the
    example's reference answer)."""

    name = "verifier"

    def score(self, example: Example, task: Task, responses: list[str]) -> list[float | None]:
        if example.answer is None:
            raise ValueError(f"the verifier judge needs reference answers; {example.id} has none")
        return [task.score(task.extract(r, example), example) for r in responses]
