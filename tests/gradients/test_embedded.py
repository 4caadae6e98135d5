"""The fast path against the full SVD on the real embedded model (SmolLM2-135M-Instruct)."""

import pytest

from fastslow.gradients.data import make_data, read_responses
from fastslow.gradients.encode import encode
from fastslow.gradients.modules import find_projections
from fastslow.gradients.run import (
    backward_exact,
    backward_lowrank,
    prepare_model,
    spectra_exact,
    spectra_lowrank,
)


@pytest.mark.slow
def test_fast_and_full_svd_agree_on_the_embedded_model(embedded, tmp_path):
    model = prepare_model(embedded.model)
    projections = find_projections(model)
    assert len(projections) == 30 * 7
    files = make_data("distractor_arithmetic", tmp_path, n=2, seed=0)
    ex = read_responses(files["detailed"])[0]
    enc = encode(embedded.tokenizer, ex.prompt, ex.response)
    assert 0 < enc.prompt_tokens < len(enc.ids)
    loss_fast, io = backward_lowrank(model, projections, enc)
    fast = spectra_lowrank(projections, io)
    loss_full, grads = backward_exact(model, projections, enc)
    full = spectra_exact(projections, grads)
    assert loss_fast == pytest.approx(loss_full, rel=1e-6)
    for p in projections:
        a, b = fast[p.name], full[p.name]
        for field in ("s_sum", "s_max", "s_min", "fro", "ratio"):
            x, y = getattr(a, field), getattr(b, field)
            assert abs(x - y) < 1e-3 * abs(y), (p.name, field, x, y)
        assert abs(a.rank - b.rank) <= 1
