import json
import math
from dataclasses import replace

import pytest

from fastslow.errors import FastslowError
from fastslow.prime import MIX, PRIME_TRAINING, SHARES, PrimeConfig, build_examples, prime
from fastslow.strategies.cot import TRIGGER, cot_messages
from fastslow.tasks.registry import load_task
from fastslow.tasks.splits import split_of

SMALL = PrimeConfig(examples=240, train=replace(PRIME_TRAINING, max_steps=2))


@pytest.fixture(scope="module")
def rows():
    return build_examples(SMALL)


def _example_of(row):
    """An example of the row's family carrying the row's question and answer."""
    task = load_task(row["family"], limit=1)
    ex = task.examples[0]
    ex.answer, ex.question = row["answer"], row["question"]
    return task, ex


def test_rows_cover_every_family_and_use_the_cot_prompt_exactly(rows):
    assert {r["family"] for r in rows} == set(MIX)
    for r in rows:
        task, ex = _example_of(r)
        expected, prefill = cot_messages(ex, task, True, [])
        assert r["prompt"] == expected and prefill == TRIGGER


def test_families_get_their_shares_of_the_examples(rows):
    counts = {f: sum(r["family"] == f for r in rows) for f in MIX}
    for family, share in SHARES.items():
        combos = math.prod(len(values) for values in MIX[family].values())
        # An equal number per knob combination: the share, less at most one per combination.
        assert round(share * SMALL.examples) - combos < counts[family] <= round(share * SMALL.examples)
    assert max(counts, key=counts.get) == "last_letters"


def test_shares_must_name_the_mixed_families():
    with pytest.raises(FastslowError, match="shares"):
        build_examples(PrimeConfig(examples=16, shares={"coin_flip": 1.0}))


def test_a_zero_share_leaves_a_family_out():
    shares = dict(SHARES, coin_flip=0.0)
    rows = build_examples(PrimeConfig(examples=120, shares=shares))
    assert "coin_flip" not in {r["family"] for r in rows}
    assert {r["family"] for r in rows} == set(MIX) - {"coin_flip"}


def test_completions_are_correct_traces_that_the_extractor_reads_back(rows):
    for r in rows:
        [msg] = r["completion"]
        assert msg["content"].startswith(TRIGGER + " ")
        task, ex = _example_of(r)
        assert task.score(task.extract(msg["content"], ex), ex) == 1.0, msg["content"]


def test_training_and_evaluation_questions_never_overlap(rows):
    assert all(split_of(r["question"]) == "train" for r in rows)
    train = {r["question"] for r in rows}
    for family in MIX:
        test = {e.question for e in load_task(family, limit=100).examples}
        assert not train & test
    assert len(train) == len(rows)


def test_never_trains_on_direct_answers(rows):
    for r in rows:
        assert "Give only the final answer" not in r["prompt"][0]["content"]
        assert len(r["completion"][0]["content"]) > len(f"{TRIGGER} The answer is {r['answer']}.")


def test_commuted_arithmetic_traces_swap_sums_and_products_and_stay_correct(rows):
    commuted = build_examples(
        PrimeConfig(examples=240, train=replace(PRIME_TRAINING, max_steps=2), commute=True)
    )
    assert [r["question"] for r in commuted] == [r["question"] for r in rows]
    changed = 0
    for plain, swapped in zip(rows, commuted):
        text, other = plain["completion"][0]["content"], swapped["completion"][0]["content"]
        if plain["family"] != "arithmetic":
            assert text == other
            continue
        changed += text != other
        task, ex = _example_of(swapped)
        assert task.score(task.extract(other, ex), ex) == 1.0, other
    arithmetic = sum(r["family"] == "arithmetic" for r in rows)
    assert arithmetic // 4 < changed < arithmetic  # a coin toss per sum or product
    assert (
        build_examples(PrimeConfig(examples=240, train=replace(PRIME_TRAINING, max_steps=2), commute=True))
        == commuted
    )  # seeded


def test_a_run_directory_from_before_commute_resumes_as_without_it(tmp_path):
    from fastslow.runs import open_run

    open_run(tmp_path, "prime", SMALL)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["prime"]["commute"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    open_run(tmp_path, "prime", SMALL)  # no error: the old run had commute off
    with pytest.raises(FastslowError, match="other settings"):
        open_run(
            tmp_path,
            "prime",
            PrimeConfig(examples=240, train=replace(PRIME_TRAINING, max_steps=2), commute=True),
        )


@pytest.mark.slow
def test_prime_trains_saves_a_loadable_adapter_and_resumes(tmp_path):
    from fastslow.models.registry import load_model

    train = replace(PRIME_TRAINING, max_steps=2, batch_size=2, save_steps=1, max_length=256)
    cfg = PrimeConfig(examples=16, train=train)
    record = prime(cfg, tmp_path / "run", progress=False)
    assert record["steps"] == 2 and record["adapter_bytes"] > 0
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("checkpoint-*"))
    cfg_json = json.loads((tmp_path / "run" / "adapter" / "adapter_config.json").read_text())
    assert cfg_json["base_model_name_or_path"] == "embedded"
    again = prime(cfg, tmp_path / "run", progress=False)  # resumes from checkpoint-2: nothing left to train
    # the time of the steps, kept by the checkpoint: not the second call's export-only share
    from fastslow.training.loop import seconds_at

    counted = seconds_at(str(tmp_path / "run" / "checkpoints" / "checkpoint-2"))
    assert again["steps"] == 2 and 0 < again["train_seconds"] == counted <= record["train_seconds"]
    model = load_model(f"hf:{tmp_path / 'run' / 'adapter'}")
    assert model.name.startswith("adapter:")
    with pytest.raises(Exception, match="other settings"):
        prime(PrimeConfig(examples=16, train=replace(train, max_steps=3)), tmp_path / "run", progress=False)
