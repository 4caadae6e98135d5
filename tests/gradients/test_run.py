"""The recipe end to end on a tiny random Llama loaded through load_model("hf:PATH")."""

import json
import math

import pytest

from fastslow.errors import FastslowError
from fastslow.gradients.run import ROWS_FILE, SKIPPED_FILE, GradientsConfig, run_gradients
from tests.gradients.conftest import save_tiny_llama, write_jsonl

TYPES = ("none", "detailed", "irrelevant")


def _config(tiny_model_dir, tiny_data, **kw):
    return GradientsConfig(data={t: tiny_data[t] for t in TYPES}, model=f"hf:{tiny_model_dir}", **kw)


def _rows(out):
    return [json.loads(line) for line in (out / ROWS_FILE).read_text().splitlines()]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, tiny_model, tiny_model_dir, tiny_data):
    out = tmp_path_factory.mktemp("full")
    summary = run_gradients(_config(tiny_model_dir, tiny_data), out, progress=False, model=tiny_model)
    return out, summary


def test_rows_summary_and_config_are_written(full_run, tiny_model):
    out, summary = full_run
    rows = _rows(out)
    assert len(rows) == 3 * 6 * 2 * 7  # types x examples x layers x projections
    first = rows[0]
    assert set(first) >= {"type", "id", "layer", "module", "S_sum", "S_max", "S_min", "ratio", "fro", "loss"}
    assert all(r["M_min"] <= r["M_mean"] <= r["M_max"] and r["M_min"] < 0 < r["M_max"] for r in rows)
    assert all(
        math.isfinite(r["S_sum"]) and r["S_sum"] > 0 and r["S_min"] <= r["S_max"] <= r["S_sum"] for r in rows
    )
    assert all(r["ratio"] == pytest.approx(r["S_max"] / r["S_sum"]) for r in rows)
    assert summary["run"]["examples_new"] == 18 and summary["run"]["layers"] == 2
    assert set(summary["types"]) == set(TYPES) and summary["types"]["none"]["n"] == 6
    assert "detailed:irrelevant" in summary["pairs"] and "none:detailed" in summary["pairs"]
    config = json.loads((out / "config.json").read_text())
    assert config["command"] == "gradients" and config["model_id"] == tiny_model.identity
    assert json.loads((out / "summary.json").read_text())["types"]["none"]["n"] == 6
    timing = [json.loads(line) for line in (out / "timing.jsonl").read_text().splitlines()]
    assert len(timing) == 18 and summary["run"]["seconds_per_example"] > 0
    assert set(summary["run"]["seconds_by_type"]) == set(TYPES)


def test_a_resumed_run_ends_identical_to_an_uninterrupted_one(
    full_run, tmp_path, tiny_model, tiny_model_dir, tiny_data
):
    expected = _rows(full_run[0])
    out = tmp_path / "resumed"
    config = _config(tiny_model_dir, tiny_data)
    first = run_gradients(config, out, progress=False, model=tiny_model, budget=7)
    assert first["run"]["examples_new"] == 7 and first["run"]["examples_left"] == 11
    # An interruption in the middle of writing example 8: 5 of its rows and a torn line.
    partial = [json.dumps(r) for r in expected[7 * 14 : 7 * 14 + 5]]
    with open(out / ROWS_FILE, "a") as f:
        f.write("\n".join(partial) + "\n" + partial[0][:20])
    again = run_gradients(config, out, progress=False, model=tiny_model)
    assert again["run"]["examples_resumed"] == 7 and again["run"]["examples_new"] == 11
    assert _rows(out) == expected
    assert again["types"] == full_run[1]["types"]
    last = run_gradients(config, out, progress=False, model=tiny_model)  # nothing left to do
    assert last["run"]["examples_new"] == 0 and _rows(out) == expected


def test_too_long_examples_are_skipped_and_reported_never_nan(
    tmp_path, tiny_model, tiny_model_dir, tiny_data
):
    from fastslow.gradients.data import read_responses
    from fastslow.gradients.encode import encode

    def lengths(t):
        return [
            len(encode(tiny_model.tokenizer, e.prompt, e.response).ids) for e in read_responses(tiny_data[t])
        ]

    limit = max(lengths("none"))  # every bare answer fits, most chains of thought do not
    assert min(lengths("detailed")) > limit
    config = _config(tiny_model_dir, tiny_data, max_length=limit)
    summary = run_gradients(config, tmp_path, progress=False, model=tiny_model)
    skipped = [json.loads(line) for line in (tmp_path / SKIPPED_FILE).read_text().splitlines()]
    assert len(skipped) == 12 and all("too long" in s["reason"] and s["tokens"] > limit for s in skipped)
    assert summary["skipped"] == skipped and {s["type"] for s in skipped} == {"detailed", "irrelevant"}
    rows = _rows(tmp_path)
    assert all(r["tokens"] <= limit and math.isfinite(r["loss"]) for r in rows)
    assert summary["types"]["none"]["n"] == 6 and summary["types"]["detailed"]["n"] == 0
    again = run_gradients(config, tmp_path, progress=False, model=tiny_model)  # skipped ones are not retried
    assert again["run"]["examples_new"] == 0


