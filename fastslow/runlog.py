"""The run directory's append-only JSONL files, safe against interruption.

Rows are appended one batch at a time, flushed and fsynced, so a run killed at any moment (Ctrl-C
or ``kill -9``) keeps every row it reported. A row cut short by the kill is the only possible damage:
``read_rows`` drops such a torn last line (and trims it from the file before new rows are
appended), so a resumed run neither loses nor duplicates a row.
"""

from __future__ import annotations

import json
import os
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError


def read_rows(path: Path, repair: bool = False) -> list[dict[str, Any]]:
    """All complete rows of a JSONL log. With ``repair``, a torn last line is cut from the file."""
    if not path.exists():
        return []
    data = path.read_bytes()
    rows = []
    good_end = 0
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        end = good_end + len(raw) + 1
        if not raw.strip():
            good_end = min(end, len(data))
            continue
        try:
            rows.append(json.loads(raw))
        except json.JSONDecodeError:
            if end > len(data):  # the last line, without its newline: torn by an interruption
                break
            raise FastslowError(f"line {lineno} of {path}: invalid JSON (the run log is damaged)") from None
        good_end = min(end, len(data))
    if repair and good_end < len(data):
        with open(path, "r+b") as f:
            f.truncate(good_end)
    elif repair and data and not data.endswith(b"\n"):  # a whole last row that lost its newline
        with open(path, "ab") as f:
            f.write(b"\n")
    return rows


def append_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Append rows in one write, then flush and fsync."""
    if not rows:
        return
    blob = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    with open(path, "ab") as f:
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())


def write_json(path: Path, obj: Any) -> None:
    """Write a JSON file atomically (temporary file, then rename)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def saved_with_defaults(saved: dict[str, Any], config_class: type) -> dict[str, Any]:
    """A run's saved settings (the dataclass ``config_class`` as JSON), with every field the run
    lacks at its default, as JSON stores it: a run written before a field existed ran with its
    default, so resuming it with that default is the same run."""
    missing = {}
    for f in fields(config_class):
        if f.name in saved:
            continue
        if f.default is not MISSING:
            missing[f.name] = f.default
        elif f.default_factory is not MISSING:
            missing[f.name] = f.default_factory()
    return {**json.loads(json.dumps(missing)), **saved}
