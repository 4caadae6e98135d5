import json
from pathlib import Path

import pytest

from fastslow.errors import FastslowError
from fastslow.evaluate import EvalConfig, evaluate
from fastslow.models.cached import CachedModel
from fastslow.report import pareto_front, render
from fastslow.runs import read_rows
from fastslow.store import Store
from tests.fakes import ScriptedModel


def _config(**kw):
    return EvalConfig(methods=["direct", "cot"], task="arithmetic", limit=6, **kw)


def test_eval_writes_run_directory_and_resumes_without_model_calls(tmp_path, monkeypatch):
    from fastslow.tasks import registry

    task = registry.load_task("arithmetic", limit=6)
    answers = {ex.question: ex.answer for ex in task.examples}

    def model_fn(r, k):
        if r.prefill == "The answer is":
            return " 0."
        return f" The answer is {answers[r.messages[-1]['content'].split(chr(10))[0]]}."

    store = Store(tmp_path / "cache.sqlite")
    inner = ScriptedModel(model_fn)
    out = tmp_path / "run"
    summary = evaluate(_config(), out, model=CachedModel(inner, store), progress=False)
    assert summary["methods"]["cot"]["accuracy"] == 1.0
    assert summary["methods"]["direct"]["n"] == 6
    assert (out / "config.json").exists() and (out / "summary.json").exists()
    rows = read_rows(out / "traces.jsonl")
    assert len(rows) == 12 and {r["method"] for r in rows} == {"direct", "cot"}
    calls = inner.generate_calls

    # Same directory: every trace is resumed, nothing is generated.
    again = evaluate(_config(), out, model=CachedModel(inner, store), progress=False)
    assert inner.generate_calls == calls
    assert again["run"]["traces_resumed"] == 12 and again["run"]["traces_new"] == 0

    # A fresh directory with the same arguments: all generations come from the cache.
    m = CachedModel(inner, store)
    third = evaluate(_config(), tmp_path / "run2", model=m, progress=False)
    assert inner.generate_calls == calls
    assert third["run"]["generations_new"] == 0 and third["run"]["generations_cached"] == 12
    for name, stats in summary["methods"].items():
        for key in ("accuracy", "completion_tokens", "calls", "n"):
            assert third["methods"][name][key] == stats[key]

    report = render(out)
    assert (out / "plots" / "pareto.png").stat().st_size > 1000
    assert "| cot | 100.0%" in report.read_text()


def test_partial_run_completes_without_duplicates(tmp_path):
    inner = ScriptedModel(lambda r, k: " The answer is 1.")
    out = tmp_path / "run"
    cfg = EvalConfig(methods=["direct"], task="coin_flip", limit=10, chunk=3)
    evaluate(cfg, out, model=inner, progress=False)
    lines = (out / "traces.jsonl").read_text().splitlines()
    (out / "traces.jsonl").write_text("\n".join(lines[:4]) + "\n" + lines[4][:20])  # killed mid-write
    inner2 = ScriptedModel(lambda r, k: " The answer is 1.")
    s = evaluate(cfg, out, model=inner2, progress=False)
    ids = [r["example_id"] for r in read_rows(out / "traces.jsonl")]
    assert len(ids) == 10 and len(set(ids)) == 10
    assert s["run"]["traces_resumed"] == 4 and len(inner2.requests) == 6


def test_other_settings_in_same_directory_are_refused(tmp_path):
    inner = ScriptedModel(lambda r, k: " 1")
    evaluate(EvalConfig(methods=["direct"], task="coin_flip", limit=3), tmp_path, model=inner, progress=False)
    with pytest.raises(FastslowError, match="differs in: limit"):
        evaluate(
            EvalConfig(methods=["direct"], task="coin_flip", limit=4), tmp_path, model=inner, progress=False
        )


