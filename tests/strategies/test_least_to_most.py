import pytest

from fastslow.errors import FastslowError
from fastslow.strategies.base import run_batch
from fastslow.strategies.least_to_most import (
    LeastToMost,
    final_question,
    load_l2m_exemplars,
    parse_proposal,
    parse_subquestions,
)
from fastslow.tasks.base import Example, Task
from tests.fakes import ScriptedModel

Q = "What is (2 + 3) * 4? Work out what is inside the parentheses first."
DECOMPOSE = (
    f"{Q}\n\nDo not solve the problem yet. List the simpler questions that must be answered before it, "
    "from the simplest to the hardest, as a numbered list with one question a line. Do not answer them."
)
LEAD = "To answer this question, we need to know:"
OPENING = (
    f"{Q}\n\nAnswer with a number. Answer the questions below one at a time; each answer may use the "
    'answers before it. End every answer with "The answer is" and its result.'
)
PROPOSE = (
    "What is the next simpler question to answer on the way to solving this problem? Reply with that "
    "one question only. If the answers so far are enough to solve the problem, reply DONE."
)


def _task(name="t", question=Q, answer="20"):
    ex = Example(id="a", question=question, answer=answer)
    return Task(name=name, examples=[ex], kind="number"), ex


def _user(text):
    return {"role": "user", "content": text}


def _assistant(text):
    return {"role": "assistant", "content": text}


def test_static_zero_shot_prompts_thread_each_answer_into_the_next():
    task, ex = _task()
    model = ScriptedModel(
        ["\n1. What is 2 + 3?", "2 + 3 = 5. The answer is 5.", "5 * 4 = 20. The answer is 20."]
    )
    trace = LeastToMost().run(model, ex, task)
    decompose, solve, answer = model.requests
    assert list(decompose.messages) == [_user(DECOMPOSE)]
    assert decompose.prefill == LEAD and decompose.max_tokens == 128 and decompose.n == 1
    assert list(solve.messages) == [_user(f"{OPENING}\n\nQ: What is 2 + 3?")]
    assert solve.prefill == "" and solve.max_tokens == 256 and solve.stop == ("\nQ:",)
    assert solve.temperature == 0
    assert list(answer.messages) == [
        _user(f"{OPENING}\n\nQ: What is 2 + 3?"),
        _assistant("2 + 3 = 5. The answer is 5."),
        _user("Q: What is (2 + 3) * 4?"),  # the question sentence of the problem, asked last
    ]
    assert trace.answer == "20" and trace.final_text == "5 * 4 = 20. The answer is 20."
    assert trace.calls == 3 and trace.prompt_tokens > 0 and trace.completion_tokens > 0
    assert [s.name for s in trace.steps] == ["decompose", "solve", "answer"]
    assert trace.steps[0].prefill == LEAD
    assert trace.meta["subquestions"] == ["What is 2 + 3?", "What is (2 + 3) * 4?"]
    assert trace.meta["sub_answers"] == ["5", "20"]
    assert trace.meta["decomposition_format"] == "numbered"
    assert trace.meta["exemplars"].startswith("none: zero-shot decomposition")
    assert "parse_error" not in trace.meta and "unmarked" not in trace.meta


def test_without_prefill_the_lead_goes_into_the_question():
    task, ex = _task()
    model = ScriptedModel(
        ["1. What is 2 + 3?", "The answer is 5.", "The answer is 20."], supports_prefill=False
    )
    trace = LeastToMost().run(model, ex, task)
    assert list(model.requests[0].messages) == [_user(f"{DECOMPOSE}\n\n{LEAD}")]
    assert model.requests[0].prefill == ""
    assert trace.answer == "20" and trace.calls == 3


