"""Load a BIG-bench JSON task (``task.json``) as a Task.

The format is BIG-bench's (Srivastava et al., 2022, "Beyond the Imitation Game"; the repository's
``docs/doc.md`` describes the JSON schema). Each of ``examples`` has an ``input`` and either

- ``target``: a string or a list of acceptable strings (generative, scored by exact match), or
- ``target_scores``: ``{option: score}`` (multiple choice; the options with the highest score are right).

The task's ``metrics`` choose the scoring: ``multiple_choice_grade`` -> choice scoring over the
options, ``exact_str_match`` -> exact match after normalisation (``answers.normalize_answer``). Other
metrics (BLEU, ROUGE, ...) are recorded in ``task.meta["metrics"]`` and scored by exact match.

Prompt pieces follow BIG-bench's defaults: ``task_prefix`` (default ""), ``example_input_prefix``
(default "\\nQ: "), ``choice_prefix`` (default "\\n  choice: ", options appended to the input unless
``append_choices_to_input`` is false) and ``example_output_prefix`` (default "\\nA: "). Each question is
``task_prefix + example_input_prefix + input [+ choices] + example_output_prefix`` with the surrounding
whitespace stripped, since a chat model gets one question at a time. BIG-bench shuffles the options
shown; we keep the file's order so that questions are reproducible without its random state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.jsonlines import read_text_file
from fastslow.tasks.answers import parse_number
from fastslow.tasks.base import Example, Task
from fastslow.tasks.jsonl import answer_to_text

DEFAULT_INPUT_PREFIX = "\nQ: "
DEFAULT_OUTPUT_PREFIX = "\nA: "
DEFAULT_CHOICE_PREFIX = "\n  choice: "
MULTIPLE_CHOICE = "multiple_choice_grade"
EXACT_MATCH = "exact_str_match"
_KNOWN_EXAMPLE_KEYS = ("input", "target", "target_scores")


def task_name_for(path: str | Path) -> str:
    """``.../benchmark_tasks/navigate/task.json`` -> ``navigate``; ``other/my_task.json`` -> ``my_task``."""
    p = Path(path)
    if p.name == "task.json" and p.parent.name not in ("", "."):
        return p.parent.name
    return p.stem


def _read_task_json(path: str | Path) -> dict[str, Any]:
    text = read_text_file(path, "BIG-bench task file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise FastslowError(
            f"{path} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}): "
            "a BIG-bench task.json is one JSON object"
        ) from None
    if isinstance(data, dict) and "examples" not in data:
        subtasks = sorted(p.parent.name for p in Path(path).parent.glob("*/task.json"))
        if subtasks:
            raise FastslowError(
                f"{path} is a parent task with no examples of its own; pass one of its subtasks: "
                + ", ".join(f"{Path(path).parent / s / 'task.json'}" for s in subtasks[:5])
                + (f" (and {len(subtasks) - 5} more)" if len(subtasks) > 5 else "")
            )
    if not isinstance(data, dict) or not isinstance(data.get("examples"), list):
        raise FastslowError(
            f'{path} has no "examples" list: a BIG-bench task.json is an object with '
            '"examples": [{"input": ..., "target": ...}, ...]'
        )
    if not data["examples"]:
        raise FastslowError(f'{path}: "examples" is empty')
    return data


def _prefix(data: dict[str, Any], key: str, default: str, path: str | Path) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise FastslowError(f'{path}: "{key}" must be a string, got {value!r}')
    return value


def _target_answer(target: Any, where: str) -> str | list[str]:
    if isinstance(target, list):
        if not target or not all(isinstance(t, (str, int, float)) for t in target):
            raise FastslowError(f'{where}: "target" must be a string or a non-empty list of strings')
        return [answer_to_text(t) for t in target]
    if isinstance(target, (str, int, float)):
        return answer_to_text(target)
    raise FastslowError(f'{where}: "target" must be a string or a list of strings, got {target!r}')


def _scores_answer(scores: Any, where: str) -> tuple[list[str], str | list[str]]:
    """The options and the best one(s) of a ``target_scores`` dict."""
    if not isinstance(scores, dict) or not scores:
        raise FastslowError(f'{where}: "target_scores" must be a non-empty object {{option: score}}')
    for option, score in scores.items():
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise FastslowError(f'{where}: "target_scores" gives option {option!r} the non-number {score!r}')
    best = max(scores.values())
    correct = [option for option, score in scores.items() if score == best]
    return list(scores), correct[0] if len(correct) == 1 else correct


def _is_number_answer(answer: str | list[str] | None) -> bool:
    """Whether a target is a number: a string that parses as one, or a list of targets holding one
    (BIG-bench's object_counting lists ``["6", "six"]``), so that "The answer is 1 + 1 = 2." reads 2."""
    values = answer if isinstance(answer, list) else [answer]
    return any(v is not None and parse_number(v) is not None for v in values)


def load_bigbench(path: str | Path) -> Task:
    """A Task from a BIG-bench JSON task file; FastslowError names the file and example on bad input.

    Example ids are ``"<task name>-<index>"``. ``task.meta`` records ``metrics``, ``preferred_score``,
    ``scoring`` ("multiple_choice" or "exact_match") and the source path.
    """
    data = _read_task_json(path)
    name = task_name_for(path)
    task_prefix = _prefix(data, "task_prefix", "", path)
    input_prefix = _prefix(data, "example_input_prefix", DEFAULT_INPUT_PREFIX, path)
    output_prefix = _prefix(data, "example_output_prefix", DEFAULT_OUTPUT_PREFIX, path)
    choice_prefix = _prefix(data, "choice_prefix", DEFAULT_CHOICE_PREFIX, path)
    append_choices = bool(data.get("append_choices_to_input", True))
    metrics = data.get("metrics", [])
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, list):
        raise FastslowError(f'{path}: "metrics" must be a list of metric names, got {metrics!r}')

    raw = data["examples"]
    for i, ex in enumerate(raw):
        where = f"example {i} of {path}"
        if not isinstance(ex, dict):
            raise FastslowError(f'{where}: expected an object with "input" and "target", got {ex!r}')
        if not isinstance(ex.get("input"), str):
            raise FastslowError(f'{where}: missing "input" (a string)')
        if "target" not in ex and "target_scores" not in ex:
            raise FastslowError(
                f'{where}: has neither "target" (generative) nor "target_scores" (multiple choice): '
                "add one of them"
            )
    all_mc = all("target_scores" in ex for ex in raw)
    all_gen = all("target" in ex for ex in raw)
    if all_mc and (MULTIPLE_CHOICE in metrics or not (all_gen and EXACT_MATCH in metrics)):
        multiple_choice = True
    elif all_gen:
        multiple_choice = False
    else:
        missing = "target_scores" if MULTIPLE_CHOICE in metrics else "target"
        index = next(i for i, ex in enumerate(raw) if missing not in ex)
        raise FastslowError(
            f'example {index} of {path}: missing "{missing}" while other examples have it; '
            "give every example the same kind of target"
        )

    examples: list[Example] = []
    for i, ex in enumerate(raw):
        where = f"example {i} of {path}"
        choices: list[str] | None = None
        body = ex["input"]
        if multiple_choice:
            choices, answer = _scores_answer(ex["target_scores"], where)
            if append_choices:
                body = body + choice_prefix + choice_prefix.join(choices)
        else:
            answer = _target_answer(ex["target"], where)
        question = (task_prefix + input_prefix + body + output_prefix).strip()
        meta: dict[str, Any] = {"input": ex["input"], "index": i}
        meta.update({k: v for k, v in ex.items() if k not in _KNOWN_EXAMPLE_KEYS})
        if choices is not None:
            meta["choices_shown"] = append_choices
        examples.append(
            Example(id=f"{name}-{i}", question=question, answer=answer, choices=choices, meta=meta)
        )

    if multiple_choice:
        kind = "choice"
    else:
        kind = "number" if all(_is_number_answer(ex.answer) for ex in examples) else "text"
    return Task(
        name=name,
        examples=examples,
        kind=kind,
        description=str(data.get("description", "")),
        meta={
            "source": str(path),
            "format": "bigbench",
            "metrics": list(metrics),
            "preferred_score": data.get("preferred_score"),
            "scoring": "multiple_choice" if multiple_choice else "exact_match",
        },
    )
