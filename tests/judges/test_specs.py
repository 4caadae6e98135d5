"""`--judge` specs and batched scoring."""

import pytest

from fastslow.errors import FastslowError
from fastslow.judges.base import Verifier
from fastslow.judges.llm_score import LLMScoreJudge
from fastslow.judges.specs import check_judge_spec, judge_names, load_judge, score_all
from fastslow.tasks.registry import load_task
from tests.fakes import ScriptedModel


def test_specs_name_the_kinds_and_bad_ones_list_them():
    assert check_judge_spec("llm-score:embedded") == "llm-score:embedded"
    assert isinstance(load_judge("verifier"), Verifier)
    for bad in ("llm-score:", "score:x", "verifiers"):
        with pytest.raises(
            ValueError, match="verifier, llm-score:SPEC, llm-pairwise:SPEC, reward-model:PATH"
        ):
            check_judge_spec(bad)
    with pytest.raises(FastslowError, match="named twice"):
        judge_names(["verifier", "verifier"])


def test_an_llm_judge_scores_every_prompt_in_one_batch_and_keeps_each_prompts_order():
    task = load_task("arithmetic", limit=2, knobs={"steps": "1"})
    replies = iter(["Score: 3", "Score: 9", "no score at all", "Score: 11", "Score: 5"])
    model = ScriptedModel(lambda r, k: next(replies))
    scores = score_all(LLMScoreJudge(model), task, task.examples, [["a", "b", "c"], ["d", "e"]])
    assert scores == [[3.0, 9.0, None], [None, 5.0]]  # 11 is off the 1-10 scale: malformed
    assert model.generate_calls == 1 and len(model.requests) == 5
    assert "[Response]\ne" in model.requests[4].messages[0]["content"]


def test_the_verifier_scores_prompt_by_prompt():
    task = load_task("arithmetic", limit=1, knobs={"steps": "1"})
    ex = task.examples[0]
    got = score_all(Verifier(), task, [ex], [[f"The answer is {ex.answer}.", "The answer is 0.5."]])
    assert got == [[1.0, 0.0]]
