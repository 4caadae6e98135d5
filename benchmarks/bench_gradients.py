"""Per-example gradient spectra on the embedded model: the low-rank fast path against the full SVD.

All paths measure the same examples (detailed chains of thought and bare answers of
distractor_arithmetic, chat-templated). Each path runs over all the examples in a block of its own,
as a run uses it, and the blocks alternate (fast, full) for ``--rounds`` rounds so that drift in
the machine's load hits them alike. (A first version alternated example by example: each path then
ran with the other's data evicting its working set, which added ~25% to both.) Times are split into
forward+backward and the spectra of all 210 projection gradients (30 layers x q, k, v, o, gate, up,
down).

- fast: hooks keep X and D, no weight gradient is computed, S from a T x T factor of X and a T x T
  eigensolve (float64)
- full: autograd weight gradients, the singular values of each in float64 (``--exact-svd``, our reference)
- paper: the same gradients, each SVD'd as Li, Li & Zhou's code does (``get_gradient_values.py``:
  ``_, S, _ = torch.linalg.svd(param.grad)``, float32, with both full sets of singular vectors, which
  it throws away; timed only)

In all three the spectra are spread over the cores a layer per worker thread (``parallel.py``).

It prints the per-example seconds, the ratios, and the largest relative difference between fast
and full over every projection and statistic (S_min also relative to S_max: see lowrank.py).

    python benchmarks/bench_gradients.py [--examples 6] [--threads N] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastslow.gradients.data import make_data, read_responses  # noqa: E402
from fastslow.gradients.encode import encode  # noqa: E402
from fastslow.gradients.modules import find_projections  # noqa: E402
from fastslow.gradients.parallel import map_layers  # noqa: E402
from fastslow.gradients.run import (  # noqa: E402
    backward_exact,
    backward_lowrank,
    prepare_model,
    spectra_exact,
    spectra_lowrank,
)
from fastslow.models.registry import load_model  # noqa: E402

STATS = ("s_sum", "s_max", "s_min", "fro", "ratio")


def timed(fn, *args):
    t0 = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - t0


def svd_paper(projections, grads) -> None:
    """The paper's code: ``torch.linalg.svd`` of each float32 autograd gradient, U and Vᴴ included
    (``full_matrices`` left at its default, True), spread over the cores as the other two paths."""
    import torch

    map_layers(projections, lambda shard: {p.name: torch.linalg.svd(grads[p.name])[1] for p in shard})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=6, help="examples measured by every path (default: 6)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--rounds", type=int, default=2, help="rounds of the fast and full blocks (default: 2)")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    hf = load_model("embedded")
    model, tokenizer = prepare_model(hf.model), hf.tokenizer
    projections = find_projections(model, "all")
    with tempfile.TemporaryDirectory() as tmp:
        files = make_data("distractor_arithmetic", tmp, n=args.examples, seed=0, knobs={"steps": 3})
        detailed = read_responses(files["detailed"])
        fast_answers = read_responses(files["none"])
    examples = [detailed[i] if i % 2 == 0 else fast_answers[i] for i in range(args.examples)]
    encoded = [encode(tokenizer, ex.prompt, ex.response) for ex in examples]
    items = list(enumerate(encoded))
    spectra_lowrank(projections, backward_lowrank(model, projections, encoded[0])[1])  # warm up

    stages = ("fast backward", "fast spectra", "full backward", "full SVD f64", "paper SVD")
    times: dict[str, list[float]] = {k: [] for k in stages}
    fast_spectra: dict[int, dict] = {}
    full_spectra: dict[int, dict] = {}
    for _ in range(args.rounds):
        for i, enc in items:
            (_, io), t_back = timed(backward_lowrank, model, projections, enc)
            fast_spectra[i], t_spec = timed(spectra_lowrank, projections, io)
            del io
            times["fast backward"].append(t_back)
            times["fast spectra"].append(t_spec)
        for i, enc in items:
            (_, grads), t_full_back = timed(backward_exact, model, projections, enc)
            full_spectra[i], t_svd = timed(spectra_exact, projections, grads)
            _, t_paper = timed(svd_paper, projections, grads)
            del grads
            times["full backward"].append(t_full_back)
            times["full SVD f64"].append(t_svd)
            times["paper SVD"].append(t_paper)

    worst = {s: (0.0, "") for s in STATS}
    worst_min_vs_max = 0.0
    for i, enc in items:
        fast, full = fast_spectra[i], full_spectra[i]
        for p in projections:
            a, b = fast[p.name], full[p.name]
            for s in STATS:
                x, y = getattr(a, s), getattr(b, s)
                rel = abs(x - y) / abs(y) if y else abs(x - y)
                if rel > worst[s][0]:
                    worst[s] = (rel, f"{p.name}, T={len(enc.ids)}")
            worst_min_vs_max = max(worst_min_vs_max, abs(a.s_min - b.s_min) / b.s_max if b.s_max else 0.0)

    tokens = [len(e.ids) for e in encoded]
    m = {k: statistics.mean(v) for k, v in times.items()}
    fast_s = m["fast backward"] + m["fast spectra"]
    full_s = m["full backward"] + m["full SVD f64"]
    paper_s = m["full backward"] + m["paper SVD"]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(
        f"model: {hf.name}, {len(projections)} projections; {len(encoded)} examples of "
        f"{min(tokens)}-{max(tokens)} tokens (mean {statistics.mean(tokens):.0f})"
    )
    print("seconds per example          forward+backward   spectra    total")
    print(
        f"fast  (X, D hooks; TxT eig, f64)         {m['fast backward']:7.3f}  {m['fast spectra']:8.3f} {fast_s:8.3f}"
    )
    print(
        f"full  (autograd G; all S, f64)          {m['full backward']:7.3f}  {m['full SVD f64']:8.3f} {full_s:8.3f}"
    )
    print(
        f"paper (autograd G; U, S, V, f32)        {m['full backward']:7.3f}  {m['paper SVD']:8.3f} {paper_s:8.3f}"
    )
    print(
        f"ratio full/fast: spectra {m['full SVD f64'] / m['fast spectra']:.1f}x, per example {full_s / fast_s:.1f}x; "
        f"paper/fast: spectra {m['paper SVD'] / m['fast spectra']:.1f}x, per example {paper_s / fast_s:.1f}x"
    )
    print("largest relative difference fast vs full, over all projections:")
    for s in STATS:
        rel, where = worst[s]
        print(f"  {s:<6} {rel:.2e}  ({where})")
    print(f"  s_min difference relative to s_max: {worst_min_vs_max:.2e}")


if __name__ == "__main__":
    main()
