import pytest

from fastslow.errors import FastslowError
from fastslow.strategies.base import run_batch
from fastslow.strategies.branch_solve_merge import (
    BranchSolveMerge,
    parse_plan,
    parse_scores,
    parse_verdict,
    sum_verdict,
)
from fastslow.tasks.base import Example, Task
from tests.fakes import ScriptedModel

QUESTION = "What is 2 + 3?"
RIGHT = "2 + 3 = 5. The answer is 5."
WRONG = "2 + 3 = 6. The answer is 6."
PLAN = " Accuracy: Check the arithmetic.\n2. Clarity: Are the steps easy to follow?"

BRANCH_TEXT = (
    "We want to evaluate the quality of the responses provided by two AI assistants to the user question "
    "displayed below. Your task is to propose an evaluation plan that can be executed to compare the two "
    "responses. The evaluation plan should consist of a list of up to 2 factors that one should consider "
    "such as helpfulness, relevance, accuracy, etc. In each line, write an evaluation criterion as "
    '"Name: description", with a short description of how we should evaluate that criterion.\n\n'
    "User Question: What is 2 + 3?"
)


def solve_text(a, b, criterion):
    return (
        "You are given a user question and responses provided by two AI assistants. Your task is to evaluate "
        "and score the quality of the responses based on a single evaluation criterion displayed below. Make "
        "sure to evaluate only based on the criterion specified and none other. In the first line, write "
        '"Assistant A: " and a score between 1 to 5 for Assistant A\'s response. In the second line, write '
        '"Assistant B: " and a score between 1 to 5 for Assistant B\'s response. Then briefly explain the '
        "scores.\n\n"
        "[User Question]\nWhat is 2 + 3?\n\n"
        f"[The Start of Assistant A's Answer]\n{a}\n[The End of Assistant A's Answer]\n\n"
        f"[The Start of Assistant B's Answer]\n{b}\n[The End of Assistant B's Answer]\n\n"
        f"[Evaluation Criterion]\n{criterion}\n[End of Evaluation Criterion]"
    )


def merge_text(evaluations):
    return (
        "We evaluated the responses of two AI assistants, A and B, to the user question displayed below on "
        "several criteria, one at a time, with a score between 1 to 5 for each assistant. Read the "
        "evaluations and decide which response is better overall, weighing the criteria as the question "
        'requires. End your response with "The answer is A" if Assistant A\'s response is better, '
        '"The answer is B" if Assistant B\'s response is better, or "The answer is tie" if they are '
        "equally good.\n\n"
        f"[User Question]\nWhat is 2 + 3?\n\n{evaluations}"
    )


def _pair(responses=(RIGHT, WRONG), answer="A"):
    ex = Example(
        id="p",
        question="Which response is right?",
        answer=answer,
        choices=["A", "B"],
        meta={"instruction": QUESTION, "responses": list(responses), "choices_shown": True},
    )
    return Task(name="pairs", examples=[ex], kind="choice"), ex


def judge(right_wins=True, plan=PLAN, merge_says=None):
    """A fake judge that scores the response holding RIGHT 5 and the other 2, in either position."""

    def respond(req, _):
        content = req.messages[-1]["content"]
        if content.startswith("We want to evaluate"):
            return plan
        if content.startswith("You are given"):
            a_is_right = content.index(RIGHT) < content.index(WRONG)
            good, bad = ("5", "2") if right_wins else ("2", "5")
            a, b = (good, bad) if a_is_right else (bad, good)
            return f"\nAssistant A: {a}\nAssistant B: {b}\nOne of them adds wrongly."
        if content.startswith("We evaluated"):
            if merge_says is not None:
                return merge_says(content)
            first = content.split("[Criterion: ", 1)[1]
            return "A is better. The answer is A." if "Assistant A: 5" in first else "The answer is B."
        raise AssertionError(content)

    return respond


