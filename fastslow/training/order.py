"""Training batches in an order fixed by the seed and the epoch, so a resumed run repeats it.

transformers' ``LengthGroupedSampler`` (``train_sampling_strategy="group_by_length"``, our default:
batches of similar lengths) draws each epoch's order from torch's global generator when the epoch
starts. A run resumed from a checkpoint in the middle of a later epoch draws that order from the
fresh process's generator, so the rest of the epoch gets other batches than the uninterrupted run
got (a distillation killed at step 56 of 108 and resumed ended with another loss and another
table). Here the order of epoch ``e`` comes from its own generator seeded with ``seed + e``; the
Trainer (through accelerate's data loader) calls ``set_epoch`` before each epoch, resumed or not.
The ``random`` strategy needs none of this: accelerate already seeds it by epoch.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.trainer_pt_utils import LengthGroupedSampler


class EpochSeededLengthSampler(LengthGroupedSampler):
    def __init__(self, lengths: list[int], batch_size: int, seed: int):
        super().__init__(batch_size, lengths=lengths, generator=torch.Generator())
        self.seed = seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.generator.manual_seed(self.seed + epoch)


def with_epoch_seeded_order(trainer_class: type) -> type:
    """``trainer_class`` whose length-grouped sampler orders each epoch by ``data_seed + epoch``."""

    class EpochSeeded(trainer_class):  # type: ignore[misc, valid-type]
        def _get_train_sampler(self, train_dataset: Any = None) -> Any:
            sampler = super()._get_train_sampler(train_dataset)
            if type(sampler) is LengthGroupedSampler:
                seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
                return EpochSeededLengthSampler(sampler.lengths, sampler.batch_size, seed)
            return sampler

    EpochSeeded.__name__ = trainer_class.__name__
    return EpochSeeded
