"""``train_dpo``: preference optimisation on prompt/chosen/rejected rows with TRL's ``DPOTrainer``
(TPO's training step, Wu et al. 2024). With LoRA the reference policy is the model with its adapter
disabled (TRL's way); with full fine-tuning a frozen copy of the starting model. Checkpoints,
resume and export: ``loop.fine_tune``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from fastslow.training.config import TrainConfig
from fastslow.training.loop import TrainResult, fine_tune, trainer_args


def train_dpo(
    base: str | Path,
    rows: list[dict[str, Any]],
    config: TrainConfig,
    out: str | Path,
    *,
    beta: float = 0.1,
    loss_type: tuple[str, ...] = ("sigmoid",),
    export_to: str = "model",
    base_label: str | None = None,
    seed: int = 0,
    progress: bool = True,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """DPO on ``rows`` (``prompt``, ``chosen``, ``rejected``: strings or chat messages) from the model
    in folder ``base``; ``beta`` and ``loss_type`` as TRL names them (``("sigmoid", "sft")`` is
    DPO with an NLL term on the chosen)."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    def make_trainer(model: Any, tokenizer: Any, checkpoints: Path, peft: Any) -> Any:
        dataset = Dataset.from_list(
            [{"prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"]} for r in rows]
        )
        args = DPOConfig(
            beta=beta,
            loss_type=list(loss_type),
            max_length=config.max_length,
            **trainer_args(config, checkpoints, seed, progress),
        )
        reference = None if peft is not None else copy.deepcopy(model).eval().requires_grad_(False)
        return DPOTrainer(
            model=model,
            ref_model=reference,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft,
            callbacks=callbacks,
        )

    return fine_tune(base, config, out, make_trainer, export_to=export_to, base_label=base_label, seed=seed)
