"""`fastslow distill`: System 2 Distillation (Yu, Xu, Weston & Kulikov 2024, "Distilling System 2
into System 1").

Recipe: load unlabeled inputs (the train side) -> the System-2 teacher on each, several outputs ->
keep the inputs whose outputs pass the consistency filters, with the answer they agree on -> a
dataset of (input as System 1 sees it -> "The answer is X.") -> fine-tune the student on it ->
evaluate System 1 before, the teacher, and System 1 after on held-out test questions -> report.

Labels, where the task has them, never enter the dataset: they only measure the filters' precision
and the final accuracies. Every step resumes: teacher outputs are appended per input (and their
generations cached), training resumes from its last checkpoint, each evaluation is a resumable eval
run under ``OUT/eval/``.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastslow.distill.data import save_dataset, training_row
from fastslow.distill.filters import (
    Kept,
    combine,
    perturbation_consistency,
    self_consistency,
    swap_consistency,
    usc_selection,
)
from fastslow.distill.report import ROWS
from fastslow.distill.teacher import (
    TeacherOutputs,
    check_perturbable,
    run_teacher,
    select_consistent,
    teacher_strategies,
)
from fastslow.errors import FastslowError
from fastslow.evaluate import EvalConfig, TaskSource, evaluate
from fastslow.flags import arg, comma_list, param_field, positive
from fastslow.models.identity import model_identity, weights_digest
from fastslow.models.options import ModelOptions, open_model
from fastslow.runs import Run, check_run, open_run
from fastslow.stats import difference_by_id, mean, wilson_interval
from fastslow.tasks.base import Task
from fastslow.training.config import TrainConfig

FILTERS = ("self-consistency", "usc", "swap", "perturbation")
TEACHER_FILE = "teacher.jsonl"
# Short completions ("The answer is X.") from a few hundred rows: a few passes, LoRA r=16.
DISTILL_TRAINING = TrainConfig(epochs=3, lr=3e-4, batch_size=8, max_length=384, save_steps=25)


def _filters(text: str) -> list[str]:
    names = comma_list(text)
    unknown = sorted(set(names) - set(FILTERS))
    if unknown or not names:
        raise FastslowError(f"--filters {text!r}: choose from {', '.join(FILTERS)}")
    return names


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be between 0 and 1, got {text}")
    return value


@dataclass
class DistillConfig(TaskSource):
    """Everything that defines a distillation run (written to ``config.json``)."""

    # Inputs come from the train side (no flag: held-out test questions are only evaluated). Seed 1,
    # so that built-in tasks do not hand the student the very questions `fastslow prime` trained
    # embedded-reasoner on (seed 0).
    split: str = "train"
    seed: int = field(default=1, metadata=arg("task generation seed of the inputs", parse=int))
    limit: int | None = field(
        default=1000, metadata=arg("unlabeled training inputs", parse=positive, metavar="N")
    )
    model: str = field(default="embedded", metadata=arg("the student, distilled (see `fastslow models`)"))
    method: str = field(default="cot", metadata=arg("the System-2 teacher strategy (see `fastslow methods`)"))
    params: list[str] = param_field("teacher strategy parameter (repeatable)")
    teacher: str | None = field(
        default=None, metadata=arg("the teacher's model spec (default: the student itself, as in the paper)")
    )
    samples: int = field(default=8, metadata=arg("teacher outputs per input", parse=positive))
    temperature: float = field(default=0.7, metadata=arg("the teacher's sampling temperature", parse=float))
    min_agreement: float = field(
        default=0.75,
        metadata=arg("self-consistency: the majority's share of the outputs to keep", parse=_fraction),
    )
    filters: list[str] = field(
        default_factory=lambda: ["self-consistency"],
        metadata=arg(f"consistency filters, comma-separated: {', '.join(FILTERS)}", parse=_filters),
    )
    test_limit: int = field(default=100, metadata=arg("held-out test questions evaluated", parse=positive))
    train: TrainConfig = field(
        default_factory=lambda: dataclasses.replace(DISTILL_TRAINING), metadata=arg("training")
    )


def load_inputs(config: DistillConfig) -> tuple[Task, Task]:
    """The unlabeled training inputs (the train side) and the held-out test questions."""
    from fastslow.evaluate import train_and_test

    return train_and_test(config, config.limit, config.test_limit)


def decide(
    outputs: TeacherOutputs,
    filters: list[str],
    kind: str,
    min_agreement: float,
    selected: tuple[int | None, str | None] = (None, "no selection was made"),
) -> tuple[Kept, dict[str, Kept]]:
    """The filters' joint decision for one input, and each filter's own decision.
    ``selected``: the output universal self-consistency picked (``usc``), or None and why not."""
    decisions: dict[str, Kept] = {}
    for name in filters:
        if name == "self-consistency":
            decisions[name] = self_consistency(outputs.answers, kind, min_agreement)
        elif name == "usc":
            index, why_not = selected
            if index is None:
                decisions[name] = usc_selection({"fallback": True, "parse_error": why_not}, None)
            else:
                decisions[name] = usc_selection({"answers": outputs.answers}, outputs.answers[index])
        elif name == "swap":
            decisions[name] = combine([swap_consistency(m) for m in outputs.metas], kind)
        elif name == "perturbation":
            decisions[name] = perturbation_consistency(outputs.answers, kind)
    return combine(list(decisions.values()), kind), decisions


def nothing_kept(inputs: int, kept: dict[str, int], reasons: dict[str, str]) -> str:
    """The error of a run whose filters kept no input: how many each filter kept alone, and for
    one that kept none, the first reason it gave."""
    alone = ", ".join(f"{name} {n}" for name, n in kept.items())
    empty = [name for name, n in kept.items() if n == 0]
    example = f"; {empty[0]} dropped the first input because {reasons[empty[0]]}" if empty else ""
    return (
        f"no input passed the filters ({', '.join(kept)}) on {inputs} inputs (kept alone: {alone}"
        f"{example}): lower --min-agreement, give more inputs or samples, or drop a filter"
    )


def chunk_size(model: Any) -> int:
    """Inputs sent to the model at once: its batch size (at least 16), so each call fills a batch."""
    return max(16, getattr(model, "batch_size", None) or 16)


def teach(
    run: Run, config: DistillConfig, model: Any, task: Task, progress: bool, chunk: int | None = None
) -> list[TeacherOutputs]:
    """The teacher's outputs for every input, appended to ``teacher.jsonl`` as they are made.

    Inputs go in chunks of the model's batch size (default): a method without its own sampling runs
    once per sample over the chunk, and each run must fill a batch (cot, 8 samples, on
    embedded-reasoner: 2.5 s an input in chunks of 16, 1.8 s in chunks of 128).
    """
    perturb = "perturbation" in config.filters
    strategies = teacher_strategies(config.method, config.params, config.samples, config.temperature, perturb)
    chunk = chunk or chunk_size(model)
    done = {r["example_id"]: r for r in run.rows(TEACHER_FILE)}
    todo = [ex for ex in task.examples if ex.id not in done]
    bar = run.progress(len(task.examples), progress, desc="teacher")
    bar.update(len(task.examples) - len(todo))
    try:
        for start in range(0, len(todo), chunk):
            batch = todo[start : start + chunk]
            made = run_teacher(strategies, model, batch, task, perturb=perturb)
            rows = [o.to_row() for o in made]
            run.append(TEACHER_FILE, rows)
            done.update({r["example_id"]: r for r in rows})
            bar.update(len(batch))
    finally:
        bar.close()
    return [TeacherOutputs(**done[ex.id]) for ex in task.examples]


def distill(
    config: DistillConfig,
    out: str | Path,
    options: ModelOptions | None = None,
    progress: bool = True,
    teacher_model: Any = None,
) -> dict[str, Any]:
    """Run (or resume) System 2 Distillation into ``out``; return the summary (also ``summary.json``).

    ``teacher_model`` replaces the teacher's spec with a loaded model (tests pass a scripted one).
    """
    from fastslow.training import train_sft

    options = options or ModelOptions()
    train_task, test_task = load_inputs(config)
    if not train_task.examples:
        raise FastslowError("no training inputs: the task's train side is empty")
    teacher_strategies(config.method, config.params, config.samples, config.temperature)  # bad params: now
    if "perturbation" in config.filters:
        check_perturbable(train_task)
    student_dir, base_label = student_folder(config, options)
    student = {"student_weights": weights_digest(student_dir)}  # a resume must train the same base
    check_run(out, "distill", config, extra=student)
    teacher = teacher_model or open_model(config.teacher or config.model, options)
    run = open_run(out, "distill", config, model_id=model_identity(teacher), extra=student)
    t0 = time.perf_counter()

    # 1. The teacher on unlabeled inputs.
    outputs = teach(run, config, teacher, train_task, progress)

    # 2. The consistency filters (no label).
    selected: list[tuple[int | None, str | None]] = [(None, "no selection was made")] * len(outputs)
    if "usc" in config.filters:
        with run.progress(len(outputs), progress, desc="usc selection") as bar:
            selected = select_consistent(teacher, train_task.examples, outputs, chunk_size(teacher), bar)
    rows, stats = [], {name: 0 for name in config.filters}
    reasons: dict[str, str] = {}  # each filter's first reason to drop an input
    kept_right: list[float] = []
    for ex, out_, pick in zip(train_task.examples, outputs, selected):
        decision, alone = decide(out_, config.filters, train_task.kind, config.min_agreement, pick)
        for name, own in alone.items():
            stats[name] += own.kept
            if not own.kept:
                reasons.setdefault(name, own.reason)
        if decision.kept:
            rows.append(training_row(ex, train_task, decision.answer))  # type: ignore[arg-type]
            if ex.answer is not None:  # measured, never used
                kept_right.append(train_task.score(decision.answer, ex))
    if not rows:
        raise FastslowError(nothing_kept(len(outputs), stats, reasons))
    run.write_rows("train.jsonl", rows)
    save_dataset(rows, run.path("dataset"))

    # 3. Fine-tune the student on input -> final answer.
    result = train_sft(
        student_dir,
        rows,
        config.train,
        run.out,
        export_to="model",
        base_label=base_label,
        seed=config.seed,
        progress=progress,
    )

    # 4. System 1 before, the System-2 teacher, System 1 after, on the held-out questions that have
    # a label (unlabeled inputs distil all the same; only a label can score an answer).
    labeled = [ex for ex in test_task.examples if ex.answer is not None]
    scored = dataclasses.replace(test_task, examples=labeled)
    table = evaluate_three(run, config, scored, options, progress, teacher_model) if labeled else []
    summary = {
        "task": train_task.name,
        "kind": train_task.kind,
        "inputs": len(outputs),
        "kept": len(rows),
        "yield": len(rows) / len(outputs),
        "kept_by_filter": {n: stats[n] / len(outputs) for n in config.filters},
        "filter_precision": mean(kept_right) if kept_right else None,
        "filter_precision_n": len(kept_right),
        "teacher_calls_per_input": mean([o.calls for o in outputs]),
        "training": {"steps": result.steps, "final_loss": result.final_loss, "seconds": result.seconds},
        "held_out": {"questions": len(test_task.examples), "labeled": len(labeled)},
        "rows": table,
        "differences": differences(run) if table else {},
        "wall_seconds": round(time.perf_counter() - t0, 1),
    }
    run.write_json("summary.json", summary)
    from fastslow.distill.report import render

    render(run.out)
    return summary


def student_folder(config: DistillConfig, options: ModelOptions) -> tuple[Path, str]:
    """The student's transformers folder, and the base an exported adapter names ("embedded" is
    resolved on any machine; any other base by its path)."""
    from fastslow.models.options import local_folder

    folder = local_folder(config.model, options, role="student")
    return folder, "embedded" if config.model == "embedded" else str(folder.resolve())


def evaluate_three(
    run: Run,
    config: DistillConfig,
    test_task: Task,
    options: ModelOptions,
    progress: bool,
    teacher_model: Any = None,
) -> list[dict[str, Any]]:
    """The paper's table: accuracy, generated tokens and calls per answer, on held-out questions."""
    source = {f.name: getattr(config, f.name) for f in dataclasses.fields(TaskSource)}
    source.update(split="test", limit=config.test_limit)
    plans = [
        (ROWS[0], "system1", config.model, "direct", [], None),
        (
            ROWS[1],
            "teacher",
            config.teacher or config.model,
            config.method,
            list(config.params),
            teacher_model,
        ),
        (ROWS[2], "distilled", f"hf:{run.path('model')}", "direct", [], None),
    ]
    table = []
    for label, name, spec, method, params, model in plans:
        cfg = EvalConfig(**source, methods=[method], model=spec, params=params)
        # test_task, not what cfg loads: of a file (--data, --task-file) cfg would load the first
        # questions of the whole file, training inputs among them
        out = run.path(f"eval/{name}")
        summary = evaluate(cfg, out, model=model, options=options, progress=progress, task=test_task)
        m = summary["methods"][method]
        lo, hi = wilson_interval(m["accuracy"] * m["n"], m["n"])
        table.append(
            {
                "row": label,
                "model": spec,
                "method": method,
                "n": m["n"],
                "accuracy": m["accuracy"],
                "ci95": [lo, hi],
                "completion_tokens": m["completion_tokens"],
                "calls": m["calls"],
                "unanswered_share": m.get("unanswered_share"),
                "parse_errors": m.get("parse_errors", 0),
                "parse_error_example": m.get("parse_error_example"),
            }
        )
    return table


def differences(run: Run) -> dict[str, list[float] | None]:
    """The distilled System 1 against System 1 and against the teacher on the same held-out
    questions: ``[difference, low, high]`` with Newcombe's paired 95% interval (``stats``)."""
    traces = {name: run.rows(f"eval/{name}/traces.jsonl") for name in ("system1", "teacher", "distilled")}
    return {
        f"{ROWS[2]} - {ROWS[0]}": difference_by_id(traces["distilled"], traces["system1"]),
        f"{ROWS[2]} - {ROWS[1]}": difference_by_id(traces["distilled"], traces["teacher"]),
    }


__all__ = ["DistillConfig", "FILTERS", "distill", "load_inputs", "decide"]
