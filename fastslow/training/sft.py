"""``train_sft``: supervised fine-tuning on prompt/completion rows with TRL's ``SFTTrainer``.

The loss is on the completion only (TRL's default for the prompt/completion format; this chat
template breaks ``assistant_only_loss``). Checkpoints, resume and export: ``loop.fine_tune``; the
order of the batches, the same on a resumed run: ``order.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastslow.training.config import TrainConfig
from fastslow.training.loop import TrainResult, fine_tune, trainer_args


def train_sft(
    base: str | Path,
    rows: list[dict[str, Any]],
    config: TrainConfig,
    out: str | Path,
    *,
    export_to: str = "model",
    base_label: str | None = None,
    seed: int = 0,
    progress: bool = True,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """Fine-tune the transformers model in folder ``base`` on ``rows`` (``prompt``/``completion``,
    strings or chat messages) into the run directory ``out``; export to ``out/export_to``.

    ``base_label`` is what an exported adapter names as its base (default: ``base``'s path);
    ``callbacks``: transformers ``TrainerCallback`` objects (to log, or to stop early).
    """
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    def make_trainer(model: Any, tokenizer: Any, checkpoints: Path, peft: Any) -> Any:
        from fastslow.training.order import with_epoch_seeded_order

        dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
        args = SFTConfig(
            max_length=config.max_length,
            train_sampling_strategy=config.sampler,
            **trainer_args(config, checkpoints, seed, progress),
        )
        return with_epoch_seeded_order(SFTTrainer)(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft,
            callbacks=callbacks,
        )

    return fine_tune(base, config, out, make_trainer, export_to=export_to, base_label=base_label, seed=seed)
