"""The pairwise judge (both orders, Bradley–Terry) and a tiny reward model built in the test."""

import pytest

from fastslow.judges.pairwise import PairwiseJudge, parse_verdict
from fastslow.judges.reward_model import RewardModelJudge
from fastslow.tasks.base import Example, Task
from tests.fakes import ScriptedModel


def _task():
    ex = Example(id="a", question="What is 2 + 3?", answer="5")
    return Task(name="t", examples=[ex], kind="number"), ex


@pytest.mark.parametrize(
    "reply, verdict",
    [("A is right. Verdict: A", "A"), ("**Verdict:** b", "B"), ("Verdict: tie", "tie"), ("A, clearly", None)],
)
def test_verdicts_are_parsed_or_none(reply, verdict):
    assert parse_verdict(reply) == verdict


def test_pairs_are_judged_in_both_orders_and_ranked_by_bradley_terry():
    task, ex = _task()
    quality = {"The answer is 5.": 3, "It is 5, since 2 + 3 = 5.": 2, "The answer is 6.": 1}

    def judge(request, k):  # prefers the better response, whichever order it is shown in
        text = request.messages[0]["content"]
        a = text.split("[Response A]\n")[1].split("\n\n[Response B]")[0]
        b = text.split("[Response B]\n")[1].split("\n\nWhich")[0]
        return "Verdict: A" if quality[a] > quality[b] else "Verdict: B"

    model = ScriptedModel(judge)
    responses = list(quality)
    scores = PairwiseJudge(model).score(ex, task, responses)
    assert len(model.requests) == 6  # 3 pairs x 2 orders, one batch
    assert sorted(range(3), key=lambda i: -scores[i]) == [0, 1, 2]


def test_a_judge_that_only_follows_the_position_ranks_nothing():
    task, ex = _task()
    scores = PairwiseJudge(ScriptedModel(lambda r, k: "Verdict: A")).score(ex, task, ["x", "y", "z"])
    assert scores == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)


def test_a_tiny_reward_model_built_here_scores_through_the_judge(tmp_path):
    import torch
    from transformers import LlamaConfig, LlamaForSequenceClassification

    from tests.gradients.conftest import build_tokenizer, corpus

    tokenizer = build_tokenizer(corpus())
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, num_labels=1, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    LlamaForSequenceClassification(config).save_pretrained(tmp_path / "rm")
    tokenizer.save_pretrained(tmp_path / "rm")
    task, ex = _task()
    judge = RewardModelJudge(tmp_path / "rm", batch_size=2)
    scores = judge.score(ex, task, ["The answer is 5.", "The answer is 6.", "The answer is 5."])
    assert len(scores) == 3 and all(isinstance(s, float) for s in scores)
    assert (
        scores[0] == pytest.approx(scores[2], abs=1e-5) and scores[0] != scores[1]
    )  # a function of the text
    with pytest.raises(Exception, match="no config.json"):
        RewardModelJudge(tmp_path / "missing")
