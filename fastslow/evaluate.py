"""`fastslow eval`: compare strategies on a task, resumably.

Recipe: load the task -> for each method, run it over the examples in chunks (every request of a
chunk batched) -> append each chunk's traces to ``traces.jsonl`` -> summarise -> render the report.
Run again with the same arguments and it picks up where it stopped: finished traces are read back,
and generations already made come from the SQLite cache.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.models.base import Model
from fastslow.models.cached import CachedModel
from fastslow.runlog import append_rows, read_rows, saved_with_defaults, write_json
from fastslow.stats import mean, wilson_interval
from fastslow.strategies.base import Strategy, run_batch
from fastslow.strategies.registry import make_strategies
from fastslow.tasks.base import Task


@dataclass
class EvalConfig:
    """Everything that defines an evaluation run; written to ``config.json`` in the run directory."""

    methods: list[str]
    model: str = "embedded"
    task: str | None = None
    task_file: str | None = None
    data: str | None = None
    dataset: str | None = None
    question_field: str = "question"
    answer_field: str = "answer"
    knobs: dict[str, str] = field(default_factory=dict)
    params: list[str] = field(default_factory=list)
    limit: int | None = None
    seed: int = 0
    split: str = "test"  # a built-in task's split ("train" for validation), or a saved dataset's
    chunk: int = 16

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


# Fields that may differ between a run and its resumption without changing any result.
_RUNTIME_FIELDS = {"chunk"}


def check_config(out: Path, config: EvalConfig) -> None:
    """Refuse to mix two different runs in one directory."""
    path = out / "config.json"
    current = asdict(config)
    if path.exists():
        import json

        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise FastslowError(f"{path} is not valid JSON: {exc.msg}") from exc
        before = saved_with_defaults(previous.get("eval", {}), EvalConfig)
        differ = sorted(k for k in current if k not in _RUNTIME_FIELDS and before.get(k) != current[k])
        if differ:
            raise FastslowError(
                f"{out} holds a run with other settings (differs in: {', '.join(differ)}); "
                "use another --out, or delete that directory"
            )


def write_config(out: Path, config: EvalConfig) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "config.json").exists():
        write_json(out / "config.json", {"command": "eval", "eval": asdict(config)})


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
    cache: str | Path | None = None,
    batch_size: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run (or resume) an evaluation into ``out``; return the summary (also in summary.json).

    The task and methods are checked before the model is loaded, so bad arguments fail at once.
    ``model`` overrides ``config.model`` (tests pass a scripted one); otherwise the model is
    loaded from its spec (``batch_size`` rows decoded at once; see ``load_model``) and wrapped with
    the generation cache at ``cache``.
    """
    out = Path(out)
    task = config.load_task()
    if not task.examples:
        raise FastslowError(f"task {task.name!r} has no examples")
    if any(ex.answer is None for ex in task.examples):
        raise FastslowError(f"task {task.name!r} has examples without an answer: eval needs references")
    strategies = make_strategies(config.methods, config.params)
    check_config(out, config)
    if model is None:
        model = open_model(config.model, cache, batch_size)
    write_config(out, config)
    traces_path = out / "traces.jsonl"
    rows = read_rows(traces_path, repair=True)
    done = {(r["method"], r["example_id"]) for r in rows}
    resumed = len(rows)

    todo = [(s, [ex for ex in task.examples if (s.name, ex.id) not in done]) for s in strategies]
    total = sum(len(exs) for _, exs in todo)
    t0 = time.perf_counter()
    bar = _progress(total, progress)
    try:
        for strategy, examples in todo:
            for start in range(0, len(examples), config.chunk):
                chunk = examples[start : start + config.chunk]
                bar.set_description(strategy.name)
                traces = run_batch(strategy, model, chunk, task)
                new = [trace_row(strategy.name, ex, task, tr) for ex, tr in zip(chunk, traces)]
                append_rows(traces_path, new)
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
    write_json(out / "summary.json", summary)
    return summary


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
        }
    return {"task": task.name, "kind": task.kind, "methods": per_method}


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="ex", disable=not enabled, dynamic_ncols=True)


def open_model(spec: str, cache: str | Path | None = None, batch_size: int | None = None) -> CachedModel:
    """Load a model spec and wrap it with the generation cache (``batch_size``: see ``load_model``)."""
    from fastslow.models.registry import load_model
    from fastslow.store import Store, default_cache_path

    return CachedModel(load_model(spec, batch_size=batch_size), Store(cache or default_cache_path()))


__all__ = ["EvalConfig", "evaluate", "summarize", "open_model", "Strategy"]
