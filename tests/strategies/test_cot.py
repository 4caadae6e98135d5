import pytest

from fastslow.errors import FastslowError
from fastslow.strategies.cot import ChainOfThought, load_exemplars
from fastslow.tasks.base import Example, Task
from tests.fakes import ScriptedModel


def _task():
    ex = Example(id="a", question="What is 2 + 3?", answer="5")
    return Task(name="t", examples=[ex], kind="number"), ex


def test_zero_shot_prompt_and_marker_answer_takes_one_call():
    task, ex = _task()
    model = ScriptedModel([" 2 plus 3 is 5. The answer is 5."])
    trace = ChainOfThought().run(model, ex, task)
    [req] = model.requests
    assert req.prefill == "Let's think step by step."
    assert (
        req.messages[-1]["content"]
        == 'What is 2 + 3?\n\nAnswer with a number. End your response with "The answer is" and the final answer.'
    )
    assert trace.answer == "5" and trace.calls == 1
    assert [s.name for s in trace.steps] == ["reason"]


def test_missing_marker_triggers_kojima_answer_extraction_call():
    task, ex = _task()
    model = ScriptedModel([" Two and three make five, or maybe 4", " 5."])
    trace = ChainOfThought().run(model, ex, task)
    assert len(model.requests) == 2
    second = model.requests[1]
    assert second.prefill.endswith("\nTherefore, the answer (arabic numerals) is")  # Kojima et al., Table 9
    assert second.prefill.startswith("Let's think step by step. Two and three")
    assert trace.answer == "5" and trace.calls == 2
    assert [s.name for s in trace.steps] == ["reason", "extract"]


def test_no_answer_call_falls_back_to_extraction_from_reasoning():
    task, ex = _task()
    model = ScriptedModel([" first 2, then 3, total 7"])
    trace = ChainOfThought(answer_call=False).run(model, ex, task)
    assert len(model.requests) == 1
    assert trace.answer == "7"  # the last number: wrong, and scored so
    assert task.score(trace.answer, ex) == 0.0


def test_without_prefill_the_trigger_goes_into_the_question():
    task, ex = _task()
    model = ScriptedModel(["The answer is 5."], supports_prefill=False)
    ChainOfThought().run(model, ex, task)
    assert model.requests[0].messages[-1]["content"].endswith("\n\nLet's think step by step.")
    assert model.requests[0].prefill == ""


def test_few_shot_exemplars_become_earlier_turns(tmp_path):
    f = tmp_path / "shots.jsonl"
    f.write_text(
        '{"question": "1+1?", "reasoning": "One and one is two.", "answer": "2"}\n'
        '{"question": "2+2?", "solution": "Two and two is four. The answer is 4."}\n'
    )
    task, ex = _task()
    model = ScriptedModel([" The answer is 5."])
    ChainOfThought(exemplars=str(f)).run(model, ex, task)
    msgs = model.requests[0].messages
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant", "user"]
    assert msgs[1]["content"] == "One and one is two. The answer is 2."
    one = ScriptedModel([" The answer is 5."])
    ChainOfThought(exemplars=str(f), shots=1).run(one, ex, task)
    assert [m["content"] for m in one.requests[0].messages[:2]] == [
        "1+1?",
        "One and one is two. The answer is 2.",
    ]
    assert len(one.requests[0].messages) == 3  # one worked example, then the question
    assert len(load_exemplars(f, shots=1)) == 2


def test_bad_exemplar_file_names_file_and_line(tmp_path):
    f = tmp_path / "shots.jsonl"
    f.write_text('{"question": "1+1?", "answer": "2", "reasoning": "x"}\n{"question": "no solution"}\n')
    with pytest.raises(FastslowError, match=r"line 2 of .*shots.jsonl"):
        load_exemplars(f)
    with pytest.raises(FastslowError, match="does not exist"):
        load_exemplars(tmp_path / "missing.jsonl")
