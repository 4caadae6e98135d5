import pytest

from fastslow.strategies.base import run_batch
from fastslow.strategies.rephrase_and_respond import RephraseAndRespond, TwoStepRephraseAndRespond
from fastslow.tasks.base import Example, Task
from tests.fakes import ScriptedModel

INSTRUCTION = 'Answer with a number. End your response with "The answer is" and the final answer.'
LETTER = 'Answer with the letter of the correct option. End your response with "The answer is" and the final answer.'


def _task(kind="number", **kw):
    ex = Example(id="a", question="What is 2 + 3?", answer="5", **kw)
    return Task(name="t", examples=[ex], kind=kind), ex


def test_one_step_prompt_is_the_papers_and_takes_one_call():
    task, ex = _task()
    model = ScriptedModel(["What is the sum of two and three? Two plus three is five. The answer is 5."])
    trace = RephraseAndRespond().run(model, ex, task)
    [req] = model.requests
    assert [m["content"] for m in req.messages] == [
        f'"What is 2 + 3?"\nRephrase and expand the question, and respond.\n{INSTRUCTION}'
    ]
    assert req.prefill == "" and req.max_tokens == 384 and req.temperature == 0
    assert trace.answer == "5" and trace.calls == 1
    assert [s.name for s in trace.steps] == ["rephrase_and_respond"]
    assert trace.meta == {}


def test_one_step_shows_options_after_the_instruction():
    task, ex = _task("choice", choices=["4", "5"])
    model = ScriptedModel(["The answer is (B)."])
    trace = RephraseAndRespond().run(model, ex, task)
    assert model.requests[0].messages[0]["content"] == (
        f'"What is 2 + 3?"\nRephrase and expand the question, and respond.\nOptions:\n(A) 4\n(B) 5\n{LETTER}'
    )
    assert task.score(trace.answer, ex) == 1.0


@pytest.mark.parametrize(
    "reply,error", [("", "empty response"), ("Two and three make 5", 'no "The answer is"')]
)
def test_one_step_malformed_response_is_flagged(reply, error):
    task, ex = _task()
    trace = RephraseAndRespond(answer_call=False).run(ScriptedModel([reply]), ex, task)
    assert error in trace.meta["parse_error"] and trace.calls == 1
    assert trace.answer == (None if not reply else "5")


def test_one_step_response_without_an_answer_gets_the_extraction_call():
    task, ex = _task()
    model = ScriptedModel(["Two and three make five", " 5"])
    trace = RephraseAndRespond().run(model, ex, task)
    assert trace.answer == "5" and trace.calls == 2
    assert [s.name for s in trace.steps] == ["rephrase_and_respond", "extract"]
    assert model.requests[1].prefill.endswith("Therefore, the answer (arabic numerals) is")


def test_two_step_answer_naming_no_option_gets_the_extraction_call():
    """The reasoner's coin-flip reply "The answer is tails up." names neither yes nor no: without the
    call it was unanswered (rar2 57% unanswered on coin_flip)."""
    ex = Example(id="c", question="A coin is heads up. Ann flips it. Is it still heads up?", answer="no",
                 choices=["yes", "no"], meta={"choices_shown": True})  # fmt: skip
    task = Task(name="coin", examples=[ex], kind="choice")
    replies = ["Is the coin heads up after Ann flips it?", "It is now tails up. The answer is tails up."]
    model = ScriptedModel([*replies, " no"])
    trace = TwoStepRephraseAndRespond().run(model, ex, task)
    assert trace.answer == "no" and trace.calls == 3
    assert model.requests[2].prefill.endswith("Therefore, the answer (yes or no) is")
    assert TwoStepRephraseAndRespond(answer_call=False).run(ScriptedModel(replies), ex, task).answer is None


