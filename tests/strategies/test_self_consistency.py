import math

import pytest

from fastslow.errors import FastslowError
from fastslow.strategies.self_consistency import SelfConsistency, majority_vote, weighted_vote
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
    trace = SelfConsistency(k=4, temperature=0.9, answer_call=False).run(model, ex, task)
    [req] = model.requests
    assert req.n == 4 and req.temperature == 0.9 and req.top_p == 0.95
    assert req.prefill == "Let's think step by step."
    assert trace.answer == "5"
    assert trace.meta["agreement"] == 0.5
    assert trace.meta["answers"] == ["5", "6", "5", None]
    assert trace.calls == 4
    assert "5" in trace.final_text


def test_samples_that_name_no_answer_get_the_extraction_call_as_cot_does_in_one_batch():
    ex = Example(id="a", question="What is 2 + 3?", answer="5")
    task = Task(name="t", examples=[ex], kind="number")
    outs = [" The answer is 6.", " two and three, five", " I don't know", " The answer is 5.", " 5", " 6"]
    model = ScriptedModel(outs)
    trace = SelfConsistency(k=4).run(model, ex, task)
    sample, *extract = model.requests
    assert sample.n == 4 and len(extract) == 2 and model.generate_calls == 2  # one batch of two
    assert [r.prefill for r in extract] == [
        "Let's think step by step. two and three, five\nTherefore, the answer (arabic numerals) is",
        "Let's think step by step. I don't know\nTherefore, the answer (arabic numerals) is",
    ]
    # Without the call the second sample's vote would be its last number (none) and the third lost.
    assert trace.meta["answers"] == ["6", "5", "6", "5"] and trace.meta["extracted"] == 2
    assert trace.calls == 6 and [s.name for s in trace.steps] == ["sample", "extract", "extract"]


class _WithLogprobs(ScriptedModel):
    """The scripted model, with a given summed log-probability for each sample in turn."""

    def __init__(self, texts, logprobs):
        super().__init__(list(texts))
        self._lps = list(logprobs)

    def generate(self, requests):
        outs = super().generate(requests)
        for r, o in zip(requests, outs):
            assert r.logprobs, "a weighted vote must ask the backend for log-probs"
            o.logprobs = [self._lps.pop(0) for _ in o.texts]
        return outs


def test_weighted_vote_lets_two_confident_samples_beat_three_unsure_ones():
    ex = Example(id="a", question="What is 2 + 3?", answer="5")
    task = Task(name="t", examples=[ex], kind="number")
    texts = [
        " The answer is 6.",
        " The answer is 6.",
        " The answer is 6.",
        " So 5. The answer is 5.",
        " The answer is 5.",
    ]
    # Summed log-probs; ScriptedModel counts tokens as words: 4, 4, 4, 6, 4.
    lps = [-8.0, -8.0, -8.0, -0.6, -0.4]  # per token: -2 for the 6s, -0.1 for the 5s
    trace = SelfConsistency(k=5, vote="weighted").run(_WithLogprobs(texts, lps), ex, task)
    assert trace.meta["votes"] == {"6": 3, "5": 2}  # the plain majority would say 6
    assert trace.answer == "5"
    w6, w5 = math.exp(-2.0), math.exp(-0.1)
    assert trace.meta["weights"] == pytest.approx([w6, w6, w6, w5, w5])
    assert trace.meta["weighted_share"] == pytest.approx(2 * w5 / (3 * w6 + 2 * w5))


def test_weighted_vote_without_logprobs_falls_back_to_majority_and_says_so():
    ex = Example(id="a", question="What is 2 + 3?", answer="5")
    task = Task(name="t", examples=[ex], kind="number")
    model = ScriptedModel([" The answer is 6.", " The answer is 6.", " The answer is 5."])
    trace = SelfConsistency(k=3, vote="weighted").run(model, ex, task)
    assert trace.answer == "6"
    assert "majority vote used" in trace.meta["weighted_vote"]


def test_weighted_vote_helper_ignores_unparseable_samples_and_ties_go_first_seen():
    assert weighted_vote(["5", None, "7"], [1.0, 5.0, 1.0], "number") == ("5", 1 / 7, {"5": 1.0, "7": 1.0})
    assert weighted_vote([None], [1.0], "number") == (None, 0.0, {})


def test_unknown_vote_is_a_clear_error():
    with pytest.raises(FastslowError, match="vote must be one of majority, weighted"):
        SelfConsistency(vote="borda")


@pytest.mark.slow
def test_weighted_vote_on_the_embedded_model_uses_real_logprobs(embedded):
    from fastslow.tasks.registry import load_task

    task = load_task("arithmetic", limit=1, split="test", knobs={"steps": "1"})
    [ex] = task.examples
    trace = SelfConsistency(k=3, vote="weighted", max_tokens=48).run(embedded, ex, task)
    assert "weighted_vote" not in trace.meta  # the transformers backend gives log-probs
    assert len(trace.meta["weights"]) == 3 and all(0.0 < w <= 1.0 for w in trace.meta["weights"])
    # k samples, plus one extraction call for each sample whose chain named no answer
    assert trace.calls == 3 + trace.meta["extracted"] and trace.completion_tokens > 0
