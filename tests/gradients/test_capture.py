"""Hooks on a tiny Llama: Dᵀ X is the weight gradient autograd computes; the loss reads the response only."""

import pytest
import torch
import torch.nn.functional as F

from fastslow.gradients.capture import CaptureLayerIO
from fastslow.gradients.encode import encode
from fastslow.gradients.modules import find_projections
from fastslow.gradients.run import backward_exact, prepare_model, response_loss

PROMPT = "Amy has 10 stamps. Amy buys 5 more stamps. How many stamps does Amy have now?"
RESPONSE = "Amy starts with 10 stamps. Amy buys 5 more: 10 + 5 = 15. The answer is 15."


def test_captured_inputs_and_output_grads_give_the_autograd_gradient(tiny_model):
    model = prepare_model(tiny_model.model)
    projections = find_projections(model)
    enc = encode(tiny_model.tokenizer, PROMPT, RESPONSE)
    _, grads = backward_exact(model, projections, enc)
    with CaptureLayerIO(projections) as io:
        response_loss(model, enc, track_inputs=True).backward()
    for p in projections:
        X, D = io[p.name].inputs, io[p.name].output_grads
        assert X.shape == (len(enc.ids), p.module.in_features) and D.shape == (
            len(enc.ids),
            p.module.out_features,
        )
        torch.testing.assert_close(D.T @ X, grads[p.name], rtol=1e-4, atol=1e-7)
        assert all(w.grad is None and not w.requires_grad for w in model.parameters())
    # Prompt positions get gradient through attention (layer 0's keys), the last position none.
    d = io["model.layers.0.self_attn.k_proj"].output_grads
    assert d[: enc.prompt_tokens - 1].abs().sum() > 0
    assert io["model.layers.1.mlp.down_proj"].output_grads[-1].abs().sum() == 0


def test_hooks_are_removed_on_exit(tiny_model):
    model = prepare_model(tiny_model.model)
    projections = find_projections(model)
    with CaptureLayerIO(projections):
        pass
    assert all(not p.module._forward_hooks for p in projections)


def test_response_loss_is_the_mean_over_response_tokens(tiny_model):
    model = prepare_model(tiny_model.model)
    enc = encode(tiny_model.tokenizer, PROMPT, RESPONSE)
    ids = torch.tensor([enc.ids])
    labels = ids.clone()
    labels[0, : enc.prompt_tokens] = -100
    with torch.no_grad():
        logits = model(ids).logits[0]
        expected = F.cross_entropy(logits[:-1], labels[0, 1:], ignore_index=-100)
    got = response_loss(model, enc, track_inputs=True)
    torch.testing.assert_close(got.detach(), expected, rtol=1e-5, atol=1e-6)
    assert got.dtype == torch.float32


@pytest.mark.parametrize("kind", ["Llama", "Qwen2", "Qwen3", "Mistral", "Gemma", "Gemma2", "Gemma3Text"])
def test_input_embeddings_path_gives_the_same_loss_on_every_supported_family(kind):
    """The fast path feeds embeddings (Gemma scales them inside the model, or inside its embedding)."""
    import transformers

    from fastslow.gradients.encode import Encoded
    from fastslow.gradients.run import backward_lowrank

    config = getattr(transformers, f"{kind}Config")(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
    )
    cls = "Gemma3ForCausalLM" if kind == "Gemma3Text" else f"{kind}ForCausalLM"
    torch.manual_seed(0)
    model = prepare_model(getattr(transformers, cls)(config))
    enc = Encoded(list(range(3, 20)), 7)
    ids = torch.tensor([enc.ids])
    with torch.no_grad():
        logits = model(ids).logits[0]
    expected = F.cross_entropy(logits[enc.prompt_tokens - 1 : -1], ids[0, enc.prompt_tokens :])
    loss, io = backward_lowrank(model, find_projections(model), enc)
    assert loss == pytest.approx(float(expected), rel=1e-5)
    assert all(slot.output_grads is not None for slot in io.values())
