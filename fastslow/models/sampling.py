"""Exact nucleus (top-p) sampling without sorting the vocabulary.

transformers' ``TopPLogitsWarper`` sorts every row's 49,152 logits at every step, and
``torch.multinomial`` then draws from the full row: on two CPU cores that was 40% of a sampled
decode's time (``benchmarks/profile_decode.py``). The nucleus is almost always a handful of
tokens, so ``sample_next`` takes the ``candidates`` highest logits (``topk``, no full sort), and
computes their probabilities against the whole row's normaliser (``logsumexp``). A row whose
candidates hold at least ``top_p`` of the mass has its whole nucleus among them, and is sampled
from them; any other row falls back to the full sort. The nucleus is transformers': token ``j``
(in descending order) is kept when the tokens above it hold less than ``top_p`` of the mass, and
the highest token is always kept. ``tests/models/test_sampling.py`` compares token frequencies
against ``TopPLogitsWarper`` + ``multinomial`` on fixed logits.
"""

from __future__ import annotations

from typing import Any

CANDIDATES = 64


def nucleus_reference(scores: Any, top_p: float, generator: Any) -> Any:
    """transformers' top-p warper and a multinomial draw: the reference (and the fallback)."""
    import torch
    from transformers import TopPLogitsWarper

    probs = torch.softmax(TopPLogitsWarper(top_p)(None, scores), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


def sample_next(
    logits: Any, temperature: float, top_p: float, generator: Any, candidates: int = CANDIDATES
) -> Any:
    """One token per row of ``logits`` (rows × vocabulary, float32), sampled at ``temperature``
    from the ``top_p`` nucleus; the same distribution as transformers' temperature and top-p
    warpers followed by ``torch.multinomial``."""
    import torch

    scores = logits / temperature
    if top_p >= 1.0:
        return torch.multinomial(torch.softmax(scores, dim=-1), 1, generator=generator).squeeze(1)
    k = min(candidates, scores.shape[-1])
    top, index = scores.topk(k, dim=-1)  # descending
    probs = (top - torch.logsumexp(scores, dim=-1, keepdim=True)).exp()
    above = probs.cumsum(dim=-1) - probs  # the mass of the tokens above each candidate
    keep = above < top_p
    keep[:, 0] = True
    covered = probs.sum(dim=-1) >= top_p  # the nucleus ends inside the candidates
    chosen = torch.empty(scores.shape[0], dtype=torch.long, device=scores.device)
    rows = covered.nonzero().squeeze(1)
    if rows.numel():
        weights = torch.where(keep[rows], probs[rows], 0.0)
        pick = torch.multinomial(weights, 1, generator=generator)
        chosen[rows] = index[rows].gather(1, pick).squeeze(1)
    rest = (~covered).nonzero().squeeze(1)
    if rest.numel():
        chosen[rest] = nucleus_reference(scores[rest], top_p, generator)
    return chosen