def test_shipped_last_letters_exemplars_build_on_the_previous_sublist():
    question = 'Take the last letters of each word in "roof plane monkey" and concatenate them.'
    ex = Example(id="a", question=question, answer="fey")
    task = Task(name="last_letters", examples=[ex], kind="text")
    sub = 'Take the last letters of each word in "roof plane" and concatenate them.'
    model = ScriptedModel(
        [f"\n1. {sub}", "The answer is fe.", '"roof plane" outputs "fe". The answer is fey.']
    )
    trace = LeastToMost().run(model, ex, task)
    decompose, solve, answer = model.requests
    assert len(decompose.messages) == 5  # two worked problems, then ours
    assert decompose.messages[1]["content"] == (
        f'{LEAD}\n1. Take the last letters of each word in "think machine" and concatenate them.'
    )
    first = solve.messages[0]["content"]
    assert first.startswith(
        'Take the last letters of each word in "think machine learning" and concatenate them.'
    )
    assert first.endswith('Q: Take the last letters of each word in "think machine" and concatenate them.')
    assert solve.messages[3]["content"] == (  # the second exemplar answer copies the first one's output
        '"think machine" outputs "ke". The last letter of "learning" is "g". Concatenating "ke", "g" '
        'leads to "keg". So, "think machine learning" outputs "keg". The answer is keg.'
    )
    assert solve.messages[-1]["content"].endswith(f"\n\nQ: {sub}")
    assert list(answer.messages[-2:]) == [_assistant("The answer is fe."), _user(f"Q: {question}")]
    assert trace.answer == "fey" and trace.calls == 3
    assert trace.meta["exemplars"] == "shipped: last_letters.jsonl"


def test_a_list_ending_with_the_original_question_is_capped_and_not_solved_twice():
    task, ex = _task()
    listing = "\n".join(f"{i}. What is step {i}?" for i in range(1, 5)) + f"\n5. {final_question(Q)}"
    model = ScriptedModel(lambda r, k: listing if len(model.requests) == 1 else "The answer is 1.")
    trace = LeastToMost(max_subquestions=3).run(model, ex, task)
    assert trace.meta["subquestions"] == ["What is step 1?", "What is step 2?", "What is (2 + 3) * 4?"]
    assert trace.meta["listed_original"] is True and trace.meta["dropped_subquestions"] == 2
    assert trace.calls == 1 + 3


@pytest.mark.parametrize(
    "decomposition, error",
    [("", "the decomposition is empty"), ("  I like turtles", "no list of subquestions found")],
)
def test_malformed_decomposition_is_flagged_and_the_question_solved_directly(decomposition, error):
    task, ex = _task()
    model = ScriptedModel([decomposition, "5 * 4 = 20. The answer is 20."])
    trace = LeastToMost().run(model, ex, task)
    assert trace.meta["parse_error"].startswith(error)
    assert trace.meta["decomposition_format"] is None
    assert list(model.requests[1].messages) == [_user(f"{OPENING}\n\nQ: What is (2 + 3) * 4?")]
    assert trace.answer == "20" and trace.calls == 2


def test_a_solution_is_cut_where_the_model_asks_itself_the_next_question_and_unmarked_ones_flagged():
    task, ex = _task()
    model = ScriptedModel(
        ["1. What is 2 + 3?", "The answer is 5.\nQ: What is 9?\nA: 9", "so it is 20", " 20."]
    )
    trace = LeastToMost().run(model, ex, task)
    assert model.requests[2].messages[1] == _assistant("The answer is 5.")
    assert trace.steps[1].outputs == ["The answer is 5.\nQ: What is 9?\nA: 9"]  # the raw output is kept
    assert trace.meta["unmarked"] == [1]
    # The final solution named no answer: Kojima et al.'s extraction call continues it, as in cot.
    assert model.requests[3].prefill == "so it is 20\nTherefore, the answer (arabic numerals) is"
    assert trace.steps[-1].name == "extract" and trace.calls == 4
    assert trace.answer == "20"


def test_an_unmarked_final_answer_is_extracted_and_without_the_call_falls_back_to_the_text():
    task, ex = _task()
    model = ScriptedModel(["1. What is 2 + 3?", "The answer is 5.", "Five times four is twenty", " 20"])
    trace = LeastToMost().run(model, ex, task)
    assert trace.answer == "20" and trace.calls == 4  # no number in the text: only the call finds it
    assert "20" in trace.final_text
    plain = ScriptedModel(["1. What is 2 + 3?", "The answer is 5.", "Five times four is twenty"])
    trace = LeastToMost(answer_call=False).run(plain, ex, task)
    assert trace.calls == 3 and trace.answer is None


