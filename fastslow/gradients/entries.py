"""M_mean, M_max, M_min: the mean, largest and smallest entry of one example's weight gradient.

The authors' code records them for every gradient (``get_gradient_values.py`` in MingLiiii/
Layer_Gradient: ``param.grad.mean()``, ``.max()``, ``.min()``) beside the singular values. The paper
reports none of them and the authors' analysis scripts (``code_vis/``) read only S_sum, the σ1 ratio
and S_sum / loss; we compute them so that a run's rows hold every number their code writes, and
summarize them like the other statistics, but no finding rests on them.

With ``G = Dᵀ X`` (``lowrank.py``: D the output gradients, T × out; X the inputs, T × in):

- M_mean needs no gradient: ``sum(G) = Σ_t (Σ_o D[t, o]) (Σ_i X[t, i])``, O(T·(in + out)), float64.
- M_max and M_min need every entry: there is no shortcut to the largest entry of a product, so the
  fast path forms G here, one projection at a time, in float32 (the product autograd computes for
  a weight gradient, out × in × T multiply-adds) only to read its largest and smallest entries.
  This is the one place the fast path forms a gradient: it costs what autograd's weight gradients
  cost, and no SVD. Not timed on its own; the nearest measurement is the gap between the full
  path's forward and backward (with weight gradients) and the fast path's in
  ``benchmarks/RESULTS.md``, ~0.15 s of ~1.4 s an example on the embedded model on 2 cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Entries:
    """The entry statistics of one gradient."""

    mean: float  # M_mean
    max: float  # M_max
    min: float  # M_min


ZERO = Entries(0.0, 0.0, 0.0)  # a projection off the loss's graph: a zero gradient


def gradient_entries(D: torch.Tensor, X: torch.Tensor) -> Entries:
    """The entry statistics of ``G = Dᵀ X`` from D (T × out) and X (T × in)."""
    out_features, in_features = D.shape[1], X.shape[1]
    total = torch.dot(D.detach().double().sum(dim=1), X.detach().double().sum(dim=1))
    G = D.detach().float().T @ X.detach().float()
    return Entries(
        mean=float(total) / (out_features * in_features),
        max=float(G.max()),
        min=float(G.min()),
    )


def gradient_entries_exact(G: torch.Tensor) -> Entries:
    """The entry statistics of an autograd weight gradient (the mean in float64)."""
    G = G.detach()
    return Entries(mean=float(G.double().mean()), max=float(G.max()), min=float(G.min()))