def test_unknown_method_fails_before_anything_is_written(tmp_path):
    with pytest.raises(FastslowError, match="unknown method 'nope'"):
        evaluate(
            EvalConfig(methods=["nope"], task="coin_flip", limit=3),
            tmp_path / "r",
            model=ScriptedModel([]),
            progress=False,
        )
    assert not (tmp_path / "r").exists()


def test_pareto_front():
    pts = [(10, 50), (100, 80), (50, 40), (200, 80), (5, 10)]
    assert pareto_front(pts) == [4, 0, 1]


def test_summary_json_is_plain_json(tmp_path):
    evaluate(
        EvalConfig(methods=["direct"], task="coin_flip", limit=2),
        tmp_path,
        model=ScriptedModel(lambda r, k: " yes"),
        progress=False,
    )
    data = json.loads((tmp_path / "summary.json").read_text())
    direct = data["methods"]["direct"]
    assert set(direct) >= {"accuracy", "ci95", "completion_tokens", "calls", "seconds", "unanswered"}
    rows = read_rows(tmp_path / "traces.jsonl")
    right = sum(r["score"] for r in rows)  # " yes" to two coin flips: right where the answer is yes
    assert direct["n"] == 2 and direct["accuracy"] == right / 2 and direct["calls"] == 1.0
    assert direct["ci95"][0] <= direct["accuracy"] <= direct["ci95"][1]
    assert direct["completion_tokens"] == sum(r["completion_tokens"] for r in rows) / 2


def test_train_split_is_evaluated_and_a_change_of_split_is_refused(tmp_path):
    inner = ScriptedModel(lambda r, k: " 1")
    cfg = EvalConfig(methods=["direct"], task="coin_flip", limit=3, split="train", seed=12)
    evaluate(cfg, tmp_path, model=inner, progress=False)
    ids = [r["example_id"] for r in read_rows(tmp_path / "traces.jsonl")]
    assert len(ids) == 3 and all("-train-" in i for i in ids)
    with pytest.raises(FastslowError, match="differs in: split"):
        evaluate(
            EvalConfig(methods=["direct"], task="coin_flip", limit=3, seed=12),
            tmp_path,
            model=inner,
            progress=False,
        )


def test_the_train_split_at_primes_seed_is_refused_before_anything_is_written(tmp_path):
    cfg = EvalConfig(methods=["direct"], task="coin_flip", limit=3, split="train")
    with pytest.raises(FastslowError, match="trained embedded-reasoner on"):
        evaluate(cfg, tmp_path / "r", model=ScriptedModel(lambda r, k: " 1"), progress=False)
    assert not (tmp_path / "r").exists()


