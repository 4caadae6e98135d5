"""The run directory (``--out``): the one place where a workflow's bookkeeping lives.

``open_run`` writes ``config.json`` on the first run, and on a later one checks it: a run resumes
only with the same settings *and the same model weights* (a digest, not just the spec, so a swapped
adapter behind ``embedded-reasoner`` cannot mix two models' rows in one directory). Every field that
differs is named in one line. A ``Run`` then appends rows to its JSONL logs crash-safely, reads
them back, writes JSON files atomically and shows one progress bar per long step.

Rows are appended one batch at a time, flushed and fsynced, so a run killed at any moment (Ctrl-C
or ``kill -9``) keeps every row it reported. A row cut short by the kill is the only possible damage:
``read_rows`` drops such a torn last line (and trims it from the file before new rows are
appended), so a resumed run neither loses nor duplicates a row.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import MISSING, asdict, dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.progress import progress_bar

CONFIG_FILE = "config.json"


# -- files ------------------------------------------------------------------------------------------
def read_rows(path: Path, repair: bool = False) -> list[dict[str, Any]]:
    """All complete rows of a JSONL log. With ``repair``, a torn last line is cut from the file."""
    path = Path(path)
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


def _jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def append_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Append rows in one write, then flush and fsync."""
    if not rows:
        return
    with open(path, "ab") as f:
        f.write(_jsonl(rows))
        f.flush()
        os.fsync(f.fileno())


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write a whole JSONL file atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(_jsonl(rows))
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    """Write a JSON file atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FastslowError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc


# -- the config check -------------------------------------------------------------------------------
def saved_with_defaults(saved: dict[str, Any], config_class: type) -> dict[str, Any]:
    """A run's saved settings (the dataclass ``config_class`` as JSON), with every field the run
    lacks at its default, as JSON stores it: a run written before a field existed ran with its
    default, so resuming it with that default is the same run. Nested dataclasses are filled too."""
    import typing

    hints = typing.get_type_hints(config_class)
    filled = dict(saved)
    for f in fields(config_class):
        nested = hints.get(f.name)
        if f.name in saved:
            if isinstance(nested, type) and is_dataclass(nested) and isinstance(saved[f.name], dict):
                filled[f.name] = saved_with_defaults(saved[f.name], nested)
            continue
        if f.default is not MISSING:
            value = f.default
        elif f.default_factory is not MISSING:
            value = f.default_factory()
        else:
            continue
        filled[f.name] = json.loads(json.dumps(asdict(value) if is_dataclass(value) else value))
    return filled


def differing_fields(before: dict[str, Any], now: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the settings that differ, nested dictionaries compared field by field."""
    out = []
    for key in sorted(set(before) | set(now)):
        a, b = before.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict) and a and b:
            out += differing_fields(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}")
    return out


@dataclass
class Run:
    """An opened run directory. Files are named relative to ``out``."""

    out: Path
    command: str
    config: dict[str, Any]

    def path(self, name: str) -> Path:
        return self.out / name

    def rows(self, name: str) -> list[dict[str, Any]]:
        """The complete rows of a log, a torn last line (from an interruption) repaired."""
        return read_rows(self.out / name, repair=True)

    def append(self, name: str, rows: list[dict[str, Any]]) -> None:
        append_rows(self.out / name, rows)

    def write_rows(self, name: str, rows: Iterable[dict[str, Any]]) -> Path:
        write_jsonl(self.out / name, rows)
        return self.out / name

    def write_json(self, name: str, obj: Any) -> Path:
        write_json(self.out / name, obj)
        return self.out / name

    def progress(self, total: int, enabled: bool = True, unit: str = "ex", desc: str | None = None):
        return progress_bar(total, enabled, unit=unit, desc=desc)


def check_run(
    out: str | Path,
    command: str,
    config: Any,
    *,
    model_id: str | None = None,
    extra: dict[str, Any] | None = None,
    runtime_fields: Iterable[str] = (),
    extra_names: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Refuse to resume ``out`` with other settings; return the record ``open_run`` writes.

    ``config`` is the command's config dataclass; ``extra`` holds further facts that must match
    (digests of the data files, say); ``model_id`` identifies the weights (``Model.identity``).
    ``runtime_fields`` may differ between a run and its resumption (they change no result);
    ``extra_names`` words a differing entry of a dictionary in ``extra`` for the user (a format
    string taking the entry's key), e.g. ``{"data_sha256": "the contents of {}'s data file"}``.
    """
    out = Path(out)
    settings = json.loads(json.dumps(asdict(config)))
    record: dict[str, Any] = {"command": command, command: settings, **(extra or {})}
    if model_id is not None:
        record["model_id"] = model_id
    path = out / CONFIG_FILE
    if not path.exists():
        return record
    previous = read_json(path)
    if not isinstance(previous, dict) or previous.get("command", command) != command:
        kind = previous.get("command") if isinstance(previous, dict) else None
        raise FastslowError(
            f"{out} holds a {kind or 'different'} run, not a {command} run; use another --out"
        )
    before = saved_with_defaults(previous.get(command, {}), type(config))
    skip = set(runtime_fields)
    differ = [k for k in differing_fields(before, settings) if k.split(".")[0] not in skip]
    for key, value in (extra or {}).items():
        old = previous.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            name = (extra_names or {}).get(key, key + ".{}")
            differ += [name.format(k) for k in sorted(set(value) | set(old)) if value.get(k) != old.get(k)]
        elif old != value:
            differ.append(key)
    old_model = previous.get("model_id")
    if model_id is not None and old_model is not None and old_model != model_id:
        differ.append(f"model (weights {old_model} then, {model_id} now)")
    if differ:
        raise FastslowError(
            f"{out} holds a run with other settings (differs in: {', '.join(differ)}); "
            "use another --out, or delete that directory"
        )
    if model_id is not None and old_model is None:
        record.pop("model_id")  # a run from before model digests: keep its record as it was
    return record


def open_run(out: str | Path, command: str, config: Any, **check: Any) -> Run:
    """Check ``out`` (``check_run``, which takes the same keywords), create it and write
    ``config.json`` on the first run."""
    out = Path(out)
    record = check_run(out, command, config, **check)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / CONFIG_FILE).exists():
        write_json(out / CONFIG_FILE, record)
    return Run(out=out, command=command, config=record)