def test_parse_subquestions_reads_the_common_list_forms():
    assert parse_subquestions("1. What is 2 + 3?\n2) What is 5 * 4?") == (
        ["What is 2 + 3?", "What is 5 * 4?"],
        "numbered",
    )
    assert parse_subquestions("- **Q: What is 2 + 3?**\n* What is 5 * 4?")[0] == [
        "What is 2 + 3?",
        "What is 5 * 4?",
    ]
    # the paper's own form (Zhou et al. 2022, Appendix D)
    paper = 'To answer the question "How many in all?", we need to know: "How many does Anna have?".'
    assert parse_subquestions(paper) == (["How many does Anna have?"], "quoted")
    assert parse_subquestions("First, what is 2 + 3? Then multiply.") == (
        ["First, what is 2 + 3?"],
        "questions",
    )
    # answers that slip into the list and repeats are dropped
    assert parse_subquestions("1. What is 2 + 3?\n2. 2 + 3 = 5. The answer is 5.\n3. what is 2+3")[0] == [
        "What is 2 + 3?"
    ]
    assert parse_subquestions("no list here") == ([], None)
    assert final_question("Tom has 3 pens. He buys 2. How many pens does Tom have now?") == (
        "How many pens does Tom have now?"
    )
    assert final_question('Take the last letters of each word in "a b" and concatenate them.').startswith(
        "Take"
    )


def test_parse_proposal():
    assert parse_proposal("DONE") == (None, "done")
    assert parse_proposal(" done.\nmore") == (None, "done")
    assert parse_proposal("\n  Next question: What is 5 + 8?\nA: 13") == ("What is 5 + 8?", "question")
    assert parse_proposal("1. Q: What is 2 + 2?") == ("What is 2 + 2?", "question")
    assert parse_proposal("  \n ") == (None, "empty")


def _dynamic_model(proposals, solutions):
    """Proposals for propose calls, solutions for solve and answer calls, in order."""
    proposals, solutions = list(proposals), list(solutions)

    def respond(request, k):
        last = request.messages[-1]["content"]
        return proposals.pop(0) if last.endswith(PROPOSE) else solutions.pop(0)

    return ScriptedModel(respond)


def test_dynamic_proposes_from_what_is_solved_then_answers_the_question():
    task, ex = _task()
    model = _dynamic_model(["What is 2 + 3?", "DONE"], ["2 + 3 = 5. The answer is 5.", "The answer is 20."])
    trace = LeastToMost(dynamic=True).run(model, ex, task)
    propose1, solve, propose2, answer = model.requests
    assert list(propose1.messages) == [_user(f"{Q}\n\nQuestions answered so far: none.\n\n{PROPOSE}")]
    assert propose1.max_tokens == 48 and propose1.prefill == ""
    assert list(solve.messages) == [_user(f"{OPENING}\n\nQ: What is 2 + 3?")]
    assert list(propose2.messages) == [
        _user(
            f"{Q}\n\nQuestions answered so far:\nQ: What is 2 + 3?\nA: 2 + 3 = 5. The answer is 5.\n\n{PROPOSE}"
        )
    ]
    assert list(answer.messages) == [
        _user(f"{OPENING}\n\nQ: What is 2 + 3?"),
        _assistant("2 + 3 = 5. The answer is 5."),
        _user("Q: What is (2 + 3) * 4?"),
    ]
    assert trace.answer == "20" and trace.calls == 4  # 2k with DONE at the k-th proposal
    assert [s.name for s in trace.steps] == ["propose", "solve", "propose", "answer"]
    assert trace.meta["mode"] == "dynamic" and trace.meta["stop"] == "done"
    assert trace.meta["subquestions"] == ["What is 2 + 3?", "What is (2 + 3) * 4?"]
    assert trace.meta["proposals"] == ["What is 2 + 3?", "DONE"]


def test_dynamic_stops_at_max_steps():
    task, ex = _task()
    model = _dynamic_model([f"What is step {i}?" for i in range(10)], ["The answer is 1."] * 10)
    trace = LeastToMost(dynamic=True, max_steps=2).run(model, ex, task)
    assert trace.calls == 2 * 2 + 1
    assert [s.name for s in trace.steps] == ["propose", "solve", "propose", "solve", "answer"]
    assert trace.meta["stop"] == "max_steps"
    assert (
        LeastToMost(dynamic=True, max_steps=0).run(ScriptedModel(["The answer is 20."]), ex, task).calls == 1
    )