def test_a_run_written_before_the_split_field_resumes_as_the_test_split(tmp_path):
    inner = ScriptedModel(lambda r, k: " 1")
    cfg = EvalConfig(methods=["direct"], task="coin_flip", limit=3)
    evaluate(cfg, tmp_path, model=inner, progress=False)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["eval"]["split"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    again = evaluate(cfg, tmp_path, model=inner, progress=False)
    assert again["run"]["traces_resumed"] == 3 and again["run"]["traces_new"] == 0


def test_report_plots_self_consistency_by_number_of_samples(tmp_path):
    from fastslow.tasks import registry

    task = registry.load_task("arithmetic", limit=4)
    answers = {ex.question: ex.answer for ex in task.examples}

    def model_fn(r, k):  # cot right; of sc's 8 samples, 3 right and 5 answering 0
        right = answers[r.messages[-1]["content"].split(chr(10))[0]]
        return f" The answer is {right if r.temperature == 0 or k < 3 else 0}."

    out = tmp_path / "run"
    cfg = EvalConfig(methods=["cot", "sc"], task="arithmetic", limit=4)
    summary = evaluate(cfg, out, model=ScriptedModel(model_fn), progress=False)
    assert summary["methods"]["sc"]["accuracy"] == 0.0 and summary["methods"]["cot"]["accuracy"] == 1.0
    text = render(out).read_text()
    assert "One sample: 37.5%; all 8: 0.0%" in text
    assert (out / "plots" / "votes.png").stat().st_size > 1000

    plain = tmp_path / "plain"
    evaluate(
        EvalConfig(methods=["cot"], task="arithmetic", limit=4),
        plain,
        model=ScriptedModel(model_fn),
        progress=False,
    )
    assert "Self-consistency by number" not in render(plain).read_text()
    assert not (plain / "plots" / "votes.png").exists()
    assert "voted with weights" not in text


def test_report_gives_the_weighted_votes_curve_when_the_run_voted_with_weights(tmp_path):
    from fastslow.tasks import registry

    task = registry.load_task("arithmetic", limit=4)
    answers = {ex.question: ex.answer for ex in task.examples}

    def model_fn(r, k):  # of sc's 8 samples, 3 right and likely, 5 answering 0 and unlikely
        right = answers[r.messages[-1]["content"].split(chr(10))[0]]
        return f" The answer is {right if k < 3 else 0}."

    # Four tokens a sample (the scripted model counts words): weight 1 for the right ones, e^-2 for
    # the wrong ones, so the weighted vote is 3 against 5 * 0.135 and the right answer wins.
    model = ScriptedModel(model_fn, logprob=lambda r, k: 0.0 if k < 3 else -8.0)
    out = tmp_path / "run"
    cfg = EvalConfig(methods=["sc"], task="arithmetic", limit=4, params=["sc.vote=weighted"])
    summary = evaluate(cfg, out, model=model, progress=False)
    assert summary["methods"]["sc"]["accuracy"] == 1.0
    text = render(out).read_text()
    assert "One sample: 37.5%; all 8: 0.0%" in text  # the majority's curve, on the same samples
    assert "their vote over all 8 samples: 100.0%" in text


def test_an_answer_the_format_loses_shows_as_unanswered_not_only_as_wrong(tmp_path):
    from fastslow.report import HEADERS, table_rows

    def respond(r, k):  # direct: nothing; cot: a chain without the marker, then an empty reply
        if r.prefill == "The answer is" or r.prefill.endswith(" is"):
            return ""
        return " I am not sure how coins work"

    cfg = EvalConfig(methods=["direct", "cot"], task="coin_flip", limit=4, seed=3)
    summary = evaluate(cfg, tmp_path, model=ScriptedModel(respond), progress=False)
    assert summary["methods"]["cot"]["unanswered_share"] == 1.0
    assert summary["methods"]["cot"]["calls"] == 2.0  # the extraction call was made, and found nothing
    assert summary["methods"]["direct"]["unanswered_share"] == 1.0
    rows = {r[0]: dict(zip(HEADERS, r)) for r in table_rows(summary)}
    assert rows["cot"]["unanswered"] == "100%" and rows["cot"]["accuracy"] == "0.0%"
    from fastslow.report import render

    assert "| unanswered |" in Path(render(tmp_path)).read_text()


def test_the_summary_and_report_say_where_a_method_fell_back(tmp_path):
    """usc's selection "Response X" (what embedded-reasoner writes) names no response: the method
    falls back to the majority vote, and the summary and report count it; cot has nothing to parse."""

    def model_fn(r, k):
        if "most consistent response" in r.messages[-1]["content"]:
            return " X. The answer is 3."
        return " The answer is 3."

    out = tmp_path / "run"
    cfg = EvalConfig(methods=["cot", "usc"], task="arithmetic", limit=3)
    summary = evaluate(cfg, out, model=ScriptedModel(model_fn), progress=False)
    usc, cot = summary["methods"]["usc"], summary["methods"]["cot"]
    assert usc["parse_errors"] == 3 and "names no single response" in usc["parse_error_example"]
    assert cot["parse_errors"] == 0 and cot["parse_error_example"] is None
    text = render(out).read_text()
    assert "- usc: its own step did not parse on 3 of 3 questions" in text and "- cot:" not in text
