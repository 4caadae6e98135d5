"""The TPO loop's control flow: a scripted seed policy, a tiny random model trained by DPO (never
evidence that TPO works: the run on the embedded model is in test_embedded.py and RESULTS.md)."""

import json
import re

import pytest

from fastslow.errors import FastslowError
from fastslow.tasks.registry import load_task
from fastslow.tpo.formats import ThoughtFormat, thought_format
from fastslow.tpo.recipe import TPOConfig, make_pairs, tpo
from fastslow.training.config import TrainConfig
from tests.fakes import ScriptedModel

TINY_TRAINING = TrainConfig(max_steps=2, batch_size=2, save_steps=1, max_length=256, export="merged")


def _solve(request):
    """The right answer to "What is A op B?" inside any of the prompts."""
    a, op, b = re.search(r"What is (-?\d+) ([-+*]) (-?\d+)\?", request.messages[-1]["content"]).groups()
    return {"+": int(a) + int(b), "-": int(a) - int(b), "*": int(a) * int(b)}[op]


def _policy():
    """Greedy: right. Sampled: sample 0 right after a long thought, 1 wrong after a short one, 2 with
    no answer sentence at all (a failed split), 3 right again after a short thought."""

    def respond(request, k):
        right = _solve(request)
        if request.temperature == 0:
            return f"Adding. The answer is {right}."
        return [
            f"First the numbers, then their sum, carefully. The answer is {right}.",
            f"Guess. The answer is {right + 1}.",
            "I am not sure what to say.",
            f"Add. The answer is {right}.",
        ][k % 4]

    return ScriptedModel(respond, name="scripted-policy")


def _config(tiny_model_dir, **kw):
    settings = dict(
        task="arithmetic", knobs={"steps": "1"}, model=f"hf:{tiny_model_dir}", iterations=1, prompts=3,
        samples=4, thought_prompt="answer", test_limit=2, train=TINY_TRAINING,
    )  # fmt: skip
    return TPOConfig(**{**settings, **kw})


def test_pairs_keep_the_thoughts_and_a_failed_split_is_only_ever_rejected(tmp_path, tiny_model_dir):
    out = tmp_path / "run"
    summary = tpo(_config(tiny_model_dir), out, progress=False, seed_model=_policy())
    pairs = [json.loads(line) for line in (out / "iter-1" / "pairs.jsonl").read_text().splitlines()]
    assert len(pairs) == 3 and summary["iterations"][0]["pairs"] == 3
    for p in pairs:
        assert "First think it through step by step" in p["prompt"][0]["content"]  # the thought prompt
        # ρ = 0 keeps chosen no longer than rejected here, so the pick is by score: a right answer,
        # its thought kept; the rejected is the output with no response (it may only be rejected).
        assert p["chosen"][0]["content"].startswith(("First the numbers", "Add."))
        assert p["rejected"][0]["content"] == "I am not sure what to say." and not p["rejected_parsed"]
    judged = [json.loads(line) for line in (out / "iter-1" / "judged.jsonl").read_text().splitlines()]
    assert all(j["scores"]["verifier"] == [1.0, 0.0, None, 1.0] for j in judged)
    rows = {r["row"]: r for r in summary["rows"]}
    assert rows["seed, thought prompt"]["accuracy"] == 1.0 and rows["seed, direct"]["accuracy"] == 1.0
    assert rows["seed, thought prompt"]["thought_words"] == 1.0  # "Adding."
    assert "iteration 1" in rows and summary["iterations"][0]["train_parse_failure"] == 0.25
    assert summary["iterations"][0]["judged_share"] == {"verifier": 1.0}  # of the parsed responses
    assert (out / "model" / "config.json").is_file()  # loads as hf:OUT/model
    assert (out / "report.md").is_file() and (out / "plots" / "tpo.png").is_file()
    from fastslow.cli import main

    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0  # `fastslow report` re-renders a TPO run
    assert "iteration 1" in (out / "report.md").read_text()
    # Run again: every stage resumes without a call to the policy; the finished iteration is read
    # back, not trained or exported again.
    exported = (out / "iter-1" / "model" / "model.safetensors").stat().st_mtime_ns
    policy = _policy()
    again = tpo(_config(tiny_model_dir), out, progress=False, seed_model=policy)
    assert again["rows"] == summary["rows"] and policy.generate_calls == 0
    assert (out / "iter-1" / "model" / "model.safetensors").stat().st_mtime_ns == exported


def test_another_setting_on_resume_is_refused(tmp_path, tiny_model_dir):
    out = tmp_path / "run"
    tpo(_config(tiny_model_dir), out, progress=False, seed_model=_policy())
    with pytest.raises(FastslowError, match="samples"):
        tpo(_config(tiny_model_dir, samples=3), out, progress=False, seed_model=_policy())


