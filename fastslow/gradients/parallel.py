"""Spread the per-projection spectra over the CPU cores, layer by layer.

One example's spectra are ~200 small, independent problems (a factor of X, a Gram product and an
eigensolve of a few hundred rows each, or one full SVD). Torch's own threads barely speed up a
problem that small: measured here on 2 cores, the low-rank spectra of the embedded model took 0.83 s
an example with 2 intra-op threads against 0.89 s with 1. Giving each core whole problems instead
does: 2 worker threads of 1 intra-op thread each took 0.47 s (torch releases the GIL inside its
kernels).

Work is split by layer, so that the projections sharing an input (q, k, v; gate, up) share its
factor within one worker; layers are dealt out in turn for balance. Both the fast path and the
full-SVD reference run through here, so ``benchmarks/bench_gradients.py`` compares like with like.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from fastslow.gradients.modules import Projection

R = TypeVar("R")


def map_layers(
    projections: list[Projection],
    compute: Callable[[list[Projection]], dict[str, R]],
    workers: int | None = None,
) -> dict[str, R]:
    """``compute`` over the projections, a share of the layers per worker thread (default: one
    worker per torch thread), each worker on one intra-op thread; the result in projection order."""
    import torch

    layers: dict[int, list[Projection]] = {}
    for p in projections:
        layers.setdefault(p.layer, []).append(p)
    groups = list(layers.values())
    threads = torch.get_num_threads()
    workers = min(workers or threads, len(groups))
    if workers <= 1:
        return compute(projections)
    shards = [[p for group in groups[i::workers] for p in group] for i in range(workers)]
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="spectra") as pool:
            parts = list(pool.map(compute, shards))
    finally:
        torch.set_num_threads(threads)
    merged: dict[str, R] = {}
    for part in parts:
        merged.update(part)
    return {p.name: merged[p.name] for p in projections}
