"""`embedded-reasoner`: the embedded model plus the LoRA adapter that `fastslow prime` trains.

A toy, primed on templated step-by-step traces of the built-in task families so that the
workflows have a signal to show on a CPU (see REASONER.md beside this file). The adapter ships in
the package (``fastslow/models/reasoner/``). ``fastslow prime --install`` puts a newly trained one
under the cache directory (``~/.cache/fastslow/reasoner``), never into the installed package; when
one is installed there it is the one loaded (delete that folder to go back to the shipped one).
Either is merged into the base once and the merged model cached like the base, so it loads as fast.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from fastslow.errors import FastslowError
from fastslow.paths import cache_dir

SHIPPED_ADAPTER = Path(__file__).parent / "reasoner"


def installed_adapter_dir() -> Path:
    """Where ``fastslow prime --install`` puts an adapter: under the cache, not in the package."""
    return cache_dir() / "reasoner"


def reasoner_adapter() -> tuple[Path, str]:
    """The adapter `embedded-reasoner` loads and where it comes from ("installed" or "shipped")."""
    installed = installed_adapter_dir()
    if (installed / "adapter_config.json").is_file():
        return installed, "installed"
    if (SHIPPED_ADAPTER / "adapter_config.json").is_file():
        return SHIPPED_ADAPTER, "shipped"
    raise FastslowError(
        f"the embedded-reasoner adapter is missing from this installation ({SHIPPED_ADAPTER}); "
        "reinstall fastslow, or train one with `fastslow prime --install`"
    )


def install_adapter(adapter: Path) -> Path:
    """Copy a trained adapter to ``installed_adapter_dir()`` (a complete copy, then a rename)."""
    target = installed_adapter_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="reasoner.", dir=target.parent))
    try:
        shutil.copytree(adapter, tmp, dirs_exist_ok=True)
        if target.exists():
            old = target.with_name(f"reasoner.old.{os.getpid()}")
            os.rename(target, old)
            shutil.rmtree(old, ignore_errors=True)
        os.rename(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def describe_reasoner() -> str:
    """One line for `fastslow models`: which adapter `embedded-reasoner` loads."""
    try:
        from fastslow.models.adapters import adapter_digest

        path, origin = reasoner_adapter()
        return f"embedded-reasoner adapter: {origin}, {path} (digest {adapter_digest(path)})"
    except FastslowError as exc:
        return f"embedded-reasoner: {exc}"


def load_reasoner(batch_size: int = 32, device: str | None = None, dtype: str = "float32"):
    from fastslow.models.adapters import adapter_digest, ensure_merged
    from fastslow.models.hf import HFModel

    adapter, _ = reasoner_adapter()
    folder = ensure_merged(adapter, label="embedded-reasoner")
    return HFModel(
        folder,
        name=f"embedded-reasoner#{adapter_digest(adapter)}",
        batch_size=batch_size,
        device=device,
        dtype=dtype,
    )
