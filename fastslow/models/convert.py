"""GGUF -> transformers folder conversion, done once and cached.

transformers can load a GGUF file directly (``from_pretrained(folder, gguf_file=name)``), but it
dequantizes every tensor to float32 on each load (~12 s for the embedded 135M model). We pay that
once and keep a ``save_pretrained`` folder under the cache directory, which then loads in ~0.3 s.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.paths import cache_dir


def converted_dir_for(gguf_path: Path) -> Path:
    """The cache folder for one GGUF file, keyed by its path, size and modification time."""
    st = gguf_path.stat()
    key = f"{gguf_path.resolve()}|{st.st_size}|{int(st.st_mtime)}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir() / "models" / f"{gguf_path.stem}-{digest}"


def ensure_converted(gguf_path: Path) -> Path:
    """Return a transformers folder holding ``gguf_path``'s model and tokenizer, converting if needed."""
    if not gguf_path.is_file():
        raise FastslowError(f"GGUF file not found: {gguf_path}")
    target = converted_dir_for(gguf_path)
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fastslow.progress import progress_bar

    with progress_bar(1, None, unit="model", desc=f"converting {gguf_path.name} (once)") as bar:
        try:
            tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
            model = AutoModelForCausalLM.from_pretrained(
                gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
            )
        except Exception as exc:  # transformers raises many types for unreadable files
            raise FastslowError(f"cannot load GGUF file {gguf_path}: {exc}") from exc
        # A GGUF-loaded model is marked as quantized; it is plain float32 after dequantization.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        save_atomically(model, tokenizer, target)
        bar.update(1)
    return target


def save_atomically(model: Any, tokenizer: Any, target: Path) -> None:
    """``save_pretrained`` model and tokenizer into ``target`` via a temporary folder and a rename,
    so a crash or a concurrent writer never leaves a half-written model where a later run trusts it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "config.json").is_file():  # lost a race only if the winner finished
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
