"""`fastslow prime`: teach the embedded model templated step-by-step reasoning with a LoRA adapter.

SmolLM2-135M cannot do the built-in tasks, fast or slow, so every comparison on it is noise. This
recipe gives the project a CPU-sized model in which slow thinking helps: it fine-tunes a LoRA
adapter (PEFT, TRL's SFTTrainer) on synthetic, correct, step-by-step traces from the task
generators' *train* split. It trains on chain-of-thought answers only — the exact prompt the `cot`
and `sc` strategies send, completed by "Let's think step by step. <steps> The answer is X." — and
never on direct answers, so System 1 stays untrained and there is something to distill.

Recipe: build data -> train (checkpoints, resumable) -> save the adapter (float16) -> optionally
install it as `embedded-reasoner`. The result is a toy for demos and tests, not a reasoning model.
"""

from __future__ import annotations

import itertools
import json
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.runlog import saved_with_defaults, write_json

# Families and knob ranges primed: what `embedded-reasoner` can be expected to follow.
MIX: dict[str, dict[str, list[Any]]] = {
    "last_letters": {"words": [2, 3, 4, 5, 6]},
    "coin_flip": {"flips": [1, 2, 3, 4, 5, 6]},
    "arithmetic": {"steps": [1, 2, 3, 4], "style": ["parens", "left_to_right"]},
    "distractor_arithmetic": {"steps": [1, 2, 3], "distractors": [0, 1, 2]},
}
# Each family's share of the examples. Last letters get the most: the model has to memorise the
# last character of every word token it meets (the first adapter, primed on equal shares, learned
# coin flips but not last letters), while coin flips were learned from a few hundred traces.
# Arithmetic comes next: with 216 traces (a 10% share) a sampled chain was right 4.5% of the time,
# its first operation alone wrong in a third of them, subtractions most of all.
SHARES: dict[str, float] = {
    "last_letters": 0.58,
    "coin_flip": 0.08,
    "arithmetic": 0.27,
    "distractor_arithmetic": 0.07,
}


@dataclass
class PrimeConfig:
    """Everything that defines a priming run (written to ``config.json`` in the run directory)."""

    steps: int = 329
    batch_size: int = 8
    learning_rate: float = 8e-4
    warmup_steps: int = 10
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    max_length: int = 320
    examples: int = 2640
    seed: int = 0
    save_steps: int = 20
    # Batches of similar lengths: random batches were padded to 193 tokens a row on average for
    # 150 real ones, and training here is compute-bound; grouped, a step took 8.7 s against 13.4 s.
    sampler: str = "group_by_length"
    mix: dict[str, dict[str, list[Any]]] = field(default_factory=lambda: MIX)
    shares: dict[str, float] = field(default_factory=lambda: SHARES)
    # Arithmetic traces write each sum and product in a random operand order (seeded): see
    # ``arithmetic.cot_solution``. Off in the shipped recipe.
    commute: bool = False