@pytest.mark.parametrize(
    "proposals, stop, calls",
    [
        (["", "unused"], "empty", 2),
        (["What is (2 + 3) * 4?"], "proposed the original question", 2),
        (["What is 2 + 3?", "what is 2+3"], "repeated a solved question", 4),
    ],
)
def test_dynamic_stops_on_an_empty_repeated_or_original_proposal(proposals, stop, calls):
    task, ex = _task()
    model = _dynamic_model(proposals, ["The answer is 5.", "The answer is 20."])
    trace = LeastToMost(dynamic=True).run(model, ex, task)
    assert trace.meta["stop"] == stop and trace.calls == calls and trace.answer in {"5", "20"}
    assert ("parse_error" in trace.meta) == (stop == "empty")


def test_dynamic_few_shot_shows_a_first_proposal_and_done():
    task, ex = _task(name="arithmetic")
    model = _dynamic_model(["DONE"], ["The answer is 20."])
    trace = LeastToMost(dynamic=True, shots=1).run(model, ex, task)
    messages = model.requests[0].messages
    assert len(messages) == 5
    assert messages[0]["content"].endswith(f"Questions answered so far: none.\n\n{PROPOSE}")
    assert messages[1] == _assistant("What is 4 + 9?")
    assert "Q: What is 13 - 6?\nA: 13 - 6 = 7. The answer is 7." in messages[2]["content"]
    assert messages[3] == _assistant("DONE")
    assert trace.calls == 2 and trace.meta["exemplars"] == "shipped: arithmetic.jsonl"


def test_user_exemplar_file_overrides_the_shipped_ones(tmp_path):
    f = tmp_path / "l2m.jsonl"
    f.write_text(
        '{"question": "What is 2 * (1 + 1)?", "subquestions": ["What is 1 + 1?"], '
        '"solutions": ["1 + 1 = 2. The answer is 2.", "2 * 2 = 4. The answer is 4."]}\n'
    )
    task, ex = _task(name="arithmetic")
    model = ScriptedModel(["1. What is 2 + 3?", "The answer is 5.", "The answer is 20."])
    trace = LeastToMost(exemplars=str(f)).run(model, ex, task)
    decompose, solve, _ = model.requests
    assert decompose.messages[1] == _assistant(f"{LEAD}\n1. What is 1 + 1?")
    assert [m["content"] for m in solve.messages[1:4]] == [
        "1 + 1 = 2. The answer is 2.",
        "Q: What is 2 * (1 + 1)?",
        "2 * 2 = 4. The answer is 4.",
    ]
    assert trace.meta["exemplars"] == f"file: {f}"


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"subquestions": ["a?"], "solutions": ["The answer is 1.", "The answer is 2."]}', '"question"'),
        ('{"question": "q", "subquestions": [], "solutions": ["The answer is 1."]}', '"subquestions"'),
        ('{"question": "q", "subquestions": ["a?"], "solutions": ["The answer is 1."]}', "list of 2 strings"),
        ('{"question": "q", "subquestions": ["a?"], "solutions": ["1", "The answer is 2."]}', "solution 1"),
        ("[1, 2]", "expected a JSON object"),
        ("{oops", "invalid JSON"),
    ],
)
def test_bad_exemplar_file_names_file_and_line(tmp_path, line, message):
    f = tmp_path / "shots.jsonl"
    good = '{"question": "q", "subquestions": ["a?"], "solutions": ["The answer is 1.", "The answer is 2."]}'
    f.write_text(f"{good}\n{line}\n")
    with pytest.raises(FastslowError, match=r"line 2 of .*shots.jsonl") as err:
        load_l2m_exemplars(f)
    assert message in str(err.value)
    if line.startswith('{"'):  # a well-formed JSON line is only checked when it is used
        assert len(load_l2m_exemplars(f, shots=1)) == 1
    task, ex = _task()
    with pytest.raises(FastslowError, match="line 2"):
        LeastToMost(exemplars=str(f)).run(ScriptedModel([]), ex, task)


