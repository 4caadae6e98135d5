"""The singular values of one example's weight gradient, without forming the gradient.

For a linear layer ``y = x Wᵀ`` run on the T positions of one example, the weight gradient is
``G = Dᵀ X`` (D: T × out, the loss's gradient with respect to the layer's outputs; X: T × in, the
layer's inputs), so its rank is at most T. With the thin QR factorization ``Xᵀ = Q R``,
``G = (Dᵀ Rᵀ) Qᵀ``, and because Q has orthonormal columns G has the singular values of the
out × T matrix ``Dᵀ Rᵀ``, whose squares are the eigenvalues of the T × T matrix
``R (D Dᵀ) Rᵀ``. R itself is the Cholesky factor of the T × T Gram matrix ``X Xᵀ``
(``Rᵀ R = X Xᵀ``; ``triangular_factor``). An out × in SVD becomes one T × T Gram matrix of X and its
Cholesky factor (shared by the layers that read the same input: q, k, v; gate, up), one T × T Gram
matrix of D and a symmetric T × T eigensolve. Of the statistics Li, Li & Zhou (2024, §3) read off
the full SVD, S_max and the Frobenius norm come out the same (to the rounding below); S_sum leaves
out the singular values below the tolerance (at most ``min(in, out) · RTOL · S_max`` of them in
all); and S_min is *not* the paper's: their code takes ``S.min()`` over all min(in, out) singular
values, which for a gradient of rank T < min(in, out) is a rounding-noise value of the float32
gradient (zero in exact arithmetic), while ours is the smallest singular value above the tolerance
(see the last paragraph).

Numerics: everything runs in float64 on the CPU, whatever the model's device or dtype. Going
through a Gram matrix squares the singular values, so a singular value σ carries an absolute
error of about ε·T·S_max²/σ: with ε = 1.1e-16 that is ~1e-9 relative at σ = S_max and ~5e-5 at the
tolerance below (σ = 1e-5·S_max), well inside the float32 noise of the gradient itself. (The first
version of this path took a second QR, of D, and a T × T SVD: ~1.5x slower for the same answer;
``benchmarks/bench_gradients.py`` compares against the full SVD.) When T is not smaller than
min(in, out) the core is as large as G itself; there we form G (in float64) and take its singular
values directly (``path == "dense"``).

S_min is the smallest *non-zero* singular value. A gradient of rank r < min(in, out) has
min(in, out) − r singular values that are zero in exact arithmetic but come out of a float32
gradient as rounding noise (about 1e-7 · S_max and up). We call a singular value non-zero when it
exceeds ``rtol · S_max`` with ``RTOL = 1e-5``: above the noise of a float32 forward and backward,
so that S_min, S_sum and the rank mean the same in the fast path and in the full-SVD reference.
S_sum sums the non-zero singular values; the ones below the tolerance could add at most
``min(in, out) · rtol · S_max`` to it. The Frobenius norm uses all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

RTOL = 1e-5  # singular values at or below RTOL * S_max count as zero (see the module docstring)


@dataclass(frozen=True)
class Spectrum:
    """What we keep of one gradient's singular values."""

    s_sum: float  # nuclear norm: the sum of the non-zero singular values
    s_max: float  # the largest singular value (spectral norm, σ1)
    s_min: float  # the smallest non-zero singular value (0.0 for a zero gradient)
    fro: float  # Frobenius norm
    rank: int  # how many singular values are non-zero
    # "lowrank" (T × T factor of X + eigensolve), "dense" (G from D, X) or "full_svd" (autograd G)
    path: str = "lowrank"

    @property
    def ratio(self) -> float:
        """The σ1 ratio S_max / S_sum that Li et al. (2024) plot beside the nuclear norm."""
        return self.s_max / self.s_sum if self.s_sum > 0 else 0.0