def test_two_step_prompts_are_the_papers():
    task, ex = _task()
    model = ScriptedModel(['"What is the sum of the numbers 2 and 3?"', "2 + 3 = 5. The answer is 5."])
    trace = TwoStepRephraseAndRespond().run(model, ex, task)
    first, second = model.requests
    assert [m["content"] for m in first.messages] == [
        '"What is 2 + 3?"\nGiven the above question, rephrase and expand it to help you do better answering. '
        "Maintain all information in the original question."
    ]
    assert first.max_tokens == 192 and first.prefill == ""
    assert [m["content"] for m in second.messages] == [
        "(original) What is 2 + 3?\n(rephrased) What is the sum of the numbers 2 and 3?\n"
        f"Use your answer for the rephrased question to answer the original question.\n{INSTRUCTION}"
    ]
    assert second.max_tokens == 256
    assert trace.answer == "5" and trace.calls == 2
    assert [s.name for s in trace.steps] == ["rephrase", "respond"]
    assert trace.meta == {"rephrased": "What is the sum of the numbers 2 and 3?"}


def test_two_step_options_follow_the_rephrased_question_and_context_stays():
    task, ex = _task("choice", choices=["4", "5"], context="We add small numbers.")
    model = ScriptedModel(["What do 2 and 3 add up to?", "The answer is (B)."])
    trace = TwoStepRephraseAndRespond().run(model, ex, task)
    assert model.requests[0].messages[0]["content"].startswith('"We add small numbers.\n\nWhat is 2 + 3?"\n')
    assert model.requests[1].messages[0]["content"] == (
        "(original) We add small numbers.\n\nWhat is 2 + 3?\n(rephrased) What do 2 and 3 add up to?\n"
        "Options:\n(A) 4\n(B) 5\n"
        f"Use your answer for the rephrased question to answer the original question.\n{LETTER}"
    )
    assert task.score(trace.answer, ex) == 1.0


def test_two_step_empty_rephrase_answers_the_original_and_is_flagged():
    task, ex = _task()
    model = ScriptedModel(['  ""  ', ""])
    trace = TwoStepRephraseAndRespond(answer_call=False).run(model, ex, task)
    assert model.requests[1].messages[0]["content"] == f"What is 2 + 3?\n{INSTRUCTION}"
    assert "empty rephrased question" in trace.meta["parse_error"]
    assert trace.calls == 2 and trace.answer is None


def test_two_step_batches_the_rephrasings_of_many_examples():
    task, ex = _task()
    ex2 = Example(id="b", question="What is 1 + 1?", answer="2")
    model = ScriptedModel(
        lambda r, k: "Rephrased." if "rephrase and expand" in r.messages[0]["content"] else "The answer is 2."
    )
    traces = run_batch(TwoStepRephraseAndRespond(), model, [ex, ex2], task)
    assert model.generate_calls == 2 and [t.calls for t in traces] == [2, 2]


@pytest.mark.slow
def test_rephrase_and_respond_run_on_the_embedded_model(embedded):
    from fastslow.tasks.registry import load_task

    task = load_task("arithmetic", limit=2, split="test")
    one = run_batch(RephraseAndRespond(max_tokens=64), embedded, task.examples, task)
    two = run_batch(
        TwoStepRephraseAndRespond(rephrase_tokens=48, max_tokens=64), embedded, task.examples, task
    )
    for a, b, ex in zip(one, two, task.examples):
        assert a.calls == 1 and [s.name for s in a.steps] == ["rephrase_and_respond"]
        assert a.steps[0].messages[0]["content"].startswith(f'"{ex.question.strip()}"\nRephrase and expand')
        assert b.calls == 2 and [s.name for s in b.steps] == ["rephrase", "respond"]
        respond = b.steps[1].messages[0]["content"]
        if b.meta["rephrased"]:
            assert respond.startswith(f"(original) {ex.question.strip()}\n(rephrased) ")
        else:
            assert "parse_error" in b.meta
        for t in (a, b):
            assert t.prompt_tokens > 0 and t.completion_tokens > 0 and t.seconds > 0