def test_missing_or_empty_exemplar_file(tmp_path):
    with pytest.raises(FastslowError, match="does not exist"):
        load_l2m_exemplars(tmp_path / "missing.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(FastslowError, match="is empty"):
        load_l2m_exemplars(tmp_path / "empty.jsonl")


def test_shipped_exemplar_files_load():
    from fastslow.strategies.least_to_most import EXEMPLAR_DIR, shipped_exemplars

    names = ["last_letters", "arithmetic", "coin_flip", "distractor_arithmetic", "sycophancy"]
    for name in names:
        assert shipped_exemplars(name) == EXEMPLAR_DIR / f"{name}.jsonl"
        assert load_l2m_exemplars(shipped_exemplars(name))
    assert sorted(p.stem for p in EXEMPLAR_DIR.glob("*.jsonl")) == sorted(names)
    assert shipped_exemplars("judge_pairs") is None


def test_coin_flip_exemplars_solve_growing_prefixes_and_are_right():
    from fastslow.strategies.least_to_most import shipped_exemplars
    from fastslow.tasks.registry import load_task

    task = load_task("coin_flip", limit=1)
    for ex in load_l2m_exemplars(shipped_exemplars("coin_flip")):
        questions = [*ex.subquestions, ex.question]
        assert all(
            b.startswith(a[: -len(" Is the coin still heads up?")]) for a, b in zip(questions, questions[1:])
        )
        for question, solution in zip(questions, ex.solutions):
            from fastslow.tasks import coin_flip

            truth = coin_flip.answer_for(coin_flip.moves_of(question))
            probe = Example(
                id="x", question=question, answer=truth, choices=["yes", "no"], meta={"choices_shown": True}
            )
            assert task.score(task.extract(solution, probe), probe) == 1.0, (question, solution)


def test_bad_parameters_are_refused():
    with pytest.raises(FastslowError, match="max_subquestions"):
        LeastToMost(max_subquestions=0)
    with pytest.raises(FastslowError, match="max_steps"):
        LeastToMost(max_steps=-1)


def test_examples_are_batched_step_by_step():
    task, ex = _task()
    other = Example(id="b", question="What is (1 + 1) * 3?", answer="6")

    def respond(request, k):
        return (
            "1. What is 1 + 1?" if "Do not solve" in request.messages[-1]["content"] else "The answer is 6."
        )

    model = ScriptedModel(respond)
    traces = run_batch(LeastToMost(), model, [ex, other], task)
    assert [t.calls for t in traces] == [3, 3]
    assert model.generate_calls == 3  # decompose, solve, answer: each once for both examples


@pytest.mark.slow
def test_l2m_end_to_end_on_the_embedded_model(embedded):
    from fastslow.strategies.prompts import names_answer
    from fastslow.tasks.registry import load_task

    task = load_task("arithmetic", limit=2, split="test")
    static = LeastToMost(max_subquestions=3, max_tokens=48, decompose_tokens=48)
    for ex, trace in zip(task.examples, run_batch(static, embedded, task.examples, task)):
        names = [s.name for s in trace.steps]
        # The extraction call comes exactly when the original question's solution names no answer.
        extracted = not names_answer(next(s for s in reversed(trace.steps) if s.name == "answer").outputs[0])
        assert names[-1] == ("extract" if extracted else "answer")
        names = names[:-1] if extracted else names
        assert names[0] == "decompose" and names[-1] == "answer" and set(names[1:-1]) <= {"solve"}
        assert trace.calls == len(trace.steps) == 1 + len(trace.meta["subquestions"]) + extracted <= 1 + 3 + 1
        assert trace.prompt_tokens > 0 and trace.completion_tokens > 0 and trace.seconds > 0
        assert trace.meta["exemplars"] == "shipped: arithmetic.jsonl"
        assert trace.meta["subquestions"][-1] == final_question(ex.question)
        answer_step = next(s for s in reversed(trace.steps) if s.name == "answer")
        assert answer_step.messages[-1]["content"].endswith(f"Q: {final_question(ex.question)}")
        assert len(trace.steps[0].messages) == 7  # three worked problems, then ours
    dynamic = LeastToMost(dynamic=True, max_steps=2, max_tokens=48, propose_tokens=24)
    for trace in run_batch(dynamic, embedded, task.examples, task):
        assert trace.calls == len(trace.steps) <= 2 * 2 + 1 + 1
        assert trace.steps[0].name == "propose" and trace.steps[-1].name in {"answer", "extract"}
        assert trace.meta["stop"] in {
            "done",
            "max_steps",
            "empty",
            "proposed the original question",
            "repeated a solved question",
        }
        assert trace.completion_tokens > 0
