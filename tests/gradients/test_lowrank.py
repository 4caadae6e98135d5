"""The low-rank identity against the full SVD, on random float64 layers."""

import pytest
import torch

from fastslow.gradients.lowrank import (
    RTOL,
    gradient_spectrum,
    gradient_spectrum_exact,
    spectrum_of,
    triangular_factor,
    use_lowrank,
)

FIELDS = ("s_sum", "s_max", "s_min", "fro", "ratio")


def _rel(a, b):
    return abs(a - b) / abs(b)


@pytest.mark.parametrize(
    "T, out, inp",
    [
        (5, 64, 48),  # T << min(in, out): the QR route
        (40, 64, 48),  # T close to min(in, out)
        (48, 64, 48),  # T == min(in, out): dense
        (100, 64, 48),  # T > min(in, out): dense, full rank
        (30, 16, 200),  # T between out and in
        (1, 32, 32),  # one position: a rank-one gradient
    ],
)
def test_matches_the_full_svd_in_float64(T, out, inp):
    g = torch.Generator().manual_seed(T * 1000 + out + inp)
    D = torch.randn(T, out, generator=g, dtype=torch.float64)
    X = torch.randn(T, inp, generator=g, dtype=torch.float64)
    fast = gradient_spectrum(D, X)
    exact = gradient_spectrum_exact(D.T @ X)
    for f in FIELDS:
        assert _rel(getattr(fast, f), getattr(exact, f)) < 1e-4, f
    assert fast.rank == exact.rank == min(T, out, inp)
    assert fast.path == ("lowrank" if T < min(out, inp) else "dense")
    assert exact.path == "full_svd"


def test_rank_deficient_inputs_give_the_smallest_nonzero_singular_value():
    # 20 positions but only 6 distinct input rows (as layer 0 sees repeated tokens): rank 6.
    g = torch.Generator().manual_seed(1)
    D = torch.randn(20, 64, generator=g, dtype=torch.float64)
    X = torch.randn(6, 48, generator=g, dtype=torch.float64)[torch.arange(20) % 6]
    fast, exact = gradient_spectrum(D, X), gradient_spectrum_exact(D.T @ X)
    assert fast.rank == exact.rank == 6
    assert _rel(fast.s_min, exact.s_min) < 1e-4
    assert fast.s_min > RTOL * fast.s_max
    s = torch.linalg.svdvals(D.T @ X)
    assert float(s[6]) < 1e-12 * float(s[0])  # what the full SVD's plain minimum would report


def test_float32_inputs_are_computed_in_float64():
    g = torch.Generator().manual_seed(2)
    D = torch.randn(8, 40, generator=g).float()
    X = torch.randn(8, 30, generator=g).float()
    fast = gradient_spectrum(D, X)
    exact = gradient_spectrum_exact(D.double().T @ X.double())
    for f in FIELDS:
        assert _rel(getattr(fast, f), getattr(exact, f)) < 1e-10, f


def test_shared_input_factor_gives_the_same_spectrum():
    g = torch.Generator().manual_seed(3)
    X = torch.randn(10, 50, generator=g, dtype=torch.float64)
    D = torch.randn(10, 60, generator=g, dtype=torch.float64)
    assert gradient_spectrum(D, X, x_factor=triangular_factor(X)) == gradient_spectrum(D, X)


@pytest.mark.parametrize("repeats", [False, True])
def test_triangular_factor_is_the_r_of_the_qr(repeats):
    # Cholesky of X Xᵀ where it holds; Householder QR where X Xᵀ is singular (a repeated row).
    g = torch.Generator().manual_seed(4)
    X = torch.randn(12, 40, generator=g, dtype=torch.float64)
    if repeats:
        X[7] = X[2]
    R = triangular_factor(X)
    qr_r = torch.linalg.qr(X.T, mode="r").R
    assert torch.allclose(R.T @ R, X @ X.T, rtol=1e-12, atol=1e-12 * float((X @ X.T).abs().max()))
    assert torch.equal(R, R.triu())
    if repeats:  # Cholesky stopped: the factor is QR's own
        assert torch.equal(R, qr_r)
    else:  # R is unique up to the signs of its rows: QR's R up to them
        assert torch.allclose(R.abs(), qr_r.abs(), atol=1e-10)


def test_zero_gradient_and_tolerance():
    zero = gradient_spectrum(torch.zeros(4, 20), torch.randn(4, 10))
    assert (zero.s_sum, zero.s_max, zero.s_min, zero.rank, zero.ratio) == (0.0, 0.0, 0.0, 0, 0.0)
    s = spectrum_of(torch.tensor([2.0, 1.0, 1e-6, 1e-9], dtype=torch.float64), "lowrank")
    assert s.rank == 2 and s.s_min == 1.0 and s.s_sum == 3.0  # 1e-6 <= RTOL * 2: counted as zero
    assert s.fro == pytest.approx((4 + 1 + 1e-12 + 1e-18) ** 0.5)
    assert s.ratio == pytest.approx(2 / 3)


def test_shape_errors_and_route():
    with pytest.raises(ValueError):
        gradient_spectrum(torch.zeros(3, 4), torch.zeros(5, 4))
    assert use_lowrank(10, 64, 48) and not use_lowrank(48, 64, 48)
