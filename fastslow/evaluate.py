"""`fastslow eval`: compare strategies on a task, resumably.

Recipe: load the task -> for each method, run it over the examples in chunks (every request of a
chunk batched) -> append each chunk's traces to ``traces.jsonl`` -> summarise -> render the report.
Run again with the same arguments and it picks up where it stopped: finished traces are read back,
and generations already made come from the SQLite cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.flags import arg, comma_list, key_value_field, param_field, positive
from fastslow.models.base import Model
from fastslow.models.identity import model_identity
from fastslow.models.options import ModelOptions, open_model
from fastslow.runs import check_run, open_run
from fastslow.stats import mean, wilson_interval
from fastslow.strategies.base import Strategy, run_batch
from fastslow.strategies.registry import make_strategies
from fastslow.tasks.base import Task


def _methods(text: str) -> list[str]:
    methods = comma_list(text)
    if not methods:
        raise FastslowError("--methods is empty: name at least one method (see `fastslow methods`)")
    return methods


@dataclass
class TaskSource:
    """Where examples come from: exactly one of a built-in task, a BIG-bench file, a JSONL file or a
    saved dataset (shared by every command that reads a task)."""

    task: str | None = field(default=None, metadata=arg("built-in task name (see `fastslow tasks`)"))
    task_file: str | None = field(default=None, metadata=arg("BIG-bench task.json", metavar="FILE"))
    data: str | None = field(
        default=None, metadata=arg("JSONL file with question/answer fields", metavar="FILE")
    )
    dataset: str | None = field(default=None, metadata=arg("datasets.save_to_disk folder", metavar="DIR"))
    question_field: str = field(default="question", metadata=arg("--dataset column holding the question"))
    answer_field: str = field(default="answer", metadata=arg("--dataset column holding the answer"))
    knobs: dict[str, str] = key_value_field("task generator knob, e.g. words=4", "--knob")
    limit: int | None = field(default=None, metadata=arg("number of examples", parse=positive, metavar="N"))
    seed: int = field(default=0, metadata=arg("task generation seed", parse=int))
    # a built-in task's split ("train" for validation), or a saved dataset's
    split: str = field(
        default="test",
        metadata=arg(
            "a built-in task's split: test, or train, to tune settings on questions the test split "
            "never holds; for --dataset, the split to read"
        ),
    )

    def load_task(self) -> Task:
        from fastslow.tasks.registry import load_task

        return load_task(
            self.task,
            task_file=self.task_file,
            data=self.data,
            dataset=self.dataset,
            question_field=self.question_field,
            answer_field=self.answer_field,
            limit=self.limit,
            seed=self.seed,
            split=self.split,
            knobs=self.knobs,
        )


def train_and_test(source: TaskSource, train_limit: int | None, test_limit: int) -> tuple[Task, Task]:
    """A training recipe's inputs (the train side) and held-out questions (the test side), never
    sharing a question. A built-in task makes both sides; a saved dataset with "train" and "test"
    splits gives them; a file (``--data``, ``--task-file``) or a dataset without both splits is one
    pool, split by a hash of each question (``tasks/splits.py``)."""
    import dataclasses

    from fastslow.tasks.splits import split_of

    def side(split: str, limit: int | None) -> Task:
        return TaskSource.load_task(dataclasses.replace(source, split=split, limit=limit))

    def named(task: Task, split: str) -> bool:
        return bool(task.examples) and all(ex.meta.get("split") == split for ex in task.examples)

    if source.task is not None:
        train, test = side("train", train_limit), side("test", test_limit)
    else:
        train = test = None
        if source.dataset is not None:
            try:
                train, test = side("train", train_limit), side("test", test_limit)
            except FastslowError:  # no such split
                pass
            if train is None or not (named(train, "train") and named(test, "test")):
                train = test = None
        if train is None or test is None:
            whole = side("test", None)
            kept = [ex for ex in whole.examples if split_of(ex.question) == "train"][:train_limit]
            held = [ex for ex in whole.examples if split_of(ex.question) == "test"][:test_limit]
            train, test = dataclasses.replace(whole, examples=kept), dataclasses.replace(whole, examples=held)
    shared = {ex.question for ex in train.examples} & {ex.question for ex in test.examples}
    if shared:
        raise FastslowError(
            f"{len(shared)} held-out questions are also training inputs (e.g. {sorted(shared)[0][:60]!r}): "
            "give a dataset whose train and test splits do not overlap"
        )
    return train, test


@dataclass
class EvalConfig(TaskSource):
    """Everything that defines an evaluation run; written to ``config.json`` in the run directory."""

    methods: list[str] = field(
        default_factory=lambda: ["direct", "cot", "sc"],
        metadata=arg("comma-separated strategies (see `fastslow methods`)", parse=_methods),
    )
    model: str = field(default="embedded", metadata=arg("model spec (see `fastslow models`)"))
    params: list[str] = param_field(
        "strategy parameter (repeatable): KEY=VALUE for every chosen method that has it, "
        "METHOD.KEY=VALUE for one"
    )
    chunk: int = field(default=16, metadata=arg("examples per batched step", parse=positive))


TRACES = "traces.jsonl"

# Fields that may differ between a run and its resumption without changing any result.
_RUNTIME_FIELDS = {"chunk"}


def refuse_priming_questions(config: EvalConfig, task: Task) -> None:
    """``--split train`` is for validation questions; at prime's own seed it draws the questions
    `fastslow prime` trained embedded-reasoner on, and a score there measures memory, not skill."""
    from fastslow.prime import MIX, PrimeConfig, build_examples

    if config.task not in MIX or config.split != "train" or config.seed != PrimeConfig().seed:
        return
    primed = {row["question"] for row in build_examples(PrimeConfig()) if row["family"] == config.task}
    seen = sum(ex.question in primed for ex in task.examples)
    if seen:
        raise FastslowError(
            f"--split train --seed {config.seed} draws the questions `fastslow prime` trained "
            f"embedded-reasoner on ({seen} of these {len(task.examples)}); use another --seed "
            "(e.g. --seed 12) for validation questions"
        )


def trace_row(method: str, example, task: Task, trace) -> dict[str, Any]:
    score = task.score(trace.answer, example) if example.answer is not None else None
    return {
        "method": method,
        "example_id": example.id,
        "question": example.question,
        "reference": example.answer,
        "score": score,
        **trace.to_dict(),
    }


def evaluate(
    config: EvalConfig,
    out: str | Path,
    *,
    model: Model | None = None,
    options: ModelOptions | None = None,
    progress: bool = True,
    task: Task | None = None,
) -> dict[str, Any]:
    """Run (or resume) an evaluation into ``out``; return the summary (also in summary.json).

    The task, methods and run directory are checked before the model is loaded, so bad arguments
    fail at once. ``model`` overrides ``config.model`` (tests pass a scripted one); otherwise the
    model is opened from its spec as ``options`` say (generation cache, batch size, device, key).
    ``task`` replaces the questions ``config`` would load (a recipe's held-out side of a file, which
    the file alone does not name). A run resumes only with the same settings and the same weights.
    """
    out = Path(out)
    task = task if task is not None else config.load_task()
    if not task.examples:
        raise FastslowError(f"task {task.name!r} has no examples")
    if any(ex.answer is None for ex in task.examples):
        raise FastslowError(f"task {task.name!r} has examples without an answer: eval needs references")
    strategies = make_strategies(config.methods, config.params)
    refuse_priming_questions(config, task)
    check_run(out, "eval", config, runtime_fields=_RUNTIME_FIELDS)
    if model is None:
        model = open_model(config.model, options)
    run = open_run(out, "eval", config, model_id=model_identity(model), runtime_fields=_RUNTIME_FIELDS)
    rows = run.rows(TRACES)
    done = {(r["method"], r["example_id"]) for r in rows}
    resumed = len(rows)

    todo = [(s, [ex for ex in task.examples if (s.name, ex.id) not in done]) for s in strategies]
    total = sum(len(exs) for _, exs in todo)
    t0 = time.perf_counter()
    bar = run.progress(total, progress)
    try:
        for strategy, examples in todo:
            for start in range(0, len(examples), config.chunk):
                chunk = examples[start : start + config.chunk]
                bar.set_description(strategy.name)
                traces = run_batch(strategy, model, chunk, task)
                new = [trace_row(strategy.name, ex, task, tr) for ex, tr in zip(chunk, traces)]
                run.append(TRACES, new)
                rows.extend(new)
                bar.update(len(chunk))
    finally:
        bar.close()
    summary = summarize(rows, [s.name for s in strategies], task)
    summary["run"] = {
        "model": model.name,
        "task": task.name,
        "examples": len(task.examples),
        "traces_resumed": resumed,
        "traces_new": len(rows) - resumed,
        "generations_cached": getattr(model, "hits", None),
        "generations_new": getattr(model, "misses", None),
        "wall_seconds": round(time.perf_counter() - t0, 2),
    }
    run.write_json("summary.json", summary)
    return summary


def parse_errors(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """How often a method's own step did not go as designed (a strategy flags it in
    ``meta["parse_error"]`` and falls back: s2a with no rewritten question, usc with no selection...),
    and the first such message: a row that measures the fallback, not the method, should say so."""
    errors = [str(e) for r in rows if (e := (r.get("meta") or {}).get("parse_error"))]
    first = errors[0] if errors else None
    if first and len(first) > 160:
        first = first[:159] + "…"
    return {"parse_errors": len(errors), "parse_error_example": first}


def summarize(rows: list[dict[str, Any]], methods: list[str], task: Task) -> dict[str, Any]:
    """Per-method accuracy (with a 95% Wilson interval) and mean cost per example."""
    per_method = {}
    for m in methods:
        rs = [r for r in rows if r["method"] == m]
        scores = [float(r["score"] or 0.0) for r in rs]
        lo, hi = wilson_interval(sum(scores), len(rs))
        per_method[m] = {
            "n": len(rs),
            "accuracy": mean(scores),
            "ci95": [lo, hi],
            "completion_tokens": mean([r["completion_tokens"] for r in rs]),
            "prompt_tokens": mean([r["prompt_tokens"] for r in rs]),
            "calls": mean([r["calls"] for r in rs]),
            "seconds": mean([r["seconds"] for r in rs]),
            "unanswered": sum(1 for r in rs if r["answer"] is None),
            "unanswered_share": mean([float(r["answer"] is None) for r in rs]),
            **parse_errors(rs),
        }
    return {"task": task.name, "kind": task.kind, "methods": per_method}


__all__ = ["EvalConfig", "TaskSource", "evaluate", "summarize", "open_model", "Strategy"]
