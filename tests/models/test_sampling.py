"""The top-k pre-filtered nucleus sampler draws from transformers' top-p distribution."""

import pytest

from fastslow.models.sampling import CANDIDATES, nucleus_reference, sample_next


def _nucleus_probs(logits, temperature, top_p):
    """The exact distribution: transformers' temperature and top-p warpers, then a softmax."""
    import torch
    from transformers import TopPLogitsWarper

    return torch.softmax(TopPLogitsWarper(top_p)(None, logits[None] / temperature), dim=-1)[0]


def _rows():
    import torch

    g = torch.Generator().manual_seed(0)
    vocab = 1000
    peaked = torch.randn(vocab, generator=g) * 4  # a few tokens hold the mass: inside the candidates
    zipf = -1.1 * torch.log(torch.arange(1, vocab + 1, dtype=torch.float32))  # a long tail
    zipf = zipf[torch.randperm(vocab, generator=g)]
    flat = torch.randn(vocab, generator=g) * 0.3  # the nucleus reaches past the candidates: the fallback
    return {"peaked": peaked, "zipf": zipf, "flat": flat}


@pytest.mark.parametrize("name", ["peaked", "zipf", "flat"])
@pytest.mark.parametrize("temperature, top_p", [(0.7, 0.95), (1.0, 0.5)])
def test_token_frequencies_match_the_exact_nucleus_distribution(name, temperature, top_p):
    import torch

    logits = _rows()[name]
    draws = 40_000
    exact = _nucleus_probs(logits, temperature, top_p)
    batch = logits.expand(draws, -1).contiguous()
    ours = sample_next(batch, temperature, top_p, torch.Generator().manual_seed(1))
    theirs = nucleus_reference(batch / temperature, top_p, torch.Generator().manual_seed(2))
    # Sampling noise alone gives a total variation of about 0.5 * sum(sqrt(2 p (1 - p) / (pi N))).
    noise = 0.5 * (2 * exact * (1 - exact) / (torch.pi * draws)).sqrt().sum().item()
    distances = []
    for sampled in (ours, theirs):
        freq = torch.bincount(sampled, minlength=logits.numel()).float() / draws
        assert set(sampled.unique().tolist()) <= set(exact.nonzero().squeeze(1).tolist())  # never outside
        distances.append(0.5 * (freq - exact).abs().sum().item())
    assert distances[0] < 1.3 * noise + 0.003, (distances, noise)  # ours: no further from the law than
    assert distances[1] < 1.3 * noise + 0.003, (distances, noise)  # noise, as transformers' own draws


def test_the_flat_row_really_takes_the_fallback_and_the_peaked_one_does_not():
    import torch

    rows = _rows()
    for name, expect_fallback in (("flat", True), ("peaked", False)):
        probs = torch.softmax(rows[name] / 0.7, dim=-1)
        covered = probs.topk(CANDIDATES).values.sum().item() >= 0.95
        assert covered is not expect_fallback


def test_seeded_draws_repeat_and_the_highest_token_is_always_kept():
    import torch

    logits = torch.stack(list(_rows().values()))
    a = sample_next(logits, 0.7, 0.95, torch.Generator().manual_seed(5))
    b = sample_next(logits, 0.7, 0.95, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    tiny = torch.tensor([[5.0, 1.0, 0.0, -1.0]])  # top_p below the top token's own mass
    assert sample_next(tiny.expand(50, -1), 1.0, 0.01, torch.Generator().manual_seed(0)).eq(0).all()
