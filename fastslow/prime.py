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
import random
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.flags import arg, key_values, positive
from fastslow.runs import open_run
from fastslow.training.config import TrainConfig

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


# The shipped recipe's training: 329 steps of 8 traces (about one pass over them), LoRA r=16.
PRIME_TRAINING = TrainConfig(
    max_steps=329, batch_size=8, lr=8e-4, warmup_steps=10, max_length=320, save_steps=20
)


def parse_shares(items: list[str] | None) -> dict[str, float]:
    """The recipe's family shares with ``--share FAMILY=WEIGHT`` overrides (relative weights);
    ``prime`` checks the families and weights."""
    shares = dict(SHARES)
    for family, value in key_values(items, "--share").items():
        try:
            shares[family] = float(value)
        except ValueError:
            raise FastslowError(f"--share {family}={value}: expected a number") from None
    return shares


@dataclass
class PrimeConfig:
    """Everything that defines a priming run (written to ``config.json`` in the run directory)."""

    examples: int = field(default=2640, metadata=arg("training traces to generate", parse=positive))
    seed: int = field(default=0, metadata=arg("seed of the traces and of training", parse=int))
    shares: dict[str, float] = field(
        default_factory=lambda: dict(SHARES),
        metadata=arg(
            "a family's share of the traces, relative to the others (repeatable; a zero share leaves "
            "the family out)",
            flag="--share",
            repeat=True,
            parse=parse_shares,
            metavar="FAMILY=WEIGHT",
        ),
    )
    # Arithmetic traces write each sum and product in a random operand order (seeded): see
    # ``arithmetic.cot_solution``. Off in the shipped recipe.
    commute: bool = field(
        default=False,
        metadata=arg(
            "write each sum and product of the arithmetic traces in a random operand order (seeded)"
        ),
    )
    train: TrainConfig = field(default_factory=lambda: replace(PRIME_TRAINING), metadata=arg("training"))
    mix: dict[str, dict[str, list[Any]]] = field(default_factory=lambda: MIX)


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


def prime(
    config: PrimeConfig, out: str | Path, install: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Train (or resume training) the reasoning adapter into ``out``; return the run's record.

    Steps: build the traces -> open the run -> SFT a LoRA adapter (``training.train_sft``) ->
    export it in float16 to ``out/adapter`` -> with ``install``, make it `embedded-reasoner`.
    """
    from fastslow.models.adapters import EMBEDDED_BASE
    from fastslow.models.embedded import embedded_model_dir
    from fastslow.training import train_sft

    rows = build_examples(config)  # first: a bad config fails before the run directory is written
    base = embedded_model_dir()
    run = open_run(out, "prime", config)
    run.write_rows("train.jsonl", rows)
    result = train_sft(
        base,
        rows,
        config.train,
        run.out,
        export_to="adapter",
        base_label=EMBEDDED_BASE,  # machine-independent: resolved at load time
        seed=config.seed,
        progress=progress,
    )
    record = {
        "adapter": str(result.path),
        "steps": result.steps,
        "train_examples": len(rows),
        "final_loss": result.final_loss,
        "loss_history": result.loss_history,
        "train_seconds": result.seconds,  # every step's, over resumes
        "adapter_bytes": (result.path / "adapter_model.safetensors").stat().st_size,
    }
    run.write_json("prime.json", record)
    if install:
        from fastslow.models.reasoner import install_adapter

        record["installed"] = str(install_adapter(result.path))
    return record
