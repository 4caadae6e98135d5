"""`embedded-reasoner`: the embedded model plus the LoRA adapter that `fastslow prime` trains.

The adapter ships inside the package (``fastslow/models/reasoner/``); it is merged into the base
weights once and the merged model is cached like the base, so it loads as fast.
"""

from __future__ import annotations

from pathlib import Path

from fastslow.errors import FastslowError

ADAPTER_DIR = Path(__file__).parent / "reasoner"


def load_reasoner(batch_size: int = 32):
    if not (ADAPTER_DIR / "adapter_config.json").is_file():
        raise FastslowError(
            f"the embedded-reasoner adapter is not in this installation ({ADAPTER_DIR}); "
            "train one with `fastslow prime`, or use --model embedded"
        )
    raise FastslowError("embedded-reasoner loading is not implemented yet")
