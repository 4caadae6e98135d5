"""A model's identity: a digest of its weight files, so a run directory can tell two models apart
when one spec names other weights later (an adapter installed again behind ``embedded-reasoner``,
a checkpoint folder trained again in place).

Hashing a folder's weights reads every byte (about a second per GB), so each file's digest is
remembered in the cache directory under its path, size and modification time; a later run pays only
for files that changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from fastslow.paths import cache_dir

WEIGHT_SUFFIXES = {".safetensors", ".bin", ".gguf", ".pt", ".pth"}
_MEMO_FILE = "digests.json"


def file_digest(path: Path) -> str:
    """SHA-256 of one file's contents, remembered by path, size and mtime."""
    path = Path(path).resolve()
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    memo_path = cache_dir() / _MEMO_FILE
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    if key in memo:
        return memo[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    digest = h.hexdigest()
    memo = {k: v for k, v in memo.items() if not k.startswith(f"{path}|")}
    memo[key] = digest
    try:
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo), encoding="utf-8")
        os.replace(tmp, memo_path)
    except OSError:  # a read-only cache only costs the hashing again next time
        pass
    return digest


def weights_digest(folder: Path) -> str:
    """A short digest over a model folder's weight files and its config (names and contents)."""
    folder = Path(folder)
    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        if p.is_file() and (p.suffix in WEIGHT_SUFFIXES or p.name in {"config.json", "adapter_config.json"}):
            h.update(f"{p.name}:{file_digest(p)}|".encode())
    return h.hexdigest()[:16]


def model_identity(model: object) -> str:
    """What a run directory records of its model: ``identity`` (name and weights digest) where the
    backend has one, else its name (a served model's weights cannot be seen from here)."""
    return getattr(model, "identity", None) or model.name  # type: ignore[attr-defined]