def test_fast_path_agrees_with_the_full_svd(full_run, tmp_path, tiny_model, tiny_model_dir, tiny_data):
    exact = run_gradients(
        _config(tiny_model_dir, tiny_data, exact_svd=True), tmp_path, progress=False, model=tiny_model
    )
    assert exact["run"]["path"] == "full_svd"
    for a, b in zip(_rows(full_run[0]), _rows(tmp_path)):
        assert (a["type"], a["id"], a["layer"], a["module"]) == (b["type"], b["id"], b["layer"], b["module"])
        assert b["path"] == "full_svd" and a["path"] in ("lowrank", "dense")
        assert a["loss"] == b["loss"]
        for k in ("S_sum", "S_max", "fro", "ratio"):
            assert abs(a[k] - b[k]) <= 1e-4 * abs(b[k]), k
        # S_min is resolved to float32 rounding of the autograd gradient, relative to S_max.
        assert abs(a["S_min"] - b["S_min"]) <= 1e-5 * b["S_max"]
        # The entries: G formed from D and X against autograd's G (a mean of entries that cancel is
        # compared on the scale of the largest entry).
        scale = max(abs(b["M_max"]), abs(b["M_min"]))
        for k in ("M_max", "M_min"):
            assert abs(a[k] - b[k]) <= 1e-4 * scale, k
        assert abs(a["M_mean"] - b["M_mean"]) <= 1e-6 * scale


def test_attention_only_and_a_changed_setting_is_refused(tmp_path, tiny_model, tiny_model_dir, tiny_data):
    config = _config(tiny_model_dir, tiny_data, modules="attn", limit=2)
    summary = run_gradients(config, tmp_path, progress=False, model=tiny_model)
    assert len(_rows(tmp_path)) == 3 * 2 * 2 * 4 and summary["modules"] == ["q", "k", "v", "o"]
    with pytest.raises(FastslowError, match="differs in: modules"):
        run_gradients(_config(tiny_model_dir, tiny_data, limit=2), tmp_path, progress=False, model=tiny_model)


def test_changed_data_is_refused(tmp_path, tiny_model, tiny_model_dir):
    data = write_jsonl(tmp_path / "d.jsonl", [{"id": "a", "prompt": "Say hi.", "response": "Hi."}])
    config = GradientsConfig(data={"fast": str(data)}, model=f"hf:{tiny_model_dir}")
    run_gradients(config, tmp_path / "run", progress=False, model=tiny_model)
    write_jsonl(data, [{"id": "a", "prompt": "Say hi.", "response": "Hello."}])
    with pytest.raises(FastslowError, match="contents of fast's data file"):
        run_gradients(config, tmp_path / "run", progress=False, model=tiny_model)


def test_loads_the_model_from_its_spec_and_computes_in_float32(tmp_path, tiny_tokenizer, tiny_data):
    import torch
    from transformers import AutoModelForCausalLM

    from fastslow.models.registry import load_model

    folder = save_tiny_llama(tmp_path / "bf16", tiny_tokenizer, seed=1)
    AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16).save_pretrained(
        folder
    )  # a bf16 checkpoint
    config = GradientsConfig(data={"none": tiny_data["none"]}, model=f"hf:{folder}", limit=2)
    summary = run_gradients(config, tmp_path / "spec", progress=False)
    assert summary["types"]["none"]["n"] == 2
    hf = load_model(f"hf:{folder}")
    for param in hf.model.parameters():  # weights held in bfloat16 are measured in float32
        param.data = param.data.to(torch.bfloat16)
    run_gradients(config, tmp_path / "cast", progress=False, model=hf)
    assert all(p.dtype == torch.float32 for p in hf.model.parameters())
    assert _rows(tmp_path / "cast") == _rows(tmp_path / "spec")


def test_unsupported_architecture_is_a_clear_error(tmp_path, tiny_tokenizer, tiny_data):
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = tmp_path / "gpt2"
    GPT2LMHeadModel(
        GPT2Config(vocab_size=len(tiny_tokenizer), n_embd=32, n_layer=2, n_head=4)
    ).save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    config = GradientsConfig(data={"none": tiny_data["none"]}, model=f"hf:{folder}")
    with pytest.raises(FastslowError, match="Llama, Qwen, Mistral and Gemma"):
        run_gradients(config, tmp_path / "run", progress=False)


