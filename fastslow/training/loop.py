"""What every fine-tuning run shares, whatever its Trainer: checkpoints under ``OUT/checkpoints``
every ``save_steps``, resume from the last one (a run whose training had finished, interrupted while
exporting, exports that checkpoint without a step more), the Trainer arguments, LoRA, the export.
``sft.py`` and ``dpo.py`` build their TRL Trainer and hand it to ``fine_tune``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastslow.training.config import TrainConfig
from fastslow.training.export import export_model

CHECKPOINTS = "checkpoints"
SECONDS_FILE = "fastslow_seconds.json"  # in each checkpoint: training seconds up to that step, all runs


def seconds_at(checkpoint: str | None) -> float:
    """The training seconds a checkpoint took to reach, over every process that trained towards it
    (0 for none, or for one written before fastslow kept the count)."""
    path = Path(checkpoint) / SECONDS_FILE if checkpoint else None
    if path is None or not path.is_file():
        return 0.0
    return float(json.loads(path.read_text(encoding="utf-8"))["seconds"])


def seconds_callback(before: float, t0: float) -> Any:
    """A Trainer callback that writes into each checkpoint it saves the training seconds so far:
    ``before`` (the resumed checkpoint's count) plus this process's time since ``t0``. A run killed
    and resumed then reports the time its steps took, not the last process's share."""
    from transformers import TrainerCallback

    class Seconds(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):  # called once the checkpoint is written
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if state.is_world_process_zero and folder.is_dir():
                seconds = round(before + time.perf_counter() - t0, 1)
                (folder / SECONDS_FILE).write_text(json.dumps({"seconds": seconds}), encoding="utf-8")

    return Seconds()


@dataclass
class TrainResult:
    """What a training call did: where the model went and how the loss went."""

    path: Path
    steps: int
    final_loss: float | None
    loss_history: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0  # training time of every step, summed over the processes that ran them
    resumed_from: str | None = None

    @property
    def bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.glob("*") if p.is_file())


def last_checkpoint(folder: Path) -> str | None:
    found = sorted(Path(folder).glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    return str(found[-1]) if found else None


def checkpoint_state(checkpoint: str) -> dict[str, Any]:
    return json.loads((Path(checkpoint) / "trainer_state.json").read_text(encoding="utf-8"))


def finished(checkpoint: str) -> bool:
    """Whether training had reached its last step at this checkpoint."""
    state = checkpoint_state(checkpoint)
    return state.get("max_steps", 0) > 0 and state["global_step"] >= state["max_steps"]


def trainer_args(config: TrainConfig, output_dir: Path, seed: int, progress: bool) -> dict[str, Any]:
    """The Trainer arguments every fastslow training run shares (SFT and DPO configs take them)."""
    import torch

    return dict(
        output_dir=str(output_dir),
        max_steps=config.max_steps or -1,
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.lr,
        lr_scheduler_type="cosine",
        warmup_steps=config.warmup_steps,
        logging_steps=max(1, min(5, config.save_steps)),
        save_steps=config.save_steps,
        save_total_limit=2,
        seed=seed,
        data_seed=seed,
        bf16=False,
        use_cpu=not torch.cuda.is_available(),  # a GPU is used when torch sees one
        # TRL turns it on by default; slower on a small model, and memory is not short here.
        # (transformers 5 renamed gradient_checkpointing to activation_checkpointing.)
        activation_checkpointing=False,
        report_to="none",
        disable_tqdm=not progress,
    )


def lora_config(config: TrainConfig) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )


def load_finished(model: Any, checkpoint: str, config: TrainConfig) -> Any:
    """The model as a finished checkpoint holds it (LoRA: the adapter on ``model``; full: the weights)."""
    if config.finetune == "lora":
        from peft import PeftModel

        return PeftModel.from_pretrained(model, checkpoint)
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32)


def fine_tune(
    base: str | Path,
    config: TrainConfig,
    out: str | Path,
    make_trainer: Callable[[Any, Any, Path, Any | None], Any],
    *,
    export_to: str = "model",
    base_label: str | None = None,
    seed: int = 0,
) -> TrainResult:
    """The steps every training recipe shares: load ``base``, resume from the last checkpoint under
    ``out/checkpoints`` (or export a finished one without a further step), train with the Trainer
    that ``make_trainer(model, tokenizer, checkpoints, peft_config)`` builds, export to
    ``out/export_to`` from the main process only."""
    import torch
    from accelerate import PartialState
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed

    out = Path(out)
    set_seed(seed)  # the LoRA weights are drawn before the Trainer seeds itself
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    last = last_checkpoint(out / CHECKPOINTS)
    t0 = time.perf_counter()
    if last and finished(last):
        trained = load_finished(model, last, config)
        state = checkpoint_state(last)
        steps, history = state["global_step"], state["log_history"]
        seconds = seconds_at(last)
    else:
        peft = lora_config(config) if config.finetune == "lora" else None
        trainer = make_trainer(model, tokenizer, out / CHECKPOINTS, peft)
        before = seconds_at(last)  # read now: the Trainer deletes old checkpoints as it saves
        trainer.add_callback(seconds_callback(before, t0))
        trainer.train(resume_from_checkpoint=last)
        trained, steps, history = trainer.model, trainer.state.global_step, trainer.state.log_history
        seconds = before + time.perf_counter() - t0
    target = out / export_to
    if PartialState().is_main_process:
        export_model(trained, tokenizer, target, config.export, base_label or str(Path(base).resolve()))
    losses = [(h["step"], h["loss"]) for h in history if "loss" in h]
    return TrainResult(
        path=target,
        steps=steps,
        final_loss=round(losses[-1][1], 4) if losses else None,  # as reports print it
        loss_history=losses,
        seconds=round(seconds, 1),
        resumed_from=last,
    )
