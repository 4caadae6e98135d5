"""Where fastslow keeps its files."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """fastslow's cache root: ``$FASTSLOW_CACHE`` or ``~/.cache/fastslow``."""
    return Path(os.environ.get("FASTSLOW_CACHE") or Path.home() / ".cache" / "fastslow")
