"""A KV cache written in place, for the decode loop.

transformers' ``DynamicCache`` appends each step's keys and values with ``torch.cat``, which copies
the whole cache of every layer at every step: at 128 rows of ~300 tokens that is over a gigabyte
of copying a step, 17% of a decode's time on two CPU cores (``benchmarks/profile_decode.py``).
``InPlaceLayer`` allocates each layer's buffers once, for the prompt plus every token the decode may
add, writes each step's keys and values into the next free slots, and hands attention a view of the
filled part. When rows leave the batch their slices are gathered into new buffers of the same
capacity (only the filled part is copied).
"""

from __future__ import annotations

from typing import Any

from transformers.cache_utils import Cache, DynamicLayer


class InPlaceLayer(DynamicLayer):
    """A ``DynamicLayer`` whose keys and values live in buffers of ``capacity`` positions."""

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = capacity
        self.length = 0
        self._keys: Any = None
        self._values: Any = None

    def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if self._keys is None or end > self._keys.shape[-2]:
            self._allocate(key_states, value_states, max(end, self.capacity))
        self._keys[..., self.length : end, :].copy_(key_states)
        self._values[..., self.length : end, :].copy_(value_states)
        self.length = end
        self.keys, self.values = self._keys[..., :end, :], self._values[..., :end, :]
        return self.keys, self.values

    def _allocate(self, key_states: Any, value_states: Any, capacity: int) -> None:
        """New buffers of ``capacity`` positions holding what is cached so far."""
        batch, heads, _, dim = key_states.shape
        keys = key_states.new_empty((batch, heads, capacity, dim))
        values = value_states.new_empty((batch, heads, capacity, value_states.shape[-1]))
        if self._keys is not None and self.length:
            keys[..., : self.length, :].copy_(self._keys[..., : self.length, :])
            values[..., : self.length, :].copy_(self._values[..., : self.length, :])
        self._keys, self._values = keys, values

    def get_seq_length(self) -> int:
        return self.length

    def batch_select_indices(self, indices: Any) -> None:
        """Keep the rows ``indices`` (repeated indices copy a row: the samples of one prompt)."""
        if self._keys is None:
            return
        capacity = self._keys.shape[-2]
        filled_k = self._keys[..., : self.length, :].index_select(0, indices)
        filled_v = self._values[..., : self.length, :].index_select(0, indices)
        self._keys = self._values = None
        self._allocate(filled_k, filled_v, capacity)
        self._keys[..., : self.length, :].copy_(filled_k)
        self._values[..., : self.length, :].copy_(filled_v)
        self.keys = self._keys[..., : self.length, :]
        self.values = self._values[..., : self.length, :]


def in_place_cache(model: Any, capacity: int) -> Cache:
    """A cache for ``model`` with room for ``capacity`` positions per row in every layer."""
    config = model.config.get_text_config(decoder=True)
    return Cache(layers=[InPlaceLayer(capacity) for _ in range(config.num_hidden_layers)])
