"""The in-place KV cache gives the same attention inputs as transformers' DynamicCache."""

import torch

from fastslow.models.kv_cache import InPlaceLayer


def test_updates_and_row_selection_match_the_concatenating_layer():
    from transformers.cache_utils import DynamicLayer

    g = torch.Generator().manual_seed(0)
    ours, theirs = InPlaceLayer(capacity=12), DynamicLayer()
    prompt = torch.randn(3, 2, 5, 4, generator=g), torch.randn(3, 2, 5, 4, generator=g)
    for layer in (ours, theirs):
        layer.update(*prompt)
    for step in range(6):
        new = (
            torch.randn(3 if step < 2 else 2, 2, 1, 4, generator=g),
            torch.randn(3 if step < 2 else 2, 2, 1, 4, generator=g),
        )
        if step == 2:  # row 1 leaves the batch; row 0 is copied (as the samples of one prompt are)
            index = torch.tensor([0, 2])
            for layer in (ours, theirs):
                layer.batch_select_indices(index)
        k1, v1 = ours.update(*new)
        k2, v2 = theirs.update(*new)
        assert torch.equal(k1, k2) and torch.equal(v1, v2)
        assert ours.get_seq_length() == theirs.get_seq_length() == 6 + step
    repeat = torch.tensor([0, 0, 1])
    ours.batch_select_indices(repeat)
    theirs.batch_select_indices(repeat)
    assert torch.equal(ours.keys, theirs.keys) and ours.keys.shape[0] == 3


def test_a_layer_grows_past_its_capacity_without_losing_what_it_holds():
    layer = InPlaceLayer(capacity=4)
    keys = torch.arange(2 * 1 * 6 * 3, dtype=torch.float32).reshape(2, 1, 6, 3)
    layer.update(keys[:, :, :3], keys[:, :, :3])
    k, _ = layer.update(keys[:, :, 3:], keys[:, :, 3:])
    assert torch.equal(k, keys) and layer.get_seq_length() == 6
