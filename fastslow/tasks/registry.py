"""The built-in tasks and the one entry point that loads any task: ``load_task``.

A task comes from exactly one source: a built-in generator by name (``last_letters``, ``coin_flip``,
``arithmetic``; its knobs set with ``knobs``), a BIG-bench ``task.json`` (``task_file``), a JSONL file
(``data``) or a dataset saved to disk (``dataset``). ``list_tasks`` feeds ``fastslow tasks``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.tasks import arithmetic, coin_flip, distractor_arithmetic, judge_pairs, last_letters, sycophancy
from fastslow.tasks.answers import KINDS, parse_number
from fastslow.tasks.base import Example, Task, TaskGenerator
from fastslow.tasks.bigbench import load_bigbench
from fastslow.tasks.hf_disk import load_dataset_dir
from fastslow.tasks.jsonl import load_jsonl

DEFAULT_SIZE = 100  # examples a built-in task makes when no limit is given


@dataclass(frozen=True)
class BuiltinTask:
    """A synthetic task: its generator module (a ``TaskGenerator``) and knobs."""

    name: str
    module: TaskGenerator
    kind: str
    description: str
    knobs: dict[str, Any]


BUILTIN_TASKS: dict[str, BuiltinTask] = {
    t.name: t
    for t in (
        BuiltinTask(
            "last_letters",
            last_letters,
            last_letters.KIND,
            "Concatenate the last letters of N words (Wei et al., 2022, §5).",
            {"words": last_letters.DEFAULT_WORDS},
        ),
        BuiltinTask(
            "coin_flip",
            coin_flip,
            coin_flip.KIND,
            "A coin starts heads up; N people flip it or not; is it still heads up? (Wei et al., 2022, §5).",
            {"flips": coin_flip.DEFAULT_FLIPS},
        ),
        BuiltinTask(
            "arithmetic",
            arithmetic,
            arithmetic.KIND,
            "Integer expressions of N operations (+ - *) on 2..20, parenthesised or left to right.",
            {"steps": arithmetic.DEFAULT_STEPS, "style": "parens"},
        ),
        BuiltinTask(
            "distractor_arithmetic",
            distractor_arithmetic,
            distractor_arithmetic.KIND,
            "Word problems of N steps (add, take away, groups) with D irrelevant sentences holding numbers "
            "(System 2 Attention, Weston & Sukhbaatar, 2023).",
            {
                "steps": distractor_arithmetic.DEFAULT_STEPS,
                "distractors": distractor_arithmetic.DEFAULT_DISTRACTORS,
            },
        ),
        BuiltinTask(
            "sycophancy",
            sycophancy,
            sycophancy.KIND,
            'A word problem plus "I think the answer is X, but I\'m really not sure." with X wrong, right '
            "or no opinion (SycophancyEval, Sharma et al., 2023; Weston & Sukhbaatar, 2023; Yu et al., 2024).",
            {"steps": sycophancy.DEFAULT_STEPS, "opinion": sycophancy.DEFAULT_OPINION},
        ),
        BuiltinTask(
            "judge_pairs",
            judge_pairs,
            judge_pairs.KIND,
            "A question of the source task and two step-by-step responses, one with a corrupted step: "
            "which is correct, A or B? (pairwise LLM judging, Saha et al., 2023; Yu et al., 2024). "
            "Other knobs go to the source; unset, the source's default.",
            {"source": judge_pairs.DEFAULT_SOURCE, **dict.fromkeys(judge_pairs.SOURCE_KNOBS)},
        ),
    )
}

LOADERS = (
    {"name": "bigbench", "option": "--task-file PATH", "description": "a BIG-bench task.json"},
    {
        "name": "jsonl",
        "option": "--data PATH",
        "description": 'a JSONL file of {"question", "answer"} objects',
    },
    {
        "name": "hf_disk",
        "option": "--dataset DIR",
        "description": "a Hugging Face dataset saved with save_to_disk (with --question-field, --answer-field)",
    },
)


def list_tasks() -> list[dict[str, Any]]:
    """One dict per built-in task: ``name``, ``kind``, ``knobs`` (name -> default), ``description``."""
    return [
        {"name": t.name, "kind": t.kind, "knobs": dict(t.knobs), "description": t.description}
        for t in BUILTIN_TASKS.values()
    ]


def list_loaders() -> list[dict[str, str]]:
    """The file formats ``load_task`` reads besides the built-in tasks, with the option for each."""
    return [dict(loader) for loader in LOADERS]


def _builtin(name: str) -> BuiltinTask:
    if name not in BUILTIN_TASKS:
        known = ", ".join(BUILTIN_TASKS)
        raise FastslowError(
            f"unknown task {name!r}: the built-in tasks are {known} "
            "(or load your own with --task-file, --data or --dataset)"
        )
    return BUILTIN_TASKS[name]


def cot_solver(name: str) -> Callable[[Example], str]:
    """The built-in task's ``cot_solution``: a templated reasoning trace ending "The answer is X."."""
    return _builtin(name).module.cot_solution


