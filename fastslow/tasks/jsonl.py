"""Load examples from a JSONL file: one JSON object a line.

Keys: ``question`` (required, a string), ``answer`` (optional: a string, a number, or a list of
acceptable answers), ``id``, ``context``, ``choices`` (a list of strings); any other key goes into
``example.meta``. Blank lines are skipped. Every error names the file and the line, as in
``line 17 of data.jsonl: missing "question"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.jsonlines import read_objects
from fastslow.tasks.base import Example

KNOWN_KEYS = ("id", "question", "answer", "context", "choices")


def answer_to_text(value: Any) -> str:
    """A reference answer as text: ``12`` -> ``"12"``, ``True`` -> ``"yes"``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def example_from_record(record: dict[str, Any], default_id: str, where: str) -> Example:
    """An Example from one JSON object; ``where`` ("line 3 of data.jsonl") prefixes any error."""
    if "question" not in record and "prompt" in record:  # a prompt file (TPO's {"prompt": ...})
        record = {**record, "question": record["prompt"]}
        record.pop("prompt")
    if "question" not in record:
        raise FastslowError(f'{where}: missing "question" (every line needs a "question" or "prompt" key)')
    question = record["question"]
    if not isinstance(question, str) or not question.strip():
        raise FastslowError(f'{where}: "question" must be a non-empty string, got {question!r}')
    answer = record.get("answer")
    if isinstance(answer, list):
        if not answer:
            raise FastslowError(f'{where}: "answer" is an empty list: give at least one acceptable answer')
        answer = [answer_to_text(a) for a in answer]
    elif answer is not None:
        if isinstance(answer, dict):
            raise FastslowError(f'{where}: "answer" must be a string, a number or a list, not an object')
        answer = answer_to_text(answer)
    choices = record.get("choices")
    if choices is not None:
        if not isinstance(choices, list) or not choices:
            raise FastslowError(f'{where}: "choices" must be a non-empty list of strings')
        choices = [answer_to_text(c) for c in choices]
    context = record.get("context")
    if context is not None and not isinstance(context, str):
        raise FastslowError(f'{where}: "context" must be a string')
    example_id = record.get("id", default_id)
    meta = {k: v for k, v in record.items() if k not in KNOWN_KEYS}
    return Example(
        id=str(example_id), question=question, answer=answer, context=context, choices=choices, meta=meta
    )


def load_jsonl(path: str | Path) -> list[Example]:
    """The examples of a JSONL file, in file order.

    Examples without an ``id`` get ``"<file stem>-<i>"`` (i counts examples from 0). Raises
    FastslowError for a missing or empty file, a line that is not a JSON object, a missing
    ``question`` or a repeated ``id``.
    """
    name = str(path)
    stem = Path(path).stem
    examples: list[Example] = []
    first_line_of: dict[str, int] = {}
    for line_no, record in read_objects(path, "JSONL file", '{"question": ..., "answer": ...}'):
        where = f"line {line_no} of {name}"
        example = example_from_record(record, f"{stem}-{len(examples)}", where)
        if example.id in first_line_of:
            raise FastslowError(
                f"{where}: duplicate id {example.id!r} (first used on line {first_line_of[example.id]}): "
                "ids must be unique"
            )
        first_line_of[example.id] = line_no
        examples.append(example)
    if not examples:
        raise FastslowError(f'{name} is empty: it needs one JSON object a line with a "question" key')
    return examples
