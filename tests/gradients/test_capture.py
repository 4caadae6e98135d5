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


def full_sequence_gradients(model, projections, enc):
    """Autograd weight gradients of the response loss over the whole sequence, last token included
    (the textbook way, independent of response_loss)."""
    ids = torch.tensor([enc.ids])
    labels = ids.clone()
    labels[0, : enc.prompt_tokens] = -100
    weights = [p.module.weight for p in projections]
    for w in weights:
        w.requires_grad_(True)
    try:
        logits = model(ids).logits[0]
        F.cross_entropy(logits[:-1], labels[0, 1:], ignore_index=-100).backward()
        return {p.name: p.module.weight.grad.clone() for p in projections}
    finally:
        for w in weights:
            w.grad = None
            w.requires_grad_(False)


def test_captured_inputs_and_output_grads_give_the_autograd_gradient(tiny_model):
    model = prepare_model(tiny_model.model)
    projections = find_projections(model)
    enc = encode(tiny_model.tokenizer, PROMPT, RESPONSE)
    _, grads = backward_exact(model, projections, enc)
    reference = full_sequence_gradients(model, projections, enc)
    with CaptureLayerIO(projections) as io:
        response_loss(model, enc, track_inputs=True).backward()
    positions = len(enc.ids) - 1  # the last token is only a target: the model never reads it
    for p in projections:
        X, D = io[p.name].inputs, io[p.name].output_grads
        assert X.shape == (positions, p.module.in_features) and D.shape == (positions, p.module.out_features)
        torch.testing.assert_close(D.T @ X, reference[p.name], rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(grads[p.name], reference[p.name], rtol=1e-4, atol=1e-7)
        assert all(w.grad is None and not w.requires_grad for w in model.parameters())
    # Prompt positions get gradient through attention (layer 0's keys).
    d = io["model.layers.0.self_attn.k_proj"].output_grads
    assert d[: enc.prompt_tokens - 1].abs().sum() > 0


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
