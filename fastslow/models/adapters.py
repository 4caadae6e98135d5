"""LoRA adapters: merged into their base once and cached as a plain transformers folder.

Merging (PEFT's ``merge_and_unload``) costs a few seconds; the merged folder then loads as fast as
any model and generates without the adapter's extra matmuls. The cache folder is keyed by the
adapter's weights, so retraining an adapter in place never serves the old merge.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fastslow.errors import FastslowError
from fastslow.models.convert import save_atomically
from fastslow.paths import cache_dir

EMBEDDED_BASE = "embedded"  # base_model_name_or_path that `fastslow prime` writes into its adapters


def adapter_digest(adapter_dir: Path) -> str:
    h = hashlib.sha256()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        path = adapter_dir / name
        if not path.is_file():
            raise FastslowError(f"{adapter_dir} is not a LoRA adapter folder (no {name})")
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def resolve_base(adapter_dir: Path) -> Path:
    """The transformers folder of the adapter's base model."""
    config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    base = config.get("base_model_name_or_path") or ""
    if base == EMBEDDED_BASE:
        from fastslow.models.embedded import embedded_model_dir

        return embedded_model_dir()
    path = Path(base)
    if not (path / "config.json").is_file():
        raise FastslowError(
            f"the base model of adapter {adapter_dir} is {base!r}, which is not a local model folder"
        )
    return path


def ensure_merged(adapter_dir: Path, label: str = "merged") -> Path:
    """A cached transformers folder holding base + adapter merged; built on first use."""
    digest = adapter_digest(adapter_dir)
    target = cache_dir() / "models" / f"{label}-{digest}"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fastslow.progress import progress_bar

    base_dir = resolve_base(adapter_dir)
    with progress_bar(1, None, unit="model", desc=f"merging adapter {label} into its base (once)") as bar:
        base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
        merged = PeftModel.from_pretrained(base, adapter_dir).merge_and_unload()
        tokenizer = AutoTokenizer.from_pretrained(base_dir)
        save_atomically(merged, tokenizer, target)
        bar.update(1)
    return target
