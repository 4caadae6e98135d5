"""Judges named on the command line (``--judge``, repeatable), and scoring many prompts at once.

- ``verifier``: the task's own answer check (1 right, 0 wrong; needs reference answers);
- ``llm-score:SPEC``: an LLM gives each response 1-10 with a rubric (any model spec);
- ``llm-pairwise:SPEC``: an LLM compares every pair of responses in both orders, Bradley-Terry
  scores over them (Wu et al. 2024's judge);
- ``reward-model:PATH``: a local transformers sequence-classification model with one output.

A judge model is loaded once, with the generation cache in front, and is never the policy being
trained: ``llm-score:embedded-reasoner`` judges with the seed weights in every iteration.
"""

from __future__ import annotations

from typing import Any

from fastslow.errors import FastslowError
from fastslow.judges.base import Judge, Verifier
from fastslow.tasks.base import Example, Task

KINDS = ("verifier", "llm-score:SPEC", "llm-pairwise:SPEC", "reward-model:PATH")


def check_judge_spec(spec: str) -> str:
    """``spec`` if it names a judge (for argument parsing), else an error that lists the kinds."""
    kind, _, rest = spec.partition(":")
    if spec == "verifier" or (kind in ("llm-score", "llm-pairwise", "reward-model") and rest):
        return spec
    raise ValueError(f"unknown judge {spec!r}: use one of {', '.join(KINDS)}")


def load_judge(spec: str, options: Any = None) -> Judge:
    from fastslow.models.options import open_model

    check_judge_spec(spec)
    kind, _, rest = spec.partition(":")
    if spec == "verifier":
        return Verifier()
    if kind == "reward-model":
        from fastslow.judges.reward_model import RewardModelJudge

        return RewardModelJudge(rest)
    model = open_model(rest, options)
    if kind == "llm-score":
        from fastslow.judges.llm_score import LLMScoreJudge

        return LLMScoreJudge(model)
    from fastslow.judges.pairwise import PairwiseJudge

    return PairwiseJudge(model)


def score_all(
    judge: Judge, task: Task, examples: list[Example], responses: list[list[str]]
) -> list[list[float | None]]:
    """Each prompt's responses scored by ``judge``; in one batch over every prompt when the judge
    can (``score_many``), else prompt by prompt."""
    many = getattr(judge, "score_many", None)
    if many is not None:
        return many(examples, task, responses)
    return [judge.score(ex, task, rs) if rs else [] for ex, rs in zip(examples, responses)]


def judge_names(specs: list[str]) -> list[str]:
    """The names reports use for ``specs`` (their spec strings: stable across loads)."""
    if len(set(specs)) != len(specs):
        raise FastslowError(f"a judge is named twice: {', '.join(specs)}")
    for spec in specs:
        try:
            check_judge_spec(spec)
        except ValueError as exc:
            raise FastslowError(str(exc)) from None
    return list(specs)