def test_branch_solve_merge_prompts_in_both_orders_and_batching():
    task, ex = _pair()
    model = ScriptedModel(judge())
    trace = BranchSolveMerge(criteria=2).run(model, ex, task)

    # one branch call, then 2 criteria x 2 orders in one batch, then 2 merges in one batch
    assert model.generate_calls == 3
    branch, *solves = model.requests[:5]
    merges = model.requests[5:]
    assert len(model.requests) == 7 and trace.calls == 7
    assert [m["content"] for m in branch.messages] == [BRANCH_TEXT]
    assert branch.prefill == "Evaluation Plan:\n1." and branch.max_tokens == 160 and branch.temperature == 0

    criteria = ["Accuracy: Check the arithmetic.", "Clarity: Are the steps easy to follow?"]
    expected = [solve_text(RIGHT, WRONG, c) for c in criteria] + [
        solve_text(WRONG, RIGHT, c) for c in criteria
    ]
    assert [r.messages[-1]["content"] for r in solves] == expected
    assert [r.prefill for r in solves] == ["Evaluation of Accuracy:", "Evaluation of Clarity:"] * 2
    assert all(r.max_tokens == 256 and r.temperature == 0 and r.n == 1 for r in solves)

    evaluation = "Assistant A: {}\nAssistant B: {}\nOne of them adds wrongly."
    ab = "\n\n".join(f"[Criterion: {c}]\n{evaluation.format(5, 2)}" for c in criteria)
    ba = "\n\n".join(f"[Criterion: {c}]\n{evaluation.format(2, 5)}" for c in criteria)
    assert [r.messages[-1]["content"] for r in merges] == [merge_text(ab), merge_text(ba)]
    assert all(r.max_tokens == 128 and r.prefill == "" for r in merges)

    # the swapped order's "B" is the same response as the original order's "A"
    assert trace.meta["verdict_original"] == "A" and trace.meta["verdict_swapped"] == "A"
    assert trace.meta["orders_agree"] is True and trace.meta["verdict"] == "A"
    assert trace.answer == "A" and trace.final_text == "The answer is A."
    assert task.score(trace.answer, ex) == 1.0
    assert trace.meta["criteria"] == [
        {"name": "Accuracy", "description": "Check the arithmetic."},
        {"name": "Clarity", "description": "Are the steps easy to follow?"},
    ]
    assert trace.meta["scores"] == {"AB": [[5.0, 2.0], [5.0, 2.0]], "BA": [[2.0, 5.0], [2.0, 5.0]]}
    assert [s.name for s in trace.steps] == ["branch"] + ["solve_AB"] * 2 + ["solve_BA"] * 2 + [
        "merge_AB",
        "merge_BA",
    ]
    assert "parse_error" not in trace.meta
    assert trace.prompt_tokens > 0 and trace.completion_tokens > 0


def test_the_verdict_maps_back_when_the_right_response_is_b():
    task, ex = _pair(responses=(WRONG, RIGHT), answer="B")
    trace = BranchSolveMerge(criteria=2).run(ScriptedModel(judge()), ex, task)
    assert trace.meta["verdict_original"] == "B" and trace.meta["verdict_swapped"] == "B"
    assert trace.answer == "B" and trace.meta["orders_agree"]


def test_disagreeing_orders_give_a_tie_and_are_flagged():
    task, ex = _pair()
    # a judge with position bias: whatever it reads, it prefers Assistant A
    model = ScriptedModel(judge(merge_says=lambda _: "The answer is A."))
    trace = BranchSolveMerge(criteria=2).run(model, ex, task)
    assert trace.meta["verdict_original"] == "A"
    assert trace.meta["verdict_swapped"] == "B"  # "A" of the swapped order is the original's B
    assert trace.meta["orders_agree"] is False
    assert trace.answer == "tie" and trace.final_text == "The answer is tie."
    assert task.score(trace.answer, ex) == 0.0


def test_without_prefill_the_cues_end_the_user_messages():
    task, ex = _pair()
    model = ScriptedModel(judge(plan="1. Accuracy: Check the arithmetic."), supports_prefill=False)
    trace = BranchSolveMerge(criteria=2).run(model, ex, task)
    branch, solve_ab, solve_ba, *_ = model.requests
    assert branch.prefill == "" and branch.messages[-1]["content"] == BRANCH_TEXT + "\n\nEvaluation Plan:"
    assert solve_ab.prefill == ""
    criterion = "Accuracy: Check the arithmetic."
    assert (
        solve_ab.messages[-1]["content"]
        == solve_text(RIGHT, WRONG, criterion) + "\n\nEvaluation of Accuracy:"
    )
    assert (
        solve_ba.messages[-1]["content"]
        == solve_text(WRONG, RIGHT, criterion) + "\n\nEvaluation of Accuracy:"
    )
    assert trace.calls == 1 + 2 + 2 and trace.answer == "A"


def test_malformed_plan_falls_back_to_the_papers_factors():
    task, ex = _pair()
    model = ScriptedModel(judge(plan=" I cannot help with that, sorry"))
    trace = BranchSolveMerge().run(model, ex, task)
    assert [c["name"] for c in trace.meta["criteria"]] == ["Accuracy", "Relevance", "Helpfulness"]
    assert "the plan lists no criterion" in trace.meta["parse_error"]
    assert trace.calls == 1 + 2 * 3 + 2 and trace.answer == "A"


