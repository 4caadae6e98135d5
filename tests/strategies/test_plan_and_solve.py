import pytest

from fastslow.strategies.base import run_batch
from fastslow.strategies.plan_and_solve import (
    PS_PLUS_TRIGGER,
    PS_TRIGGER,
    PlanAndSolve,
    PlanAndSolvePlus,
    answer_trigger,
)
from fastslow.tasks.base import Example, Task
from tests.fakes import ScriptedModel

ASK = 'What is 2 + 3?\n\nAnswer with a number. End your response with "The answer is" and the final answer.'


def _task(kind="number", **kw):
    ex = Example(id="a", question="What is 2 + 3?", answer="5", **kw)
    return Task(name="t", examples=[ex], kind=kind), ex


def test_triggers_are_the_papers():
    assert PS_TRIGGER == (
        "Let's first understand the problem and devise a plan to solve the problem. "
        "Then, let's carry out the plan and solve the problem step by step."
    )
    assert PS_PLUS_TRIGGER.startswith(
        "Let's first understand the problem, extract relevant variables and their corresponding numerals, "
        "and devise a plan. Then, let's carry out the plan, calculate intermediate variables"
    )
    assert PS_PLUS_TRIGGER.endswith("solve the problem step by step, and show the answer.")
    assert (PlanAndSolve.name, PlanAndSolvePlus.name) == ("ps", "ps+")


@pytest.mark.parametrize("cls,trigger", [(PlanAndSolve, PS_TRIGGER), (PlanAndSolvePlus, PS_PLUS_TRIGGER)])
def test_trigger_is_prefilled_and_a_named_answer_takes_one_call(cls, trigger):
    task, ex = _task()
    model = ScriptedModel([" Plan: add. 2 + 3 = 5. The answer is 5."])
    trace = cls().run(model, ex, task)
    [req] = model.requests
    assert req.prefill == trigger
    assert [m["content"] for m in req.messages] == [ASK]
    assert req.max_tokens == 256 and req.temperature == 0 and req.n == 1
    assert trace.answer == "5" and trace.calls == 1
    assert [s.name for s in trace.steps] == ["plan_and_solve"]
    assert trace.final_text == trigger + " Plan: add. 2 + 3 = 5. The answer is 5."
    assert trace.meta["answer_named"] is True and "parse_error" not in trace.meta


def test_missing_answer_triggers_the_papers_arabic_numerals_extraction():
    task, ex = _task()
    model = ScriptedModel([" Step 1: add two and three, giving five", " 5."])
    trace = PlanAndSolvePlus().run(model, ex, task)
    assert len(model.requests) == 2
    second = model.requests[1]
    assert second.prefill == (
        PS_PLUS_TRIGGER
        + " Step 1: add two and three, giving five\nTherefore, the answer (arabic numerals) is"
    )
    assert [m["content"] for m in second.messages] == [ASK]
    assert second.max_tokens == 32 and second.stop == ()
    assert trace.answer == "5" and trace.calls == 2
    assert [s.name for s in trace.steps] == ["plan_and_solve", "extract"]
    assert trace.final_text.endswith("\nTherefore, the answer (arabic numerals) is 5.")
    assert trace.meta["answer_trigger"] == "Therefore, the answer (arabic numerals) is"
    assert "parse_error" not in trace.meta


def test_without_prefill_trigger_goes_into_the_question_and_extraction_is_a_follow_up_turn():
    task, ex = _task()
    model = ScriptedModel(["First plan, then 2 + 3 = 5", "5"], supports_prefill=False)
    trace = PlanAndSolve().run(model, ex, task)
    first, second = model.requests
    assert first.prefill == "" and first.messages[0]["content"] == f"{ASK}\n\n{PS_TRIGGER}"
    assert [m["role"] for m in second.messages] == ["user", "assistant", "user"]
    assert second.messages[1]["content"] == "First plan, then 2 + 3 = 5"
    assert second.messages[2]["content"] == (
        "Therefore, the answer (arabic numerals) is? Reply with the answer only."
    )
    assert trace.answer == "5" and trace.final_text.endswith("\nThe answer is 5")


def test_answer_trigger_follows_the_answer_kind():
    task, ex = _task("choice", choices=["red", "green", "blue"])
    assert answer_trigger(task, ex) == "Therefore, among A through C, the answer is"
    task, ex = _task("choice", choices=["yes", "no"], meta={"choices_shown": True})
    assert answer_trigger(task, ex) == "Therefore, the answer (yes or no) is"
    task, ex = _task("text")
    assert answer_trigger(task, ex) == "Therefore, the answer is"


def test_choice_extraction_reads_the_letter():
    task, ex = _task("choice", choices=["4", "5", "6"])
    model = ScriptedModel([" Devise a plan: add. Two and three make five", " (B)."])
    trace = PlanAndSolve().run(model, ex, task)
    assert model.requests[1].prefill.endswith("\nTherefore, among A through C, the answer is")
    assert trace.answer is not None and task.score(trace.answer, ex) == 1.0


def test_malformed_output_does_not_crash_and_is_flagged():
    task, ex = _task()
    model = ScriptedModel(["", " ???"])
    trace = PlanAndSolve().run(model, ex, task)
    assert trace.calls == 2 and trace.answer is None
    assert trace.meta["parse_error"] == "empty reasoning"
    model = ScriptedModel([" add them up: 2 + 3 = 5", " banana"])
    trace = PlanAndSolve().run(model, ex, task)
    assert trace.answer == "5"  # the reasoning's last number, since the reply names none
    assert "no answer in the extraction reply" in trace.meta["parse_error"]


def test_no_answer_call_is_one_call_and_flagged():
    task, ex = _task()
    model = ScriptedModel([" first 2, then 3, total 5"])
    trace = PlanAndSolvePlus(answer_call=False).run(model, ex, task)
    assert trace.calls == 1 and trace.answer == "5"
    assert "names no answer" in trace.meta["parse_error"]


def test_examples_are_batched_in_lockstep():
    task, ex = _task()
    ex2 = Example(id="b", question="What is 1 + 1?", answer="2")
    model = ScriptedModel(
        lambda r, k: " 1 + 1 = 2" if "1 + 1" in r.messages[0]["content"] else " The answer is 5."
    )
    traces = run_batch(PlanAndSolve(), model, [ex, ex2], task)
    assert model.generate_calls == 2  # both first steps together, then one extraction
    assert [t.calls for t in traces] == [1, 2]


@pytest.mark.slow
@pytest.mark.parametrize("cls", [PlanAndSolve, PlanAndSolvePlus])
def test_plan_and_solve_runs_on_the_embedded_model(embedded, cls):
    from fastslow.tasks.registry import load_task

    task = load_task("arithmetic", limit=2, split="test")
    traces = run_batch(cls(max_tokens=64), embedded, task.examples, task)
    assert len(traces) == 2
    for trace, ex in zip(traces, task.examples):
        first = trace.steps[0]
        assert first.name == "plan_and_solve"
        assert ex.question.strip() in first.messages[-1]["content"]
        assert cls.trigger in first.prefill + first.messages[-1]["content"]
        assert trace.calls == len(trace.steps) and trace.calls in (1, 2)
        assert trace.prompt_tokens > 0 and trace.completion_tokens > 0 and trace.seconds > 0
        if trace.calls == 2:
            assert trace.steps[1].name == "extract"
            assert "Therefore, the answer (arabic numerals) is" in (
                trace.steps[1].prefill + trace.steps[1].messages[-1]["content"]
            )
