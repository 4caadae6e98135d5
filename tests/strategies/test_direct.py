from fastslow.strategies.base import run_batch
from fastslow.strategies.direct import Direct
from fastslow.tasks.base import Example, Task
from tests.fakes import ScriptedModel


def _task(kind="number"):
    ex = Example(id="a", question="What is 2 + 3?", answer="5")
    return Task(name="t", examples=[ex], kind=kind), ex


def test_direct_prefills_answer_marker_and_caps_tokens():
    task, ex = _task()
    model = ScriptedModel([" 5."])
    trace = Direct().run(model, ex, task)
    [req] = model.requests
    assert req.prefill == "The answer is"
    assert req.max_tokens == 24 and req.stop == ("\n", ". ") and req.temperature == 0
    assert req.messages[-1]["content"] == (
        "What is 2 + 3?\n\nAnswer with a number. Give only the final answer, no explanation."
    )
    assert trace.answer == "5" and trace.final_text == "The answer is 5."
    assert trace.calls == 1 and trace.completion_tokens == 1


def test_direct_without_prefill_support_uses_instruction_only():
    task, ex = _task()
    model = ScriptedModel(["5"], supports_prefill=False)
    trace = Direct().run(model, ex, task)
    assert model.requests[0].prefill == ""
    assert trace.answer == "5"


def test_direct_keeps_only_the_immediate_answer():
    task, ex = _task()
    # A backend that ignores stop strings: the later "answer is 5" must not count for System 1.
    model = ScriptedModel([" 4. Let's think step by step. 2 + 3 = 5. The answer is 5."])
    trace = Direct().run(model, ex, task)
    assert trace.answer == "4"
    assert trace.final_text == "The answer is 4"


def test_direct_unparseable_output_gives_no_answer():
    task, ex = _task()
    trace = Direct().run(ScriptedModel([""]), ex, task)
    assert trace.answer is None
    assert task.score(trace.answer, ex) == 0.0


def test_run_batch_sends_all_examples_in_one_generate_call():
    exs = [Example(id=str(i), question=f"What is {i} + 1?", answer=str(i + 1)) for i in range(5)]
    task = Task(name="t", examples=exs, kind="number")
    model = ScriptedModel(lambda r, k: " " + str(int(r.messages[-1]["content"].split()[2]) + 1))
    traces = run_batch(Direct(), model, exs, task)
    assert model.generate_calls == 1
    assert [t.answer for t in traces] == ["1", "2", "3", "4", "5"]
