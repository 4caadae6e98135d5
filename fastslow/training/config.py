"""``TrainConfig``: how a recipe fine-tunes (its fields are the recipe's training flags)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from fastslow.flags import arg, positive


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(f"must be a positive number, got {text}")
    return value


@dataclass
class TrainConfig:
    """Training: LoRA (PEFT) or full fine-tuning with TRL; written into the run's ``config.json``."""

    finetune: Literal["lora", "full"] = field(
        default="lora",
        metadata=arg("lora: a LoRA adapter on every linear layer (PEFT); full: every weight"),
    )
    max_steps: int | None = field(
        default=None,
        metadata=arg(
            "optimizer steps (overrides --epochs)", aliases=("--steps",), parse=positive, metavar="N"
        ),
    )
    epochs: float = field(default=1.0, metadata=arg("passes over the training data", parse=_positive_float))
    lr: float = field(
        default=2e-4, metadata=arg("peak learning rate (cosine schedule)", parse=_positive_float)
    )
    batch_size: int = field(
        default=8, metadata=arg("training rows per optimizer step", flag="--train-batch-size", parse=positive)
    )
    grad_accum: int = field(default=1, metadata=arg("gradient accumulation steps", parse=positive))
    warmup_steps: int = field(default=0, metadata=arg("linear warm-up steps", parse=int))
    max_length: int = field(
        default=512, metadata=arg("longest prompt + completion in tokens", parse=positive)
    )
    lora_r: int = field(default=16, metadata=arg("LoRA rank", parse=positive))
    lora_alpha: int = field(default=32, metadata=arg("LoRA alpha", parse=positive))
    lora_dropout: float = 0.0
    save_steps: int = field(default=20, metadata=arg("write a checkpoint every N steps", parse=positive))
    export: Literal["adapter", "merged"] = field(
        default="adapter",
        metadata=arg("what LoRA training leaves: the float16 adapter, or the model with it merged in"),
    )
    # Batches of similar lengths: random batches were padded to 193 tokens a row on average for
    # 150 real ones (prime's traces), and training on a CPU is compute-bound.
    sampler: str = "group_by_length"