def test_a_direct_baseline_run_joins_the_table_and_other_runs_are_refused(tmp_path, tiny_model_dir):
    direct = tmp_path / "direct"
    tpo(_config(tiny_model_dir, no_thought=True), direct, progress=False, seed_model=_policy())
    out = tmp_path / "run"
    summary = tpo(_config(tiny_model_dir, baseline=str(direct)), out, progress=False, seed_model=_policy())
    rows = {r["row"]: r for r in summary["rows"]}
    assert rows["direct baseline, iteration 1"]["baseline"] is True
    # The trained policies are the tiny random model, right on no held-out prompt, where the scripted
    # seed was right on all: -100 points against the seed, none against the baseline's policy.
    diff, lo, hi = summary["vs_baseline"]
    assert diff == 0 and lo <= 0 <= hi
    assert rows["iteration 1"]["vs_seed"][0] == -1.0 and rows["iteration 1"]["vs_seed"][2] < 0
    assert "direct baseline, iteration 1" in (out / "report.md").read_text()
    # The baseline is read at the end, so a finished run resumes with it added, changed or dropped.
    again = tpo(_config(tiny_model_dir), out, progress=False, seed_model=_policy())
    assert not any(r.get("baseline") for r in again["rows"]) and again["vs_baseline"] is None
    with pytest.raises(FastslowError, match="not a `fastslow tpo --no-thought` run"):
        tpo(_config(tiny_model_dir, baseline=str(out)), out, progress=False, seed_model=_policy())
    with pytest.raises(FastslowError, match="differs in: prompts"):
        tpo(_config(tiny_model_dir, prompts=2, baseline=str(direct)), tmp_path / "other",
            progress=False, seed_model=_policy())  # fmt: skip
    with pytest.raises(FastslowError, match="no summary.json"):
        tpo(_config(tiny_model_dir, baseline=str(tmp_path)), out, progress=False, seed_model=_policy())


def _samples(responses_per_prompt):
    fmt = ThoughtFormat("answer")
    rows = []
    for outputs in responses_per_prompt:
        splits = [fmt.split(o) for o in outputs]
        rows.append(
            {"outputs": outputs, "thoughts": [t for t, _ in splits], "responses": [r for _, r in splits]}
        )
    return rows


def test_ties_and_prompts_without_a_parsed_output_give_no_pair():
    task = load_task("arithmetic", limit=3, knobs={"steps": "1"})
    examples = task.examples
    samples = _samples(
        [
            ["x. The answer is 1.", "y. The answer is 2."],  # both scored alike: a tie
            ["nothing", "nothing either"],  # no response at all
            ["a. The answer is 3.", "no answer here"],  # one parsed: chosen; the failure: rejected
        ]
    )
    scores = {"verifier": [[1.0, 1.0], [None, None], [0.0, None]]}
    config = TPOConfig(task="arithmetic", length_penalty="0")
    pairs, rho, skipped = make_pairs(ThoughtFormat("answer"), task, examples, samples, scores, config)
    assert skipped == 2 and rho == 0.0 and len(pairs) == 1
    assert pairs[0]["chosen"][0]["content"] == "a. The answer is 3."
    assert pairs[0]["rejected"][0]["content"] == "no answer here"


def test_a_response_the_judge_could_not_score_takes_no_side():
    task = load_task("arithmetic", limit=1, knobs={"steps": "1"})
    samples = _samples([["a. The answer is 1.", "b. The answer is 2.", "c. The answer is 3."]])
    # The LLM judge's reply for the first was malformed (None): it is neither chosen nor rejected.
    scores = {"verifier": [[1.0, 0.0, 1.0]], "llm-score:x": [[None, 3.0, 5.0]]}
    config = TPOConfig(task="arithmetic", length_penalty="0")
    pairs, _, _ = make_pairs(ThoughtFormat("answer"), task, task.examples, samples, scores, config)
    assert pairs[0]["chosen"][0]["content"] == "c. The answer is 3."
    assert pairs[0]["rejected"][0]["content"] == "b. The answer is 2."


def test_the_answer_format_splits_at_the_last_answer_sentence():
    fmt = ThoughtFormat("answer")
    assert fmt.split("So far 2. The answer is 5. Checking: the answer is 6.") == (
        "So far 2. The answer is 5. Checking:",
        "the answer is 6.",
    )
    assert fmt.split("Thinking, no conclusion.")[1] is None
    assert fmt.split("The answer is .")[1] is None  # a marker with nothing after it is no response
    assert ThoughtFormat("direct").split(" The answer is 4. ") == ("", "The answer is 4.")


def test_a_thought_prompt_file_needs_its_query_slot_and_response_marker(tmp_path):
    good = tmp_path / "p.txt"
    good.write_text("Think, then write FINAL: and your response.\n\n{query}")
    fmt = thought_format(str(good), "FINAL:", False)
    assert fmt.split("hmm, 3 then 4 FINAL: The answer is 7.") == ("hmm, 3 then 4", "The answer is 7.")
    bad = tmp_path / "q.txt"
    bad.write_text("no slot")
    with pytest.raises(FastslowError, match="{query}"):
        thought_format(str(bad), "FINAL:", False)
    with pytest.raises(FastslowError, match="--response-marker"):
        thought_format(str(good), None, False)
    with pytest.raises(FastslowError, match="neither one of generic, specific, answer nor a file"):
        thought_format("nope", None, False)


def test_limit_is_refused_with_the_flags_tpo_takes():
    with pytest.raises(FastslowError, match="--prompts"):
        tpo(TPOConfig(task="arithmetic", limit=5), "unused", progress=False)


def test_a_prompt_file_is_split_into_training_and_held_out_prompts_by_question(tmp_path):
    from fastslow.tpo.recipe import load_prompts

    data = tmp_path / "prompts.jsonl"
    data.write_text(
        "".join(json.dumps({"prompt": f"Write a haiku about the number {i}."}) + "\n" for i in range(60))
    )
    train, test = load_prompts(TPOConfig(data=str(data), iterations=2, prompts=10, test_limit=5))
    assert len(train.examples) == 20 and len(test.examples) == 5
    assert not {e.question for e in train.examples} & {e.question for e in test.examples}
    assert train.examples[0].question.startswith("Write a haiku")


def test_loss_types_are_checked_before_a_run_and_may_combine():
    from fastslow.tpo.recipe import _losses

    assert _losses("sigmoid, sft") == "sigmoid,sft"
    with pytest.raises(ValueError, match="bogus: not a DPO loss"):
        _losses("sigmoid,bogus")
