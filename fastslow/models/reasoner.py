"""`embedded-reasoner`: the embedded model plus the LoRA adapter that `fastslow prime` trains.

A toy, primed on templated step-by-step traces of the built-in task families so that the
workflows have a signal to show on a CPU (see REASONER.md beside this file). The adapter ships in
the package (``fastslow/models/reasoner/``); it is merged into the base once and the merged model
is cached like the base, so it loads as fast.
"""

from __future__ import annotations

from pathlib import Path

from fastslow.errors import FastslowError

ADAPTER_DIR = Path(__file__).parent / "reasoner"


def load_reasoner(batch_size: int = 32):
    from fastslow.models.adapters import adapter_digest, ensure_merged
    from fastslow.models.hf import HFModel

    if not (ADAPTER_DIR / "adapter_config.json").is_file():
        raise FastslowError(
            f"the embedded-reasoner adapter is missing from this installation ({ADAPTER_DIR}); "
            "reinstall fastslow, or train one with `fastslow prime --install`"
        )
    folder = ensure_merged(ADAPTER_DIR, label="embedded-reasoner")
    return HFModel(folder, name=f"embedded-reasoner#{adapter_digest(ADAPTER_DIR)}", batch_size=batch_size)
