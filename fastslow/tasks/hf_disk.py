"""Load examples from a Hugging Face dataset saved to disk (``Dataset.save_to_disk``).

Only ``datasets.load_from_disk`` is used, so nothing is downloaded: to use a Hub dataset, save it to
disk once on a machine with network access. Column names are mapped with arguments (the CLI's
``--question-field``, ``--answer-field``, ...), and a wrong name is answered with the columns there are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.tasks.base import Example
from fastslow.tasks.jsonl import answer_to_text

_SCALAR = (str, int, float, bool)


def _open(path: str | Path) -> Any:
    p = Path(path)
    if not p.exists():
        raise FastslowError(f"dataset directory {path} does not exist: check the path")
    if not p.is_dir():
        raise FastslowError(
            f"{path} is a file, not a dataset directory: give the folder written by save_to_disk "
            "(for a .jsonl file use --data)"
        )
    import datasets  # slow to import: only when a dataset is loaded

    try:
        return datasets.load_from_disk(str(p))
    except FileNotFoundError:
        raise FastslowError(
            f"{path} is not a dataset saved with datasets' save_to_disk (no dataset_info.json or "
            "dataset_dict.json inside)"
        ) from None


def _pick_split(loaded: Any, path: str | Path, split: str | None) -> tuple[Any, str | None]:
    """The Dataset of ``split`` in a DatasetDict: by default "test" if there is one, else the first."""
    if not hasattr(loaded, "keys"):  # a single Dataset
        return loaded, None
    names = list(loaded.keys())
    if not names:
        raise FastslowError(f"dataset {path} has no splits")
    if split is None:
        split = "test" if "test" in names else names[0]
    if split not in names:
        raise FastslowError(f"dataset {path} has no split {split!r}; its splits are: {', '.join(names)}")
    return loaded[split], split


def _answer(value: Any, where: str) -> str | list[str] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [answer_to_text(v) for v in value] or None
    if isinstance(value, _SCALAR):
        return answer_to_text(value)
    raise FastslowError(
        f"{where}: the answer must be a string, a number or a list, got {type(value).__name__}"
    )


def load_dataset_dir(
    path: str | Path,
    question_field: str,
    answer_field: str,
    split: str | None = None,
    context_field: str | None = None,
    choices_field: str | None = None,
) -> list[Example]:
    """The rows of a saved dataset as Examples, in order.

    ``split`` picks one split of a DatasetDict (default "test" if present, else the first). An integer
    answer with a choices column is an index into the choices (as in many Hub datasets). Ids come
    from an ``id`` column when there is one, else ``"<dir name>-<row>"``; other scalar columns go into
    ``example.meta``. Raises FastslowError for a missing directory, split or column.
    """
    loaded = _open(path)
    dataset, split_name = _pick_split(loaded, path, split)
    columns = list(dataset.column_names)
    where_split = f"dataset {path}" + (f" (split {split_name!r})" if split_name else "")
    for flag, field in (
        ("question", question_field),
        ("answer", answer_field),
        ("context", context_field),
        ("choices", choices_field),
    ):
        if field is not None and field not in columns:
            raise FastslowError(
                f"{where_split} has no column {field!r} for the {flag}: its columns are {', '.join(columns)} "
                f"(choose one with --{flag}-field)"
            )
    mapped = {question_field, answer_field, context_field, choices_field, "id"}
    stem = Path(path).name
    examples: list[Example] = []
    for i, row in enumerate(dataset):
        where = f"row {i} of {where_split}"
        question = row[question_field]
        if not isinstance(question, str) or not question.strip():
            raise FastslowError(f"{where}: the question ({question_field!r}) must be a non-empty string")
        choices = row[choices_field] if choices_field else None
        if choices is not None:
            if not isinstance(choices, list) or not choices:
                raise FastslowError(f"{where}: the choices ({choices_field!r}) must be a non-empty list")
            choices = [answer_to_text(c) for c in choices]
        context = row[context_field] if context_field else None
        answer = row[answer_field]
        if (
            choices
            and isinstance(answer, int)
            and not isinstance(answer, bool)
            and str(answer) not in choices
        ):
            if not 0 <= answer < len(choices):
                raise FastslowError(
                    f"{where}: answer index {answer} is out of range for {len(choices)} choices"
                )
            answer = choices[answer]  # an index into the options, as in many Hub datasets
        meta = {k: v for k, v in row.items() if k not in mapped and isinstance(v, _SCALAR)}
        if split_name:
            meta["split"] = split_name
        examples.append(
            Example(
                id=str(row["id"]) if "id" in row and row["id"] is not None else f"{stem}-{i}",
                question=question,
                answer=_answer(answer, where),
                context=None if context is None else str(context),
                choices=choices,
                meta=meta,
            )
        )
    if not examples:
        raise FastslowError(f"{where_split} has no rows")
    return examples
