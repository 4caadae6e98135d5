"""Spectra spread over worker threads equal the serial ones, in projection order, and leave torch's
thread count as it was."""

import pytest
import torch

from fastslow.gradients.encode import encode
from fastslow.gradients.modules import find_projections
from fastslow.gradients.parallel import map_layers
from fastslow.gradients.run import (
    backward_exact,
    backward_lowrank,
    prepare_model,
    spectra_exact,
    spectra_lowrank,
)

PROMPT = "Amy has 10 stamps. Amy buys 5 more stamps. How many stamps does Amy have now?"
RESPONSE = "Amy starts with 10 stamps. Amy buys 5 more: 10 + 5 = 15. The answer is 15."


@pytest.fixture(scope="module")
def measured(tiny_model):
    model = prepare_model(tiny_model.model)
    projections = find_projections(model)
    enc = encode(tiny_model.tokenizer, PROMPT, RESPONSE)
    return (
        projections,
        backward_lowrank(model, projections, enc)[1],
        backward_exact(model, projections, enc)[1],
    )


@pytest.mark.parametrize("workers", [2, 5])
def test_workers_give_the_serial_spectra_in_order(measured, workers):
    projections, io, grads = measured
    threads = torch.get_num_threads()
    for spectra in (spectra_lowrank, spectra_exact):
        data = io if spectra is spectra_lowrank else grads
        serial = spectra(projections, data, workers=1)
        spread = spectra(projections, data, workers=workers)
        assert list(spread) == [p.name for p in projections] == list(serial)
        for name in serial:
            assert spread[name].s_sum == pytest.approx(serial[name].s_sum, rel=1e-12)
            assert spread[name].s_min == pytest.approx(serial[name].s_min, rel=1e-9)
            assert spread[name].rank == serial[name].rank
    assert torch.get_num_threads() == threads


def test_workers_share_layers_and_restore_threads_after_an_error(measured):
    projections, _, _ = measured
    seen: list[list[int]] = []
    threads = torch.get_num_threads()

    def compute(shard):
        seen.append(sorted({p.layer for p in shard}))
        assert torch.get_num_threads() == 1
        return {p.name: p.layer for p in shard}

    assert map_layers(projections, compute, workers=2) == {p.name: p.layer for p in projections}
    assert sorted(seen) == [[0], [1]]  # the tiny model's two layers, one per worker

    def broken(shard):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        map_layers(projections, broken, workers=2)
    assert torch.get_num_threads() == threads
