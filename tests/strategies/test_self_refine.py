import pytest

from fastslow.errors import FastslowError
from fastslow.strategies.base import run_batch
from fastslow.strategies.self_refine import SelfRefine, says_stop
from fastslow.tasks.base import Example, Task
from tests.fakes import ScriptedModel

QUESTION = (
    'What is 2 + 3?\n\nAnswer with a number. End your response with "The answer is" and the final answer.'
)
FEEDBACK_ASK = (
    "There may be an error in the answer above. What is the error? To find it, go through the answer "
    "step by step and check if everything looks good. For each mistake, say what is wrong and how to "
    'fix it. If there is no error, say "It is correct."'
)
REFINE_ASK = 'Rewrite your answer using this feedback. End with "The answer is" and the final answer.'


def _task():
    ex = Example(id="a", question="What is 2 + 3?", answer="5")
    return Task(name="t", examples=[ex], kind="number"), ex


def _contents(req):
    return [(m["role"], m["content"]) for m in req.messages]


def test_refine_runs_all_rounds_with_the_paper_history():
    task, ex = _task()
    model = ScriptedModel(
        [
            " 2 + 3 = 6. The answer is 6.",
            "Step 1 is wrong: 2 + 3 is 5, not 6.",
            " 2 + 3 = 5. The answer is 5.",
            "Check the sum once more.",
            " 2 + 3 makes 5. The answer is 5.",
        ]
    )
    trace = SelfRefine().run(model, ex, task)
    init, fb1, ref1, fb2, ref2 = model.requests
    v0 = "Let's think step by step. 2 + 3 = 6. The answer is 6."

    assert _contents(init) == [("user", QUESTION)]
    assert init.prefill == "Let's think step by step." and init.max_tokens == 256

    # FEEDBACK sees the question and the current answer only.
    assert _contents(fb1) == [("user", f"What is 2 + 3?\n\nAnswer:\n{v0}\n\n{FEEDBACK_ASK}")]
    assert fb1.prefill == "" and fb1.max_tokens == 192 and fb1.temperature == 0.0

    # REFINE sees the whole history: x, y0, fb0.
    assert _contents(ref1) == [
        ("user", QUESTION),
        ("assistant", v0),
        ("user", f"Feedback on your answer:\nStep 1 is wrong: 2 + 3 is 5, not 6.\n\n{REFINE_ASK}"),
    ]
    assert ref1.prefill == "Okay! Here is the rewrite:" and ref1.max_tokens == 256

    assert _contents(fb2) == [
        ("user", f"What is 2 + 3?\n\nAnswer:\n2 + 3 = 5. The answer is 5.\n\n{FEEDBACK_ASK}")
    ]
    # x, y0, fb0, y1, fb1
    assert _contents(ref2) == [
        *_contents(ref1),
        ("assistant", "2 + 3 = 5. The answer is 5."),
        ("user", f"Feedback on your answer:\nCheck the sum once more.\n\n{REFINE_ASK}"),
    ]

    assert trace.answer == "5" and trace.final_text == "2 + 3 makes 5. The answer is 5."
    assert trace.calls == 5
    assert [s.name for s in trace.steps] == ["initial", "feedback_1", "refine_1", "feedback_2", "refine_2"]
    assert trace.steps[2].prefill == "Okay! Here is the rewrite:"
    assert trace.meta["stop_reason"] == "rounds"
    assert trace.meta["rounds"] == 2 and trace.meta["refinements"] == 2
    assert trace.meta["answers"] == ["6", "5", "5"] and trace.meta["used_version"] == 2
    assert "parse_error" not in trace.meta


def test_refine_stops_when_the_feedback_says_it_is_correct():
    task, ex = _task()
    model = ScriptedModel([" 2 + 3 = 5. The answer is 5.", "Step 1 looks good. It is correct!"])
    trace = SelfRefine(rounds=3).run(model, ex, task)
    assert len(model.requests) == 2 and trace.calls == 2
    assert trace.answer == "5"
    assert trace.meta["stop_reason"] == "stop_phrase"
    assert trace.meta["rounds"] == 1 and trace.meta["refinements"] == 0
    assert [s.name for s in trace.steps] == ["initial", "feedback_1"]


def test_stop_phrase_is_matched_in_any_case_as_in_the_paper():
    assert says_stop("There is no error in the code! it is correct!")
    assert says_stop("IT IS CORRECT.")
    assert not says_stop("It is not correct: 2 + 3 is 5.")
    assert not says_stop("")


def test_zero_rounds_is_the_initial_answer():
    task, ex = _task()
    model = ScriptedModel([" The answer is 5."])
    trace = SelfRefine(rounds=0).run(model, ex, task)
    assert trace.calls == 1 and trace.answer == "5" and trace.meta["rounds"] == 0


def test_without_prefill_the_trigger_is_in_the_question_and_the_rewrite_has_no_lead_in():
    task, ex = _task()
    model = ScriptedModel(["The answer is 6.", "It should be 5.", "The answer is 5."], supports_prefill=False)
    trace = SelfRefine(rounds=1).run(model, ex, task)
    init, fb, ref = model.requests
    assert init.prefill == "" and init.messages[0]["content"] == f"{QUESTION}\n\nLet's think step by step."
    assert ref.prefill == "" and ref.messages[1] == {"role": "assistant", "content": "The answer is 6."}
    assert trace.answer == "5" and trace.calls == 3