def spectrum_of(singular_values: torch.Tensor, path: str, rtol: float = RTOL) -> Spectrum:
    """Summarize a vector of singular values (any order) into a Spectrum."""
    s = singular_values.detach().to(torch.float64)
    if s.numel() == 0:
        return Spectrum(0.0, 0.0, 0.0, 0.0, 0, path)
    s_max = float(s.max())
    if not s_max > 0.0:  # a zero gradient (or NaN, which then shows in every field)
        return Spectrum(s_max, s_max, s_max, s_max, 0, path)
    kept = s[s > rtol * s_max]
    return Spectrum(
        s_sum=float(kept.sum()),
        s_max=s_max,
        s_min=float(kept.min()),
        fro=float(torch.sqrt((s * s).sum())),
        rank=int(kept.numel()),
        path=path,
    )


def use_lowrank(positions: int, out_features: int, in_features: int) -> bool:
    """The low-rank route pays off when the gradient's rank bound T is below min(in, out)."""
    return positions < min(out_features, in_features)


def triangular_factor(A: torch.Tensor) -> torch.Tensor:
    """An upper-triangular R with ``Rᵀ R = A Aᵀ`` (A: T × n), in float64: the R of the thin QR
    factorization ``Aᵀ = Q R`` (k × T, k = min(n, T)). Q's orthonormal columns never change singular
    values, so R is all the spectrum needs.

    For T ≤ n it is the Cholesky factor of the T × T Gram matrix ``A Aᵀ``: one matrix product and a
    T × T factorization: ~3x faster than Householder QR of the n × T ``Aᵀ`` for one factor (random
    matrices of the embedded model's shapes, one thread), and an example's spectra went from 0.44 s
    to 0.39 s (``benchmarks/RESULTS.md``). Cholesky is backward stable (``Rᵀ R = A Aᵀ + E`` with
    ``|E|`` of the order of ε·T·``‖A‖²``), which is the accuracy the Gram route below has anyway.
    When the Gram matrix is singular to working precision (the same input at two positions, as
    layer 0 sees for a repeated token), Cholesky stops and QR is taken.
    """
    a64 = A.detach().to(device="cpu", dtype=torch.float64)
    if a64.shape[0] <= a64.shape[1]:
        lower, info = torch.linalg.cholesky_ex(a64 @ a64.T)
        if int(info) == 0:
            return lower.T
    return torch.linalg.qr(a64.T, mode="r").R


def gradient_spectrum(
    D: torch.Tensor,
    X: torch.Tensor,
    rtol: float = RTOL,
    x_factor: torch.Tensor | None = None,
) -> Spectrum:
    """The spectrum of ``G = Dᵀ X`` from D (T × out) and X (T × in), never forming G when T is small.

    ``x_factor`` is ``triangular_factor(X)`` when the caller already has it: layers that read the
    same input (q, k, v; gate, up) share it.
    """
    if D.ndim != 2 or X.ndim != 2 or D.shape[0] != X.shape[0]:
        raise ValueError(
            f"expected D (T × out) and X (T × in) with the same T, got {tuple(D.shape)}, {tuple(X.shape)}"
        )
    positions, out_features = D.shape
    in_features = X.shape[1]
    if use_lowrank(positions, out_features, in_features):
        r_x = x_factor if x_factor is not None else triangular_factor(X)
        d64 = D.detach().to(device="cpu", dtype=torch.float64)
        core_gram = r_x @ (d64 @ d64.T) @ r_x.T  # k × k, k = min(in, T); eigenvalues = σ²
        squares = torch.linalg.eigvalsh(core_gram)
        return spectrum_of(squares.clamp_min(0.0).sqrt(), "lowrank", rtol)
    d64 = D.detach().to(device="cpu", dtype=torch.float64)
    x64 = X.detach().to(device="cpu", dtype=torch.float64)
    return spectrum_of(torch.linalg.svdvals(d64.T @ x64), "dense", rtol)


def gradient_spectrum_exact(G: torch.Tensor, rtol: float = RTOL) -> Spectrum:
    """The reference: the full SVD of an out × in gradient matrix (as Li et al. 2024 compute it,
    on the autograd gradient), here in float64 so that the reference is the accurate side."""
    return spectrum_of(
        torch.linalg.svdvals(G.detach().to(device="cpu", dtype=torch.float64)), "full_svd", rtol
    )
