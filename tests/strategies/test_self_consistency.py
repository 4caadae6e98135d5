from fastslow.strategies.self_consistency import SelfConsistency, majority_vote
from fastslow.tasks.base import Example, Task
from tests.fakes import ScriptedModel


def test_majority_vote_normalises_and_breaks_ties_by_first_seen():
    assert majority_vote(["5", "5.0", "7", None], "number")[:2] == ("5", 0.5)
    assert majority_vote(["7", "5", "5", "7"], "number")[0] == "7"
    assert majority_vote([None, None], "number") == (None, 0.0, {})


def test_sc_draws_k_samples_in_one_request_and_votes():
    ex = Example(id="a", question="What is 2 + 3?", answer="5")
    task = Task(name="t", examples=[ex], kind="number")
    outs = [" The answer is 5.", " The answer is 6.", " so 5. The answer is 5.", " I don't know"]
    model = ScriptedModel(outs)
    trace = SelfConsistency(k=4, temperature=0.9).run(model, ex, task)
    [req] = model.requests
    assert req.n == 4 and req.temperature == 0.9 and req.top_p == 0.95
    assert req.prefill == "Let's think step by step."
    assert trace.answer == "5"
    assert trace.meta["agreement"] == 0.5
    assert trace.meta["answers"] == ["5", "6", "5", None]
    assert trace.calls == 4
    assert "5" in trace.final_text