def test_merge_without_a_verdict_falls_back_to_the_summed_scores():
    task, ex = _pair()
    model = ScriptedModel(judge(merge_says=lambda _: "Both responses have merits and"))
    trace = BranchSolveMerge(criteria=2).run(model, ex, task)
    assert "merge AB names no verdict" in trace.meta["parse_error"]
    assert "merge BA names no verdict" in trace.meta["parse_error"]
    assert trace.meta["verdict_original"] == "A" and trace.meta["verdict_swapped"] == "A"
    assert trace.answer == "A"


def test_garbage_everywhere_is_a_flagged_tie_not_a_crash():
    task, ex = _pair()
    model = ScriptedModel(lambda req, _: "")
    trace = BranchSolveMerge(criteria=1).run(model, ex, task)
    assert "a list of up to 1 factor that one should consider" in model.requests[0].messages[-1]["content"]
    assert trace.answer == "tie" and trace.meta["orders_agree"] is True
    error = trace.meta["parse_error"]
    assert "plan lists no criterion" in error and "no two scores" in error and "names no verdict" in error
    assert trace.calls == 1 + 2 + 2


def test_merge_sum_is_the_symbolic_variant_without_merge_calls():
    task, ex = _pair()
    model = ScriptedModel(judge())
    trace = BranchSolveMerge(criteria=2, merge="sum").run(model, ex, task)
    assert trace.calls == 1 + 2 * 2 and model.generate_calls == 2
    assert trace.answer == "A" and trace.meta["orders_agree"]
    assert not any(s.name.startswith("merge") for s in trace.steps)


def test_candidates_are_sampled_then_judged():
    ex = Example(id="q", question=QUESTION, answer="5")
    task = Task(name="t", examples=[ex], kind="number")
    cot_a, cot_b = " 2 + 3 = 6. The answer is 6.", " 2 + 3 = 5. The answer is 5."

    def respond(req, k):
        content = req.messages[-1]["content"]
        if req.n == 2:
            return [cot_a, cot_b][k]
        if content.startswith("We want to evaluate"):
            return " Accuracy: Is the sum right?"
        if content.startswith("You are given"):
            five_first = content.index("= 5.") < content.index("= 6.")
            return "Assistant A: 5\nAssistant B: 1" if five_first else "Assistant A: 1\nAssistant B: 5"
        first = content.split("[Criterion: ", 1)[1]
        return "The answer is A." if "Assistant A: 5" in first else "The answer is B."

    model = ScriptedModel(respond)
    trace = BranchSolveMerge(criteria=3).run(model, ex, task)
    sample = model.requests[0]
    assert sample.n == 2 and sample.temperature == 0.7 and sample.top_p == 0.95 and sample.max_tokens == 256
    assert sample.prefill == "Let's think step by step."
    assert sample.messages[-1]["content"] == (
        'What is 2 + 3?\n\nAnswer with a number. End your response with "The answer is" and the final answer.'
    )
    # the candidates are the responses, with the chain-of-thought trigger they continue
    solve = model.requests[2].messages[-1]["content"]
    assert "[The Start of Assistant A's Answer]\nLet's think step by step. 2 + 3 = 6." in solve
    assert trace.meta["answers"] == ["6", "5"] and trace.meta["judged"] is True
    assert trace.meta["verdict"] == "B" and trace.meta["chosen"] == 1
    assert trace.answer == "5" and trace.final_text == "Let's think step by step." + cot_b
    assert trace.calls == 2 + 1 + 2 * 1 + 2
    assert [s.name for s in trace.steps] == [
        "sample",
        "branch",
        "solve_AB",
        "solve_BA",
        "merge_AB",
        "merge_BA",
    ]


def test_agreeing_candidates_need_no_judge():
    ex = Example(id="q", question=QUESTION, answer="5")
    task = Task(name="t", examples=[ex], kind="number")
    model = ScriptedModel([" The answer is 5.", " so 5.0. The answer is 5.0."])
    trace = BranchSolveMerge().run(model, ex, task)
    assert len(model.requests) == 1 and trace.calls == 2
    assert trace.answer == "5" and trace.meta["candidates_agree"] and not trace.meta["judged"]


def test_a_tie_between_candidates_keeps_the_first_and_says_so():
    ex = Example(id="q", question=QUESTION, answer="5")
    task = Task(name="t", examples=[ex], kind="number")

    def respond(req, k):
        if req.n == 2:
            return [" The answer is 6.", " The answer is 5."][k]
        content = req.messages[-1]["content"]
        if content.startswith("We want"):
            return " Accuracy: Is it right?"
        return "Assistant A: 3\nAssistant B: 3" if content.startswith("You") else "The answer is tie."

    trace = BranchSolveMerge().run(ScriptedModel(respond), ex, task)
    assert trace.meta["verdict"] == "tie" and trace.answer == "6"
    assert "first candidate" in trace.meta["tie_fallback"]


