"""What a training run leaves behind, in a folder every command loads as ``--model hf:PATH``.

- a LoRA adapter in float16 (half the size; merged into a float32 base at load time, once, and
  cached: ``models/adapters.py``);
- or the base with the adapter merged in (PEFT's ``merge_and_unload``): a plain transformers folder;
- or, after full fine-tuning, the model itself.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from fastslow.models.convert import save_atomically


def save_adapter_fp16(model: Any, target: Path, base: str) -> None:
    """Save a PEFT model's adapter with float16 weights; ``base`` goes into its config as the base
    model (``"embedded"`` is resolved at load time, so the folder works on any machine)."""
    import torch
    from safetensors.torch import load_file, save_file

    target = Path(target)
    if target.exists():
        shutil.rmtree(target)
    model.save_pretrained(target)
    weights = target / "adapter_model.safetensors"
    tensors = {k: v.to(torch.float16) for k, v in load_file(weights).items()}
    save_file(tensors, weights, metadata={"format": "pt"})
    cfg_path = target / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["base_model_name_or_path"] = base
    if isinstance(cfg.get("target_modules"), list):  # PEFT writes a set, in hash order: fix one order
        cfg["target_modules"] = sorted(cfg["target_modules"])
    cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    readme = target / "README.md"
    if readme.exists():
        readme.unlink()  # PEFT's template card says nothing about this run


def export_model(model: Any, tokenizer: Any, target: Path, how: str, base: str) -> Path:
    """Write the trained ``model`` to ``target``: ``how`` is "adapter" or "merged" for a PEFT model
    (a fully fine-tuned model is saved as it is, whatever ``how`` says)."""
    from peft import PeftModel

    target = Path(target)
    if isinstance(model, PeftModel):
        if how == "adapter":
            save_adapter_fp16(model, target, base)
            return target
        model = model.merge_and_unload()
    if target.exists():
        shutil.rmtree(target)
    save_atomically(model, tokenizer, target)
    return target