def build_examples(config: PrimeConfig) -> list[dict[str, Any]]:
    """Prompt/completion rows: the `cot` strategy's prompt, completed by a templated correct trace."""
    from fastslow.strategies.cot import TRIGGER, cot_messages
    from fastslow.tasks.registry import BUILTIN_TASKS, load_task

    rows = []
    commute = random.Random(f"{config.seed}-commute") if config.commute else None
    families = list(config.mix)
    _check_shares(config.shares, families)
    total = sum(config.shares.values())
    for family in families:
        per_family = round(config.examples * config.shares[family] / total)
        if per_family == 0:
            continue
        knob_names = list(config.mix[family])
        combos = list(itertools.product(*(config.mix[family][k] for k in knob_names)))
        per_combo = max(1, per_family // len(combos))
        solve = BUILTIN_TASKS[family].module.cot_solution
        trace = partial(solve, commute=commute) if family == "arithmetic" and commute else solve
        for combo in combos:
            knobs = {k: str(v) for k, v in zip(knob_names, combo)}
            task = load_task(family, limit=per_combo, seed=config.seed, split="train", knobs=knobs)
            for ex in task.examples:
                messages, prefill = cot_messages(ex, task, True, [])
                assert prefill == TRIGGER
                rows.append(
                    {
                        "id": ex.id,
                        "family": family,
                        "question": ex.question,
                        "answer": ex.answer,
                        "prompt": messages,
                        "completion": [{"role": "assistant", "content": f"{TRIGGER} {trace(ex)}"}],
                    }
                )
    random.Random(config.seed).shuffle(rows)
    return rows


def _check_shares(shares: dict[str, float], families: list[str]) -> None:
    unknown = sorted(set(shares) - set(families))
    if unknown:
        raise FastslowError(f"share {', '.join(unknown)}: not a primed family (one of {', '.join(families)})")
    if set(shares) != set(families):
        raise FastslowError(f"prime shares name {sorted(shares)}, the mix {sorted(families)}")
    for family, weight in shares.items():
        if not (isinstance(weight, (int, float)) and 0 <= weight < float("inf")):
            raise FastslowError(f"share {family}={weight}: must be a finite number, zero or more")
    if sum(shares.values()) <= 0:
        raise FastslowError("prime shares add up to zero")


def _check_config(out: Path, config: PrimeConfig) -> None:
    path = out / "config.json"
    current = {"command": "prime", "prime": asdict(config)}
    if path.exists():
        previous = json.loads(path.read_text(encoding="utf-8"))
        saved = saved_with_defaults(previous.get("prime", {}), PrimeConfig)
        previous["prime"] = {k: saved[k] for k in current["prime"]}
        if previous != json.loads(json.dumps(current)):
            raise FastslowError(
                f"{out} holds a priming run with other settings: use another --out, or delete it"
            )
    else:
        out.mkdir(parents=True, exist_ok=True)
        write_json(path, current)


def _last_checkpoint(checkpoints: Path) -> str | None:
    found = sorted(checkpoints.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    return str(found[-1]) if found else None


def _checkpoint_step(checkpoint: str) -> int:
    return int(Path(checkpoint).name.split("-")[1])


def save_adapter_fp16(model: Any, target: Path) -> None:
    """Save the adapter with float16 weights (half the size; it is merged into a float32 base)."""
    import torch
    from safetensors.torch import load_file, save_file

    if target.exists():
        shutil.rmtree(target)
    model.save_pretrained(target)
    weights = target / "adapter_model.safetensors"
    tensors = {k: v.to(torch.float16) for k, v in load_file(weights).items()}
    save_file(tensors, weights, metadata={"format": "pt"})
    cfg_path = target / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    from fastslow.models.adapters import EMBEDDED_BASE

    cfg["base_model_name_or_path"] = EMBEDDED_BASE  # machine-independent: resolved at load time
    if isinstance(cfg.get("target_modules"), list):  # PEFT writes a set, in hash order: fix one order
        cfg["target_modules"] = sorted(cfg["target_modules"])
    cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    readme = target / "README.md"
    if readme.exists():
        readme.unlink()  # PEFT's template card; ours is fastslow/models/REASONER.md


def prime(
    config: PrimeConfig, out: str | Path, install: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Train (or resume training) the reasoning adapter into ``out``; return the run's record."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from fastslow.models.embedded import embedded_model_dir

    out = Path(out)
    rows = build_examples(config)  # first: a bad config fails before the run directory is written
    _check_config(out, config)
    (out / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    base_dir = embedded_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
    args = SFTConfig(
        output_dir=str(out / "checkpoints"),
        max_steps=config.steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=config.warmup_steps,
        max_length=config.max_length,
        logging_steps=5,
        save_steps=config.save_steps,
        save_total_limit=2,
        seed=config.seed,
        data_seed=config.seed,
        train_sampling_strategy=config.sampler,
        bf16=False,
        use_cpu=not torch.cuda.is_available(),  # the recipe is timed on a CPU; a GPU is used if present
        gradient_checkpointing=False,  # slower on a small model; memory is not short
        report_to="none",
        disable_tqdm=not progress,
    )
    peft_config = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    last = _last_checkpoint(out / "checkpoints")
    t0 = time.perf_counter()
    if last and _checkpoint_step(last) >= config.steps:
        # Training finished before (the run stopped while exporting): export that checkpoint as it is.
        # (Resuming a Trainer from its final checkpoint would take one step past max_steps.)
        from peft import PeftModel

        trained = PeftModel.from_pretrained(model, last)
        state = json.loads((Path(last) / "trainer_state.json").read_text(encoding="utf-8"))
        global_step, log_history = state["global_step"], state["log_history"]
    else:
        trainer = SFTTrainer(
            model=model, args=args, train_dataset=dataset, processing_class=tokenizer, peft_config=peft_config
        )
        trainer.train(resume_from_checkpoint=last)
        trained, global_step, log_history = (
            trainer.model,
            trainer.state.global_step,
            trainer.state.log_history,
        )
    seconds = time.perf_counter() - t0
    adapter = out / "adapter"
    save_adapter_fp16(trained, adapter)
    losses = [h["loss"] for h in log_history if "loss" in h]
    record = {
        "adapter": str(adapter),
        "steps": global_step,
        "train_examples": len(rows),
        "final_loss": losses[-1] if losses else None,
        "loss_history": [(h["step"], h["loss"]) for h in log_history if "loss" in h],
        "train_seconds_this_run": round(seconds, 1),
        "adapter_bytes": (adapter / "adapter_model.safetensors").stat().st_size,
    }
    write_json(out / "prime.json", record)
    if install:
        from fastslow.models.reasoner import ADAPTER_DIR

        if ADAPTER_DIR.exists():
            shutil.rmtree(ADAPTER_DIR)
        shutil.copytree(adapter, ADAPTER_DIR)
        record["installed"] = str(ADAPTER_DIR)
    return record