def test_pairs_of_many_examples_are_batched_together():
    task, ex = _pair()
    other = Example("p2", ex.question, "B", ex.choices, meta={**ex.meta, "responses": [WRONG, RIGHT]})
    model = ScriptedModel(judge())
    traces = run_batch(BranchSolveMerge(criteria=2), model, [ex, other], task)
    assert model.generate_calls == 3
    assert [t.answer for t in traces] == ["A", "B"] and [t.calls for t in traces] == [7, 7]


def test_bad_parameters_and_bad_pairs():
    with pytest.raises(FastslowError, match="criteria must be at least 1"):
        BranchSolveMerge(criteria=0)
    with pytest.raises(FastslowError, match="merge must be one of llm, sum"):
        BranchSolveMerge(merge="vote")
    task, ex = _pair(responses=("only one",))
    with pytest.raises(FastslowError, match='meta\\["responses"\\] must hold two responses'):
        BranchSolveMerge().run(ScriptedModel(judge()), ex, task)


def test_parse_plan():
    text = (
        "Evaluation Plan:\n1. **Accuracy**: is it right?\n- Clarity - easy to read\n"
        "User Question: What is 2 + 3?\nHere is a long sentence without any criterion in it at all.\n"
        "3) Completeness\naccuracy: again\n4. Depth: more"
    )
    assert parse_plan(text, 5) == [
        ("Accuracy", "is it right?"),
        ("Clarity", "easy to read"),
        ("Completeness", ""),
        ("Depth", "more"),
    ]
    assert parse_plan(text, 2) == [("Accuracy", "is it right?"), ("Clarity", "easy to read")]
    assert parse_plan("", 3) == [] and parse_plan("!!!\n???", 3) == []


def test_parse_scores():
    assert parse_scores("Assistant A: 4\nAssistant B: 2\nbecause") == (4.0, 2.0)
    assert parse_scores("Assistant B's score: 1. Assistant A's response: 5") == (5.0, 1.0)
    assert parse_scores("4\n2\nA is better") == (4.0, 2.0)  # the paper's format: one score per line
    assert parse_scores("Assistant A: 4") == (4.0, None)
    assert parse_scores("Assistant A: 4\nIt makes 2 mistakes.") == (4.0, None)  # not B's score
    assert parse_scores("Assistant A: 40\nAssistant B: 2") == (None, 2.0)
    assert parse_scores("") == (None, None)


def test_parse_verdict_and_sum():
    assert parse_verdict("so the answer is B.") == "B"
    assert parse_verdict("The answer is Assistant A") == "A"
    assert parse_verdict("The answer is: (b)") == "B"
    assert parse_verdict("The answer is a tie.") == "tie"
    assert parse_verdict("My final verdict: [[C]]") == "tie"
    assert parse_verdict("[[B]]") == "B"
    assert parse_verdict("The answer is clearly the better one") is None
    assert parse_verdict("") is None
    assert sum_verdict([(5, 2), (1, 3)]) == "A"
    assert sum_verdict([(2, 2), (None, 5)]) == "tie"
    assert sum_verdict([(None, None)]) is None


@pytest.mark.slow
def test_bsm_end_to_end_on_the_embedded_model(embedded):
    from fastslow.tasks.registry import load_task

    task = load_task("judge_pairs", limit=2, split="test")
    strategy = BranchSolveMerge(criteria=2, max_tokens=96, branch_tokens=64, merge_tokens=48)
    traces = run_batch(strategy, embedded, task.examples, task)
    assert len(traces) == 2
    for ex, trace in zip(task.examples, traces):
        plan = len(trace.meta["criteria"])
        assert 1 <= plan <= 2
        assert trace.calls == 3 + 2 * plan
        names = [s.name for s in trace.steps]
        assert names == ["branch"] + ["solve_AB"] * plan + ["solve_BA"] * plan + ["merge_AB", "merge_BA"]
        assert trace.prompt_tokens > 0 and trace.completion_tokens > 0 and trace.seconds > 0
        assert trace.answer in ("A", "B", "tie") and trace.final_text == f"The answer is {trace.answer}."
        assert trace.meta["orders_agree"] == (trace.meta["verdict_original"] == trace.meta["verdict_swapped"])
        # the solve prompts show the source question and both responses, swapped in the second order
        a, b = ex.meta["responses"]
        solve_ab = trace.steps[1].messages[-1]["content"]
        solve_ba = trace.steps[1 + plan].messages[-1]["content"]
        assert f"[User Question]\n{ex.meta['instruction']}\n" in solve_ab
        assert solve_ab.index(a) < solve_ab.index(b) and solve_ba.index(b) < solve_ba.index(a)
