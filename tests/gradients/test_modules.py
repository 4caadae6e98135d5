import pytest

from fastslow.errors import FastslowError
from fastslow.gradients.modules import find_projections, module_kinds

TINY = dict(
    vocab_size=64,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=3,
    num_attention_heads=4,
    num_key_value_heads=2,
)


def _model(kind):
    import transformers

    config = getattr(transformers, f"{kind}Config")(**TINY)
    return getattr(transformers, f"{kind}ForCausalLM")(config)


@pytest.mark.parametrize("kind", ["Llama", "Qwen2", "Mistral", "Gemma"])
def test_finds_every_projection_of_llama_qwen_mistral_gemma(kind):
    model = _model(kind)
    found = find_projections(model, "all")
    assert len(found) == 3 * 7
    assert [p.kind for p in found[:7]] == ["q", "k", "v", "o", "gate", "up", "down"]
    assert [p.layer for p in found] == [i for i in range(3) for _ in range(7)]
    assert found[0].name == "model.layers.0.self_attn.q_proj"
    assert found[0].module is model.model.layers[0].self_attn.q_proj
    assert [p.kind for p in find_projections(model, "attn")] == ["q", "k", "v", "o"] * 3
    assert [p.kind for p in find_projections(model, "mlp")] == ["gate", "up", "down"] * 3


def test_unsupported_architectures_get_a_clear_error():
    from transformers import GPT2Config, GPT2LMHeadModel

    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_embd=32, n_layer=2, n_head=4))
    with pytest.raises(FastslowError, match="GPT2LMHeadModel.*Llama, Qwen, Mistral and Gemma"):
        find_projections(gpt2)


def test_a_missing_projection_names_itself_and_the_way_out():
    model = _model("Llama")
    del model.model.layers[1].mlp.gate_proj
    with pytest.raises(FastslowError, match=r"layer 1 has no linear mlp.gate_proj.*--modules attn"):
        find_projections(model, "all")
    assert len(find_projections(model, "attn")) == 12


def test_module_sets():
    assert module_kinds("attn") == ("q", "k", "v", "o")
    with pytest.raises(FastslowError, match="unknown module set"):
        module_kinds("ffn")
