"""fastslow's one progress bar per long step (tqdm), used by the run frame and by the models' one-off
steps (a GGUF conversion, an adapter merge)."""

from __future__ import annotations


def progress_bar(total: int | None, enabled: bool | None = True, unit: str = "ex", desc: str | None = None):
    """A tqdm bar; off with ``enabled=False`` (``--quiet``); ``enabled=None``: only on a terminal."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        unit=unit,
        desc=desc,
        disable=None if enabled is None else not enabled,
        dynamic_ncols=True,
    )
