import pytest

from fastslow.errors import FastslowError
from fastslow.strategies.base import run_batch
from fastslow.strategies.thought import ThoughtPrompt, split_thought, thought_messages
from fastslow.tasks.base import Example, Task
from tests.fakes import ScriptedModel

QUERY = 'What is 2 + 3?\n\nAnswer with a number. End your response with "The answer is" and the final answer.'
GENERIC = (
    "Respond to the following user query in a comprehensive and detailed way. You can write down your "
    'thought process before responding. Write your thoughts after "Here is my thought process:" and '
    f'write your response after "Here is my response:".\n\nUser query: {QUERY}'
)
SPECIFIC = (
    "Respond to the following user query in a comprehensive and detailed way. But first write down your "
    "internal thoughts. This must include your draft response and its evaluation. After this, write your "
    f'final response after "<R>".\n\nUser query: {QUERY}'
)


def _task():
    ex = Example(id="a", question="What is 2 + 3?", answer="5")
    return Task(name="t", examples=[ex], kind="number"), ex


def test_split_generic():
    text = "Here is my thought process: I add.\nHere is my response: 2 + 3 = 5. The answer is 5."
    assert split_thought(text, "generic") == ("I add.", "2 + 3 = 5. The answer is 5.")
    md = "### Here is my thought process:\n- add them\n\n### Here is my response:\nThe answer is 5."
    assert split_thought(md, "generic") == ("- add them", "The answer is 5.")
    assert split_thought("**Here is my response:** The answer is 5.", "generic") == ("", "The answer is 5.")
    assert split_thought("here is my response The answer is 5.", "generic")[1] == "The answer is 5."


def test_split_generic_missing_or_empty_response_is_none():
    assert split_thought("I think it is 5. The answer is 5.", "generic") == (
        "I think it is 5. The answer is 5.",
        None,
    )
    assert split_thought("Here is my thought process: x\nHere is my response:  \n", "generic") == ("x", None)
    assert split_thought("", "generic") == ("", None)


def test_split_specific():
    text = "Draft: 5. Evaluation: correct.\n<R> The answer is 5.</R>"
    assert split_thought(text, "specific") == ("Draft: 5. Evaluation: correct.", "The answer is 5.")
    assert split_thought("Draft: 5.\n<r>The answer is 5.", "specific")[1] == "The answer is 5."
    assert split_thought("Here is my response: The answer is 5.", "specific")[1] is None
    assert split_thought("Draft only", "specific") == ("Draft only", None)


def test_unknown_variant_is_an_error():
    with pytest.raises(FastslowError, match="variant must be one of generic, specific"):
        split_thought("x", "system")
    with pytest.raises(FastslowError, match="variant must be one of"):
        ThoughtPrompt(variant="nope")


def test_generic_prompt_and_answer_from_the_response_only():
    task, ex = _task()
    # The thought names a wrong answer; only the response may count.
    out = "Here is my thought process: maybe the answer is 7.\nHere is my response: 2 + 3 = 5."
    model = ScriptedModel([out])
    trace = ThoughtPrompt().run(model, ex, task)
    [req] = model.requests
    assert [(m["role"], m["content"]) for m in req.messages] == [("user", GENERIC)]
    assert req.prefill == "" and req.n == 1 and req.temperature == 0.0 and req.max_tokens == 384
    assert trace.answer == "5"
    assert trace.final_text == "2 + 3 = 5."
    assert trace.meta == {"variant": "generic", "thought": "maybe the answer is 7.", "parse_failed": False}
    assert trace.calls == 1 and [s.name for s in trace.steps] == ["think"]
    assert trace.steps[0].outputs == [out]


def test_specific_prompt():
    task, ex = _task()
    model = ScriptedModel(["Draft: 2 + 3 = 6. Evaluation: wrong, it is 5.\n<R>The answer is 5."])
    trace = ThoughtPrompt(variant="specific").run(model, ex, task)
    assert model.requests[0].messages[0]["content"] == SPECIFIC
    assert trace.answer == "5" and trace.meta["thought"].startswith("Draft: 2 + 3 = 6.")
    assert thought_messages(ex, task, "specific")[0]["content"] == SPECIFIC


def test_prompt_does_not_depend_on_prefill_support():
    task, ex = _task()
    model = ScriptedModel(["Here is my response: The answer is 5."], supports_prefill=False)
    trace = ThoughtPrompt().run(model, ex, task)
    assert model.requests[0].messages[0]["content"] == GENERIC and model.requests[0].prefill == ""
    assert trace.answer == "5"


@pytest.mark.parametrize(
    "out", ["The answer is 5.", "", "Here is my thought process: hmm", "Here is my response:"]
)
def test_parse_failure_gives_no_answer_and_is_flagged(out):
    task, ex = _task()
    trace = ThoughtPrompt().run(ScriptedModel([out]), ex, task)
    assert trace.answer is None
    assert trace.meta["parse_failed"] is True
    assert 'no response after "Here is my response:"' in trace.meta["parse_error"]
    assert trace.final_text == out and trace.calls == 1


def test_sampling_parameters_reach_the_request():
    task, ex = _task()
    model = ScriptedModel(["<R> The answer is 5."])
    ThoughtPrompt(variant="specific", temperature=0.8, top_p=0.95, seed=3).run(model, ex, task)
    [req] = model.requests
    assert (req.temperature, req.top_p, req.seed) == (0.8, 0.95, 3)


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["generic", "specific"])
def test_thought_end_to_end_on_the_embedded_model(embedded, variant):
    from fastslow.tasks.registry import load_task

    task = load_task("arithmetic", limit=2, split="test")
    traces = run_batch(ThoughtPrompt(variant=variant, max_tokens=96), embedded, task.examples, task)
    assert len(traces) == 2
    for trace, ex in zip(traces, task.examples):
        assert trace.calls == 1 and [s.name for s in trace.steps] == ["think"]
        assert trace.steps[0].messages == thought_messages(ex, task, variant)
        assert trace.prompt_tokens > 0 and trace.completion_tokens > 0 and trace.seconds > 0
        # Whatever the model wrote, the trace is exactly its split: the answer comes from the
        # response alone, and an output without the response marker has none.
        [output] = trace.steps[0].outputs
        thought, response = split_thought(output, variant)
        assert trace.meta["parse_failed"] is (response is None)
        assert trace.answer == (None if response is None else task.extract(response, ex))
        assert trace.final_text == (response if response is not None else output)
        assert trace.meta["thought"] == thought
