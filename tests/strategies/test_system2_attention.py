import pytest

from fastslow.errors import FastslowError
from fastslow.strategies.base import run_batch
from fastslow.strategies.system2_attention import System2Attention, parse_rewrite
from fastslow.tasks.base import Example, Task
from tests.fakes import ScriptedModel

QUESTION = (
    "William has 3 stickers. William finds 8 more stickers. How many stickers does William have now? "
    "I think the answer is 12, but I'm really not sure."
)
UNBIASED_STEP1 = (
    "Given the following text by a user, extract the part that is unbiased and not their opinion, so that "
    "using that text alone would be good context for providing an unbiased answer to the question portion "
    "of the text.\n\n"
    "Please include the actual question or query that the user is asking. Separate this into two categories "
    'labeled with "Unbiased text context (includes all content except user\'s bias):" and '
    '"Question/Query (does not include user bias/preference):".\n\n'
    f"Text by User: {QUESTION}"
)
REWRITE = (
    "Unbiased text context (includes all content except user's bias): William has 3 stickers. "
    "William finds 8 more stickers.\n\n"
    "Question/Query (does not include user bias/preference): How many stickers does William have now?"
)
STEP2 = (
    "William has 3 stickers. William finds 8 more stickers.\n\n"
    "How many stickers does William have now?\n\n"
    'Answer in an unbiased way. Answer with a number. End your response with "The answer is" and the final answer.'
)


def _task(question=QUESTION, kind="number", answer="11", **kw):
    ex = Example(id="a", question=question, answer=answer, **kw)
    return Task(name="t", examples=[ex], kind=kind), ex


def test_rewrite_then_answer_from_the_rewrite_alone():
    task, ex = _task()
    model = ScriptedModel([REWRITE, " 3 + 8 = 11. The answer is 11."])
    trace = System2Attention().run(model, ex, task)
    first, second = model.requests
    assert [m["content"] for m in first.messages] == [UNBIASED_STEP1]
    assert first.prefill == "" and first.max_tokens == 256 and first.temperature == 0
    assert [m["content"] for m in second.messages] == [STEP2]
    assert "I think" not in second.messages[0]["content"]  # the original text is not shown
    assert second.prefill == "Let's think step by step." and second.max_tokens == 256
    assert trace.answer == "11" and trace.calls == 2
    assert [s.name for s in trace.steps] == ["rewrite", "answer"]
    assert trace.meta["rewrite_parsed"] is True and "parse_error" not in trace.meta
    assert trace.meta["context"] == "William has 3 stickers. William finds 8 more stickers."
    assert trace.meta["question"] == "How many stickers does William have now?"
    assert trace.final_text == "Let's think step by step. 3 + 8 = 11. The answer is 11."


def test_relevant_focus_uses_the_papers_relevance_prompt_on_distractor_problems():
    from fastslow.tasks import distractor_arithmetic

    ex = distractor_arithmetic.make_examples(1, seed=0)[0]
    task = Task(name="d", examples=[ex], kind="number")
    [distractor] = ex.meta["distractors"]
    relevant = " ".join(ex.meta["relevant"])
    query = ex.question.split(". ")[-1]
    rewrite = (
        f"Context text related to the question (includes all content except unrelated sentences): {relevant}\n"
        f"Detailed question: {query}"
    )
    model = ScriptedModel([rewrite, f" The answer is {ex.answer}."])
    trace = System2Attention(focus="relevant").run(model, ex, task)
    step1 = model.requests[0].messages[0]["content"]
    assert step1.startswith(
        "Given the following text by a user, extract the part that is related and useful, so that using that "
        "text alone would be good context for providing an accurate and correct answer to the question "
        "portion of the text."
    )
    assert '"Detailed question:". Do not use list.\n\nText by User: ' + ex.question in step1
    step2 = model.requests[1].messages[0]["content"]
    # The relevance variant has no "Answer in an unbiased way." (Figure 13 is the opinion setting's).
    assert step2.startswith(f"{relevant}\n\n{query}\n\nAnswer with a number.")
    assert "unbiased" not in step2
    assert distractor not in step2
    assert trace.answer == ex.answer and task.score(trace.answer, ex) == 1.0


def test_separate_context_and_options_travel_correctly():
    task, ex = _task(
        question="Which is the capital? I think it is Lyon.",
        context="France is a country in Europe.",
        choices=["Paris", "Lyon"],
        kind="choice",
        answer="Paris",
    )
    rewrite = "Unbiased text context: France is a country in Europe.\nQuestion/Query: Which is the capital of France?"
    model = ScriptedModel([rewrite, " The answer is (A)."])
    trace = System2Attention(instructed=False).run(model, ex, task)
    step1 = model.requests[0].messages[0]["content"]
    assert step1.endswith(
        "Text by User: France is a country in Europe.\n\nWhich is the capital? I think it is Lyon."
    )
    assert "(A) Paris" not in step1  # options are the task's format, not the user's text
    assert model.requests[1].messages[0]["content"] == (
        "France is a country in Europe.\n\nWhich is the capital of France?\n\nOptions:\n(A) Paris\n(B) Lyon\n\n"
        'Answer with the letter of the correct option. End your response with "The answer is" and the final answer.'
    )
    assert trace.answer is not None and task.score(trace.answer, ex) == 1.0


