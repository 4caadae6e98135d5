"""The verifier and the LLM score judge (a scripted model: control flow and parsing, not quality)."""

import pytest

from fastslow.judges.base import Verifier
from fastslow.judges.llm_score import LLMScoreJudge, parse_score
from fastslow.tasks.base import Example, Task
from tests.fakes import ScriptedModel


def _task():
    ex = Example(id="a", question="What is 2 + 3?", answer="5")
    return Task(name="t", examples=[ex], kind="number"), ex


def test_the_verifier_scores_the_response_answer_only():
    task, ex = _task()
    assert Verifier().score(ex, task, ["The answer is 5.", "The answer is 6.", "no idea"]) == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="reference"):
        Verifier().score(Example(id="b", question="q"), task, ["x"])


@pytest.mark.parametrize(
    "reply, score",
    [
        ("Clear and right. Score: 8", 8.0),
        ("**Score:** 10/10", 10.0),
        ("score = 3", 3.0),
        ("First I thought Score: 2, but on reflection Score: 7", 7.0),
        ("Score: 11", None),  # out of range: malformed, never clipped
        ("Score: 0", None),
        ("It is a fine answer.", None),
        ("", None),
    ],
)
def test_a_score_is_read_or_declared_malformed(reply, score):
    assert parse_score(reply) == score


def test_the_llm_judge_sees_each_response_alone_and_keeps_malformed_scores_as_none():
    task, ex = _task()
    replies = iter(["Score: 9", "I cannot judge this"])
    model = ScriptedModel(lambda r, k: next(replies))
    judge = LLMScoreJudge(model)
    assert judge.score(ex, task, ["The answer is 5.", "The answer is 6."]) == [9.0, None]
    assert len(model.requests) == 2 and model.generate_calls == 1  # one batch
    shown = model.requests[0].messages[0]["content"]
    assert "[Response]\nThe answer is 5." in shown and "The answer is 6." not in shown
    assert judge.name == "llm-score:scripted"