def _convert_knob(task: BuiltinTask, key: str, value: Any) -> Any:
    default = task.knobs[key]
    if not isinstance(value, str) or isinstance(default, str):
        return value
    if isinstance(default, int):
        try:
            return int(value.strip())
        except ValueError:
            raise FastslowError(f"{task.name}: knob {key} must be an integer, got {value!r}") from None
    return value


def _resolve_knobs(task: BuiltinTask, knobs: dict[str, Any] | None) -> dict[str, Any]:
    resolved = dict(task.knobs)
    for key, value in (knobs or {}).items():
        if key not in task.knobs:
            known = ", ".join(f"{k} (default {v})" for k, v in task.knobs.items())
            raise FastslowError(f"unknown knob {key!r} for task {task.name}: its knobs are {known}")
        resolved[key] = _convert_knob(task, key, value)
    return resolved


def guess_kind(examples: list[Example]) -> str:
    """ "choice" if any example has choices, "number" if every answer is a number, else "text"."""
    if any(ex.choices for ex in examples):
        return "choice"
    answers = [a for ex in examples for a in (ex.answer if isinstance(ex.answer, list) else [ex.answer])]
    if answers and all(a is not None and parse_number(a) is not None for a in answers):
        return "number"
    return "text"


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise FastslowError(f"unknown answer kind {kind!r}: use one of {', '.join(KINDS)}")


def load_task(
    name: str | None = None,
    *,
    task_file: str | Path | None = None,
    data: str | Path | None = None,
    dataset: str | Path | None = None,
    question_field: str = "question",
    answer_field: str = "answer",
    context_field: str | None = None,
    choices_field: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
    seed: int = 0,
    split: str = "test",
    knobs: dict[str, Any] | None = None,
) -> Task:
    """A Task from exactly one source; ``limit`` keeps the first N examples (N for a built-in task).

    - ``name``: a built-in task, ``limit`` (default 100) examples of ``split`` made with ``seed`` and
      ``knobs`` (values may be strings, as from the command line: ``{"words": "3"}``).
    - ``task_file``: a BIG-bench task.json (its kind comes from the file unless ``kind`` is given).
    - ``data``: a JSONL file; ``dataset``: a saved Hugging Face dataset (``split`` picks a split of a
      DatasetDict; the default "test" falls back to its only or first split; columns are mapped with
      ``question_field``, ``answer_field``, ``context_field``, ``choices_field``). Their kind is guessed
      (see ``guess_kind``) unless ``kind`` is given.

    File tasks are named after the file (``data/gsm_small.jsonl`` -> ``gsm_small``).
    """
    sources = {"name": name, "task_file": task_file, "data": data, "dataset": dataset}
    given = [k for k, v in sources.items() if v is not None and v != ""]
    if len(given) != 1:
        what = "none" if not given else " and ".join(given)
        raise FastslowError(
            f"give exactly one task source (a built-in task name, --task-file, --data or --dataset); got {what}"
        )
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0):
        raise FastslowError("--limit must be a positive integer")
    _check_kind(kind)
    if split != "test" and (task_file is not None or data is not None):
        raise FastslowError(
            f"split {split!r}: a split applies to built-in tasks and saved datasets, not to --task-file or --data"
        )
    if knobs and name is None:
        raise FastslowError(
            "knobs apply only to built-in tasks (given by name), not to tasks loaded from files"
        )

    if name is not None:
        builtin = _builtin(name)
        resolved = _resolve_knobs(builtin, knobs)
        examples = builtin.module.make_examples(limit or DEFAULT_SIZE, seed=seed, split=split, **resolved)
        return Task(
            name=builtin.name,
            examples=examples,
            kind=kind or builtin.kind,
            description=builtin.description,
            meta={"source": "builtin", "seed": seed, "split": split, "knobs": resolved},
        )

    if task_file is not None:
        task = load_bigbench(task_file)
        task.examples = task.examples[:limit] if limit else task.examples
        if kind is not None and kind != task.kind:
            task = Task(task.name, task.examples, kind=kind, description=task.description, meta=task.meta)
        return task

    if data is not None:
        examples = load_jsonl(data)
        source, task_name, meta = str(data), Path(data).stem, {"format": "jsonl"}
    else:
        assert dataset is not None
        examples = load_dataset_dir(
            dataset,
            question_field,
            answer_field,
            split=None if split == "test" else split,
            context_field=context_field,
            choices_field=choices_field,
        )
        source, task_name, meta = str(dataset), Path(dataset).name, {"format": "hf_disk"}
    if limit:
        examples = examples[:limit]
    return Task(
        name=task_name,
        examples=examples,
        kind=kind or guess_kind(examples),
        meta={"source": source, **meta},
    )