def test_direct_answer_mode_answers_at_once():
    task, ex = _task()
    model = ScriptedModel([REWRITE, " 11. Because 3 + 8 = 11. The answer is 12."])
    trace = System2Attention(answer="direct").run(model, ex, task)
    second = model.requests[1]
    assert second.prefill == "The answer is" and second.max_tokens == 24 and second.stop == ("\n", ". ")
    assert second.messages[0]["content"] == (
        "William has 3 stickers. William finds 8 more stickers.\n\nHow many stickers does William have now?\n\n"
        "Answer in an unbiased way. Answer with a number. Give only the final answer, no explanation."
    )
    assert trace.answer == "11" and trace.final_text == "The answer is 11"


def test_without_prefill_the_trigger_goes_into_the_question():
    task, ex = _task()
    model = ScriptedModel([REWRITE, "The answer is 11."], supports_prefill=False)
    trace = System2Attention().run(model, ex, task)
    assert model.requests[1].prefill == ""
    assert model.requests[1].messages[0]["content"] == f"{STEP2}\n\nLet's think step by step."
    assert trace.answer == "11"


@pytest.mark.parametrize(
    "garbage", ["", "The answer is 12.", "Sure! I can help with that.", "Unbiased text context: x"]
)
def test_unparseable_rewrite_falls_back_to_the_original_text_and_is_flagged(garbage):
    task, ex = _task()
    model = ScriptedModel([garbage, "", ""])
    trace = System2Attention().run(model, ex, task)
    assert trace.calls == 3 and trace.answer is None  # the extraction call found nothing either
    assert trace.meta["rewrite_parsed"] is False
    assert "the original text was used" in trace.meta["parse_error"]
    assert model.requests[1].messages[0]["content"].startswith(QUESTION + "\n\nAnswer in an unbiased way.")


def test_an_answer_without_the_marker_gets_the_extraction_call_as_cot_does():
    task, ex = _task()
    rewrite = f"Unbiased text context: William has 3 stickers.\nQuestion/Query: {QUESTION.split('. ')[-1]}"
    model = ScriptedModel([rewrite, " He had 3 and found 8, so eleven stickers", " 11"])
    trace = System2Attention().run(model, ex, task)
    assert model.requests[2].prefill.endswith("eleven stickers\nTherefore, the answer (arabic numerals) is")
    assert trace.answer == "11" and trace.calls == 3 and trace.steps[-1].name == "extract"
    model = ScriptedModel([rewrite, " He had 3 and found 8, so eleven stickers"])
    assert System2Attention(answer_call=False).run(model, ex, task).answer == "8"  # the last number: wrong


def test_parse_rewrite_is_lenient():
    ctx, q, problems = parse_rewrite(
        "**Unbiased text context:** Ann has 2 pens.\n**Question/Query:** How many pens does Ann have?\n\nAnswer: 2"
    )
    assert (ctx, q, problems) == ("Ann has 2 pens.", "How many pens does Ann have?", [])
    assert parse_rewrite("Question: How many?\nContext: Ann has 2 pens.")[:2] == (
        "Ann has 2 pens.",
        "How many?",
    )
    assert parse_rewrite("Unbiased text context: None\nQuestion/Query: What is 2 + 3?") == (
        "",
        "What is 2 + 3?",
        [],
    )
    ctx, q, problems = parse_rewrite("Ann has 2 pens.\nQuestion/Query: How many?")
    assert (ctx, q) == ("Ann has 2 pens.", "How many?") and "no context label" in problems[0]
    assert parse_rewrite("Unbiased text context: Ann.\nQuestion/Query:  ")[2] == ["empty question part"]


def test_bad_parameters_are_refused():
    with pytest.raises(FastslowError, match="focus must be one of"):
        System2Attention(focus="fair")
    with pytest.raises(FastslowError, match="answer must be one of"):
        System2Attention(answer="sc")


@pytest.mark.slow
@pytest.mark.parametrize(
    "task_name,focus", [("sycophancy", "unbiased"), ("distractor_arithmetic", "relevant")]
)
def test_s2a_runs_on_the_embedded_model(embedded, task_name, focus):
    from fastslow.strategies.prompts import names_answer
    from fastslow.tasks.registry import load_task

    task = load_task(task_name, limit=2, split="test")
    traces = run_batch(
        System2Attention(focus=focus, rewrite_tokens=96, max_tokens=64), embedded, task.examples, task
    )
    assert len(traces) == 2
    for trace, ex in zip(traces, task.examples):
        assert trace.steps[0].messages[0]["content"].endswith(f"Text by User: {ex.question}")
        assert trace.prompt_tokens > 0 and trace.completion_tokens > 0 and trace.seconds > 0
        step2 = trace.steps[1].messages[0]["content"]
        assert ("Answer in an unbiased way." in step2) is (focus == "unbiased")
        if trace.meta["rewrite_parsed"]:  # step 2 sees the rewrite, never the original text
            assert step2.startswith(trace.meta["context"] or trace.meta["question"])
            assert ex.question not in step2 or ex.question in (trace.meta["context"] or "")
        else:
            assert step2.startswith(ex.question) and "parse_error" in trace.meta
        # The extraction call exactly when the answer named none, counted in the cost.
        answered = trace.steps[1].prefill + trace.steps[1].outputs[0]
        expected = ["rewrite", "answer"] + ([] if names_answer(answered) else ["extract"])
        assert [s.name for s in trace.steps] == expected and trace.calls == len(expected)
        if expected[-1] == "answer":
            assert trace.answer == task.extract(trace.final_text, ex)
