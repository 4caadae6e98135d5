"""Reading user-supplied JSONL files: one JSON object a line, every error naming the file and line.

The loaders of examples (``tasks/jsonl.py``), few-shot exemplars (``strategies/cot.py``) and
gradient data (``gradients/data.py``) all read their files through ``read_objects``, so a malformed
file gets the same clear message wherever it is given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError


def read_text_file(path: str | Path, what: str) -> str:
    """The text of ``path``, or a FastslowError saying why it cannot be read."""
    p = Path(path)
    if not p.exists():
        raise FastslowError(f"{what} {path} does not exist: check the path")
    if p.is_dir():
        raise FastslowError(f"{what} {path} is a directory, not a file")
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise FastslowError(f"{path} is not UTF-8 text ({e}): save it as UTF-8") from None
    except OSError as e:
        raise FastslowError(f"cannot read {path}: {e.strerror or e}") from None


def read_objects(path: str | Path, what: str, expected: str) -> list[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line of a JSONL file.

    ``what`` names the file's role in errors ("JSONL file"); ``expected`` describes a line
    ('{"question": ..., "answer": ...}') for the error a non-object line gets.
    """
    text = read_text_file(path, what)
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {lineno} of {path}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise FastslowError(f"{where}: invalid JSON: {e.msg} at column {e.colno}") from None
        if not isinstance(record, dict):
            raise FastslowError(
                f"{where}: expected a JSON object like {expected}, got {type(record).__name__}"
            )
        rows.append((lineno, record))
    return rows