def test_bad_configs_fail_before_any_model_is_loaded(tmp_path, tiny_data):
    cases = [
        (GradientsConfig(data={}), "at least one response type"),
        (GradientsConfig(data={"a/b": tiny_data["none"]}), "bad response type name"),
        (GradientsConfig(data={"none": tiny_data["none"]}, modules="ffn"), "unknown module set"),
        (GradientsConfig(data={"none": str(tmp_path / "missing.jsonl")}), "does not exist"),
    ]
    for config, message in cases:
        with pytest.raises(FastslowError, match=message):
            run_gradients(config, tmp_path / "run", progress=False, model=object())


def test_config_records_the_prompt_format_and_the_first_prompt(
    full_run, tmp_path, tiny_model, tiny_model_dir, tiny_data
):
    """A base model (no name marks it instruction-tuned) gets the paper's plain format by default,
    although its tokenizer has a chat template; an instruct one gets the template and the system line."""
    from fastslow.gradients.data import read_responses
    from fastslow.gradients.encode import SYSTEM_PROMPT

    assert tiny_model.tokenizer.chat_template
    question = read_responses(tiny_data["none"])[0].prompt
    out, summary = full_run
    recorded = json.loads((out / "config.json").read_text())["prompt_format"]
    assert recorded == {"requested": "auto", "used": "plain", "first_prompt": question + "\n"}
    assert summary["run"]["prompt_format"]["used"] == "plain"
    assert "base model" in summary["run"]["prompt_format"]["why"]

    instruct = GradientsConfig(data={"none": tiny_data["none"]}, model="hf:/models/Tiny-Instruct", limit=1)
    run_gradients(instruct, tmp_path / "instruct", progress=False, model=tiny_model)
    recorded = json.loads((tmp_path / "instruct" / "config.json").read_text())["prompt_format"]
    assert recorded["used"] == "chat" and recorded["first_prompt"].startswith(
        f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n{question}"
    )
    chat = _config(tiny_model_dir, tiny_data, prompt_format="chat", limit=1)
    run_gradients(chat, tmp_path / "chat", progress=False, model=tiny_model)
    assert json.loads((tmp_path / "chat" / "config.json").read_text())["prompt_format"]["used"] == "chat"
    assert _rows(tmp_path / "chat")[0]["tokens"] > _rows(out)[0]["tokens"]  # the template's tokens
    with pytest.raises(FastslowError, match="differs in: prompt_format"):
        run_gradients(
            _config(tiny_model_dir, tiny_data, prompt_format="plain", limit=1),
            tmp_path / "chat",
            progress=False,
            model=tiny_model,
        )


@pytest.mark.parametrize("exact_svd", [False, True])
def test_a_nan_gradient_with_a_finite_loss_stops_the_run(
    tmp_path, tiny_model, tiny_model_dir, tiny_data, exact_svd
):
    import torch

    def poison(module, args, output):  # the backward pass through this layer turns NaN
        output.register_hook(lambda grad: torch.full_like(grad, float("nan")))

    layer = tiny_model.model.model.layers[1].self_attn.o_proj
    handle = layer.register_forward_hook(poison)
    try:
        config = _config(tiny_model_dir, tiny_data, exact_svd=exact_svd, limit=2)
        with pytest.raises(FastslowError, match=r"none example .*: the loss is finite .* is not \(NaN"):
            run_gradients(config, tmp_path, progress=False, model=tiny_model)
    finally:
        handle.remove()
    assert not (tmp_path / ROWS_FILE).exists() or _rows(tmp_path) == []  # no NaN row was written


def test_a_non_finite_loss_is_skipped_not_measured(tmp_path, tiny_model, tiny_model_dir, tiny_data):
    def blow_up(module, args, output):
        return output * float("inf")

    handle = tiny_model.model.model.norm.register_forward_hook(blow_up)
    try:
        summary = run_gradients(
            _config(tiny_model_dir, tiny_data, limit=1), tmp_path, progress=False, model=tiny_model
        )
    finally:
        handle.remove()
    assert [s["reason"] for s in summary["skipped"]] == ["non-finite loss"] * 3
    assert summary["types"]["none"]["n"] == 0


def test_a_lora_adapter_counts_as_its_base_models_kind(tmp_path, tiny_tokenizer):
    from fastslow.gradients.encode import resolve_prompt_format
    from fastslow.gradients.run import model_names

    folder = tmp_path / "my-finetune"
    folder.mkdir()
    assert resolve_prompt_format("auto", tiny_tokenizer, model_names(f"hf:{folder}", object()))[0] == "plain"
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "embedded"}))
    assert resolve_prompt_format("auto", tiny_tokenizer, model_names(f"hf:{folder}", object()))[0] == "chat"