def test_empty_feedback_stops_and_is_flagged():
    task, ex = _task()
    trace = SelfRefine().run(ScriptedModel([" The answer is 5.", "   "]), ex, task)
    assert trace.calls == 2 and trace.answer == "5"
    assert trace.meta["stop_reason"] == "empty_feedback"
    assert "feedback is empty" in trace.meta["parse_error"]


def test_a_garbled_rewrite_falls_back_to_the_last_answer_and_is_flagged():
    task, ex = _task()
    model = ScriptedModel([" The answer is 5.", "Add more detail.", "", "Still nothing.", "???", " no idea"])
    trace = SelfRefine().run(model, ex, task)
    assert trace.calls == 6  # the last version named no answer: one extraction call, which found none
    assert trace.meta["answers"] == ["5", None, None]
    assert trace.answer == "5" and trace.meta["used_version"] == 0
    assert trace.final_text == "Let's think step by step. The answer is 5."
    assert "version 0's answer is used" in trace.meta["parse_error"]


def test_no_answer_anywhere_does_not_crash():
    task, ex = _task()
    trace = SelfRefine(rounds=1).run(ScriptedModel(["", "bad", "", ""]), ex, task)
    assert trace.answer is None
    assert "no version names an answer" in trace.meta["parse_error"]


def test_an_unmarked_last_version_gets_the_extraction_call_as_cot_does():
    task, ex = _task()
    outs = [" The answer is 4.", "Wrong: 2 + 3 is not 4.", "Two plus three is five", " 5"]
    model = ScriptedModel(list(outs))  # it consumes its list
    trace = SelfRefine(rounds=1).run(model, ex, task)
    assert model.requests[-1].prefill == (
        "Okay! Here is the rewrite:Two plus three is five\nTherefore, the answer (arabic numerals) is"
    )
    assert trace.answer == "5" and trace.meta["used_version"] == 1 and trace.meta["extracted"]
    assert trace.calls == 4 and trace.steps[-1].name == "extract"
    without = SelfRefine(rounds=1, answer_call=False).run(ScriptedModel(outs[:3]), ex, task)
    assert without.answer == "4" and without.calls == 3  # the earlier version's answer, flagged


def test_a_marked_answer_naming_no_option_gets_the_extraction_call():
    # The plain embedded model's coin-flip failure: the rewrite restates a sentence after the
    # marker, which names neither "yes" nor "no". It is unanswered, so the extraction call is made.
    ex = Example(
        id="c",
        question="A coin is heads up. Ann flips the coin. Is the coin still heads up?",
        answer="no",
        choices=["yes", "no"],
        meta={"choices_shown": True},
    )
    task = Task(name="coin", examples=[ex], kind="choice")
    outs = [" The answer is yes.", "Ann flipped it.", " The answer is The coin is tails up.", " no"]
    model = ScriptedModel(list(outs))
    trace = SelfRefine(rounds=1).run(model, ex, task)
    assert model.requests[-1].prefill.endswith("Therefore, the answer (yes or no) is")
    assert trace.answer == "no" and trace.meta["extracted"] and trace.calls == 4
    # Without the call the restated sentence is no answer, and the earlier version's is used.
    without = SelfRefine(rounds=1, answer_call=False).run(ScriptedModel(outs[:3]), ex, task)
    assert without.meta["answers"] == ["yes", None] and without.answer == "yes"


def test_negative_rounds_are_an_error():
    with pytest.raises(FastslowError, match="rounds must be 0 or more"):
        SelfRefine(rounds=-1)


@pytest.mark.slow
def test_refine_end_to_end_on_the_embedded_model(embedded):
    from fastslow.strategies.prompts import names_answer
    from fastslow.tasks.registry import load_task

    task = load_task("arithmetic", limit=2, split="test")
    strategy = SelfRefine(rounds=1, max_tokens=64, feedback_tokens=48)
    traces = run_batch(strategy, embedded, task.examples, task)
    assert len(traces) == 2
    for trace in traces:
        names = [s.name for s in trace.steps]
        # The extraction call comes exactly when the last version names no answer (as in cot).
        extracted = names[-1] == "extract"
        names, calls = (names[:-1], trace.calls - 1) if extracted else (names, trace.calls)
        last = [s for s in trace.steps if s.name == "initial" or s.name.startswith("refine_")][-1]
        assert extracted is (not names_answer(last.prefill + last.outputs[0]))
        assert names[:2] == ["initial", "feedback_1"]
        assert trace.steps[1].messages[0]["content"].endswith('If there is no error, say "It is correct."')
        if trace.meta["stop_reason"] == "rounds":
            assert names == ["initial", "feedback_1", "refine_1"] and calls == 3
            assert trace.steps[2].prefill == "Okay! Here is the rewrite:"
            assert [m["role"] for m in trace.steps[2].messages] == ["user", "assistant", "user"]
        else:
            assert names == ["initial", "feedback_1"] and calls == 2
        assert trace.prompt_tokens > 0 and trace.completion_tokens > 0 and trace.seconds > 0
        assert len(trace.meta["answers"]) == 1 + trace.meta["refinements"]
