"""The adaptive router `auto`: System 1 when its samples agree, the slow method when they do not."""

import pytest

from fastslow.errors import FastslowError
from fastslow.strategies.adaptive import AdaptiveRouter
from fastslow.strategies.registry import make_strategies
from fastslow.tasks.registry import load_task
from tests.fakes import ScriptedModel


def _task():
    return load_task("arithmetic", limit=1, knobs={"steps": "1"})


def test_agreeing_fast_answers_are_returned_without_a_slow_call():
    task = _task()
    model = ScriptedModel(lambda r, k: " 7.")
    trace = AdaptiveRouter().run(model, task.examples[0], task)
    assert trace.answer == "7" and trace.meta["path"] == "fast" and trace.meta["confidence"] == 1.0
    assert trace.calls == 3 and len(model.requests) == 1 and model.requests[0].n == 3


def test_disagreeing_fast_answers_escalate_to_the_slow_method_and_both_are_paid_for():
    task = _task()

    def respond(request, k):
        if (
            request.prefill == "The answer is"
            and "Give only the final answer" in request.messages[-1]["content"]
        ):
            return f" {k}."  # System 1 says 0, 1, 2: no agreement
        return " Adding up carefully. The answer is 33."

    trace = make_strategies(["auto"], ["auto.slow_params=k=4"])[0].run(
        ScriptedModel(respond), task.examples[0], task
    )
    assert trace.meta["path"] == "slow" and trace.meta["slow"] == "sc" and trace.answer == "33"
    assert trace.meta["fast_answers"] == ["0", "1", "2"] and trace.meta["confidence"] == pytest.approx(1 / 3)
    assert trace.calls == 3 + 4  # the fast samples stay in the cost
    assert [s.name for s in trace.steps][0] == "fast"


def test_logprob_confidence_escalates_a_unsure_answer():
    task = _task()
    sure = ScriptedModel(lambda r, k: " 7.", logprob=lambda r, k: -0.1)
    unsure = ScriptedModel(
        lambda r, k: " 7." if r.logprobs else " Thinking. The answer is 8.", logprob=lambda r, k: -9.0
    )
    router = AdaptiveRouter(confidence="logprob", threshold=-1.0, slow="cot")
    assert router.run(sure, task.examples[0], task).meta["path"] == "fast"
    slow = router.run(unsure, task.examples[0], task)
    assert slow.meta["path"] == "slow" and slow.answer == "8"


def test_bad_settings_are_errors_when_the_router_is_made():
    with pytest.raises(FastslowError, match="unknown method"):
        AdaptiveRouter(slow="nope")
    with pytest.raises(FastslowError, match="confidence must be one of"):
        AdaptiveRouter(confidence="vibes")
    with pytest.raises(FastslowError, match="no chosen method has a parameter"):
        AdaptiveRouter(slow_params="bogus=1")
