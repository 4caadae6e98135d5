import pytest

from fastslow.errors import FastslowError
from fastslow.strategies.base import run_batch
from fastslow.strategies.universal_self_consistency import UniversalSelfConsistency, parse_selection
from fastslow.tasks.base import Example, Task
from tests.fakes import ScriptedModel

SAMPLES = [" 2 + 3 = 5. The answer is 5.", " The answer is 6.", " so 5. The answer is 5."]
SELECT_PROMPT = (
    "I have generated the following responses to the question: What is 2 + 3?\n\n"
    "Response 0: Let's think step by step. 2 + 3 = 5. The answer is 5.\n\n"
    "Response 1: Let's think step by step. The answer is 6.\n\n"
    "Response 2: Let's think step by step. so 5. The answer is 5.\n\n"
    "Evaluate these responses.\n"
    "Select the most consistent response based on majority consensus.\n"
    'Start your answer with "The most consistent response is Response X" (without quotes).'
)


def _task():
    ex = Example(id="a", question="What is 2 + 3?", answer="5")
    return Task(name="t", examples=[ex], kind="number"), ex


def test_usc_samples_k_in_one_request_then_the_model_selects():
    task, ex = _task()
    model = ScriptedModel([*SAMPLES, " 2."])
    trace = UniversalSelfConsistency(k=3).run(model, ex, task)
    sample, select = model.requests
    assert sample.n == 3 and sample.temperature == 0.7 and sample.top_p == 0.95 and sample.seed == 0
    assert sample.max_tokens == 256 and sample.prefill == "Let's think step by step."
    assert [m["content"] for m in sample.messages] == [
        'What is 2 + 3?\n\nAnswer with a number. End your response with "The answer is" and the final answer.'
    ]
    assert [m["content"] for m in select.messages] == [SELECT_PROMPT]
    assert select.prefill == "The most consistent response is Response"
    assert select.n == 1 and select.temperature == 0.0 and select.max_tokens == 32
    assert trace.answer == "5"
    assert trace.final_text == "Let's think step by step. so 5. The answer is 5."
    assert trace.meta["selected"] == 2 and trace.meta["used"] == 2
    assert trace.meta["answers"] == ["5", "6", "5"]
    assert trace.meta["majority"] == "5" and "parse_error" not in trace.meta
    assert trace.calls == 4
    assert [s.name for s in trace.steps] == ["sample", "select"]
    assert trace.steps[1].outputs == [" 2."]


def test_usc_follows_the_model_even_against_the_majority():
    task, ex = _task()
    trace = UniversalSelfConsistency(k=3).run(ScriptedModel([*SAMPLES, " 1 because it differs"]), ex, task)
    assert trace.answer == "6" and trace.meta["selected"] == 1
    assert trace.meta["majority"] == "5"


def test_usc_without_prefill_asks_in_the_prompt_and_parses_the_phrase():
    task, ex = _task()
    reply = "Responses 0 and 2 agree. The most consistent response is Response 0."
    model = ScriptedModel([*SAMPLES, reply], supports_prefill=False)
    trace = UniversalSelfConsistency(k=3).run(model, ex, task)
    sample, select = model.requests
    assert sample.prefill == "" and sample.messages[-1]["content"].endswith("\n\nLet's think step by step.")
    assert select.prefill == ""
    assert select.messages[0]["content"].startswith(
        "I have generated the following responses to the question:"
    )
    assert "Response 0:  2 + 3 = 5. The answer is 5." not in select.messages[0]["content"]
    assert "Response 0: 2 + 3 = 5. The answer is 5.\n\n" in select.messages[0]["content"]
    assert trace.meta["selected"] == 0 and trace.answer == "5"


def test_parse_selection_is_robust():
    assert parse_selection("The most consistent response is Response 2.", 3) == (2, None)
    assert parse_selection("the MOST consistent response is response #1", 3) == (1, None)
    assert parse_selection("The most consistent response is Response2", 3) == (2, None)
    assert parse_selection("I pick Response 1, it matches the others.", 3) == (1, None)
    index, error = parse_selection("Response 0 and Response 1 agree.", 3)
    assert index is None and "no single response" in error
    index, error = parse_selection("The most consistent response is Response 7", 3)
    assert index is None and "only 0 to 2 exist" in error
    assert parse_selection("", 3)[0] is None
    assert parse_selection("The most consistent response is Response X", 3)[0] is None


@pytest.mark.parametrize("reply", ["", " X", " 9", "??"])
def test_usc_bad_selection_falls_back_to_the_majority_vote(reply):
    task, ex = _task()
    outs = [" The answer is 6.", " The answer is 5.", " 5. The answer is 5."]
    trace = UniversalSelfConsistency(k=3).run(ScriptedModel([*outs, reply]), ex, task)
    assert trace.answer == "5"
    assert trace.meta["selected"] is None and trace.meta["used"] == 1
    assert trace.meta["fallback"] == "majority"
    assert "majority vote chose Response 1" in trace.meta["parse_error"]
    assert trace.calls == 4


def test_usc_garbage_everywhere_does_not_crash():
    task, ex = _task()
    trace = UniversalSelfConsistency(k=2).run(ScriptedModel(["", "  ", "nonsense"]), ex, task)
    assert trace.answer is None
    assert trace.meta["used"] == 0 and trace.meta["fallback"] == "first"
    assert "no sample has an answer" in trace.meta["parse_error"]


def test_usc_rejects_k_below_one():
    with pytest.raises(FastslowError, match="k must be at least 1"):
        UniversalSelfConsistency(k=0)


def test_usc_batches_examples_in_lockstep():
    exs = [Example(id=str(i), question=f"What is {i} + 1?", answer=str(i + 1)) for i in range(3)]
    task = Task(name="t", examples=exs, kind="number")

    def respond(req, k):
        if req.n > 1:
            return f" The answer is {int(req.messages[0]['content'].split()[2]) + 1}."
        return " 0."

    model = ScriptedModel(respond)
    traces = run_batch(UniversalSelfConsistency(k=2), model, exs, task)
    assert model.generate_calls == 2
    assert [t.answer for t in traces] == ["1", "2", "3"]


@pytest.mark.slow
def test_usc_end_to_end_on_the_embedded_model(embedded):
    from fastslow.tasks.registry import load_task

    task = load_task("arithmetic", limit=2, split="test")
    traces = run_batch(UniversalSelfConsistency(k=3, max_tokens=64), embedded, task.examples, task)
    assert len(traces) == 2
    for trace in traces:
        assert [s.name for s in trace.steps] == ["sample", "select"]
        assert len(trace.steps[0].outputs) == 3 and len(trace.meta["answers"]) == 3
        assert trace.calls == 4
        assert trace.prompt_tokens > 0 and trace.completion_tokens > 0 and trace.seconds > 0
        select = trace.steps[1]
        assert select.prefill == "The most consistent response is Response"
        assert select.messages[0]["content"].startswith(
            "I have generated the following responses to the question:"
        )
        assert "Response 2: " in select.messages[0]["content"]
        assert trace.meta["used"] in range(3)
        assert trace.answer == trace.meta["answers"][trace.meta["used"]]
