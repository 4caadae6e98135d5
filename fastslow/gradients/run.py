"""`fastslow gradients`: layer-wise gradients of fast vs slow thinking (Li, Li & Zhou 2024).

Recipe: read the response types -> load the model (float32) -> find its projections -> for each type
and example: tokenize prompt + response once, mask the prompt, forward, mean cross-entropy over the
response tokens, backward (one example at a time) -> the spectrum of every projection's weight
gradient (nuclear norm S_sum, S_max, S_min, σ1 ratio, Frobenius norm) -> append the example's rows to
``gradients.jsonl`` -> summarize (per-layer means, MAD, RD) into ``summary.json``.

The fast path never asks autograd for a weight gradient: the input embeddings require grad instead
of the weights, hooks keep each projection's inputs X and output gradients D, and the spectrum of
``G = Dᵀ X`` comes from a T × T factor of X and a T × T eigensolve (``lowrank.py``). ``exact_svd``
is the paper's way, kept as the reference: autograd weight gradients and a full SVD of each.

Run it again with the same arguments and it resumes: finished examples are read back (an example
cut short by an interruption is dropped and redone), so a resumed run ends with the same rows as an
uninterrupted one.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.gradients.capture import CaptureLayerIO, LayerIO
from fastslow.gradients.data import ResponseExample, read_responses
from fastslow.gradients.encode import PROMPT_FORMATS, Encoded, encode
from fastslow.gradients.lowrank import (
    Spectrum,
    gradient_spectrum,
    gradient_spectrum_exact,
    triangular_factor,
    use_lowrank,
)
from fastslow.gradients.modules import Projection, find_projections, module_kinds
from fastslow.gradients.parallel import map_layers
from fastslow.runlog import append_rows, read_rows, write_json

ROWS_FILE = "gradients.jsonl"
SKIPPED_FILE = "skipped.jsonl"
TIMING_FILE = "timing.jsonl"  # seconds per example, kept apart so that the rows stay reproducible


@dataclass
class GradientsConfig:
    """Everything that defines a gradients run; written to ``config.json`` in the run directory.

    - ``data``: response type -> JSONL file of ``{"id", "prompt", "response"}`` (one per type).
    - ``model``: a model spec (see ``fastslow models``); any transformers causal LM with
      Llama/Qwen/Mistral/Gemma module names.
    - ``modules``: ``attn`` (q, k, v, o: the paper's), ``mlp`` (gate, up, down) or ``all``.
    - ``max_length``: prompt + response longer than this (in tokens) is skipped and reported.
    - ``exact_svd``: the paper's way (autograd gradient, full SVD): slow, the reference.
    - ``limit``: the first N examples of each type.
    - ``prompt_format``: ``auto`` (the chat template if the tokenizer has one), ``chat`` or ``plain``.
    """

    data: dict[str, str]
    model: str = "embedded"
    modules: str = "all"
    max_length: int = 1024
    exact_svd: bool = False
    limit: int | None = None
    prompt_format: str = "auto"

    def validate(self) -> None:
        if not self.data:
            raise FastslowError("give at least one response type: --data NAME=FILE")
        for name in self.data:
            if not name or any(c in name for c in "/\\:= "):
                raise FastslowError(f"bad response type name {name!r}: use letters, digits, - or _")
        module_kinds(self.modules)
        if self.prompt_format not in PROMPT_FORMATS:
            raise FastslowError(
                f"unknown prompt format {self.prompt_format!r}: use {', '.join(PROMPT_FORMATS)}"
            )
        if self.max_length < 2:
            raise FastslowError("--max-length must be at least 2 tokens")
        if self.limit is not None and self.limit <= 0:
            raise FastslowError("--limit must be a positive integer")


# -- the run directory ---------------------------------------------------------------------------
def data_digests(config: GradientsConfig) -> dict[str, str]:
    """SHA-256 of each data file: a run resumes only on the very data it started with."""
    out = {}
    for name, path in config.data.items():
        p = Path(path)
        if not p.is_file():
            raise FastslowError(f"data file not found for {name}: {p}")
        out[name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def check_config(out: Path, config: GradientsConfig, digests: dict[str, str]) -> None:
    """Refuse to mix two different runs in one directory."""
    path = out / "config.json"
    if not path.exists():
        return
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FastslowError(f"{path} is not valid JSON: {exc.msg}") from exc
    if previous.get("command") != "gradients":
        raise FastslowError(f"{out} holds a {previous.get('command', 'different')} run; use another --out")
    current = asdict(config)
    differ = sorted(k for k in current if previous.get("gradients", {}).get(k) != current[k])
    changed = sorted(k for k, v in digests.items() if previous.get("data_sha256", {}).get(k) != v)
    if differ or changed:
        what = ", ".join(differ + [f"the contents of {k}'s data file" for k in changed if k not in differ])
        raise FastslowError(
            f"{out} holds a run with other settings (differs in: {what}); use another --out, or delete that directory"
        )


def check_model(out: Path, model_id: str) -> None:
    """The same spec can name other weights later (a folder trained again): refuse to mix them."""
    path = out / "config.json"
    if path.exists():
        previous = json.loads(path.read_text(encoding="utf-8")).get("model_id")
        if previous is not None and previous != model_id:
            raise FastslowError(
                f"{out} was computed with model {previous}, now {model_id} (the weights changed); "
                "use another --out, or delete that directory"
            )


def write_config(out: Path, config: GradientsConfig, digests: dict[str, str], model_id: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "config.json").exists():
        record = {
            "command": "gradients",
            "gradients": asdict(config),
            "data_sha256": digests,
            "model_id": model_id,
        }
        write_json(out / "config.json", record)


def finished_rows(path: Path, per_example: int) -> list[dict[str, Any]]:
    """The rows of finished examples. An example cut short by an interruption (fewer rows than
    projections) is removed from the file, to be computed again."""
    rows = read_rows(path, repair=True)
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        counts[(r["type"], r["id"])] = counts.get((r["type"], r["id"]), 0) + 1
    kept = [r for r in rows if counts[(r["type"], r["id"])] == per_example]
    if len(kept) < len(rows):
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), encoding="utf-8")
        os.replace(tmp, path)
    return kept


# -- one example ---------------------------------------------------------------------------------
def response_loss(model: Any, encoded: Encoded, track_inputs: bool) -> Any:
    """Mean cross-entropy over the response tokens, in float32 (Li et al. 2024, §3).

    With ``track_inputs`` the input embeddings require grad (and no weight does): backward then
    yields every layer's output gradients without computing a single weight gradient.
    """
    import torch
    import torch.nn.functional as F

    ids = torch.tensor([encoded.ids], device=model.get_input_embeddings().weight.device)
    # The last token is only a target: no loss term reads the model's state at its position, so
    # every gradient there is exactly zero. The model reads positions 0 .. T-2; the loss reads the
    # logits of the last `keep` of them (prompt_tokens-1 .. T-2), each predicting the next token.
    keep = encoded.response_tokens
    if keep < 1:  # (logits_to_keep=0 would mean "all positions")
        raise ValueError("response_loss needs at least one response token")
    embeds = model.get_input_embeddings()(ids[:, :-1])
    if track_inputs:
        embeds = embeds.detach().requires_grad_(True)
    kwargs = (
        {"logits_to_keep": keep} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
    )
    logits = model(inputs_embeds=embeds, use_cache=False, **kwargs).logits[0]
    return F.cross_entropy(logits[-keep:].float(), ids[0, encoded.prompt_tokens :])


def backward_lowrank(
    model: Any, projections: list[Projection], encoded: Encoded
) -> tuple[float, dict[str, LayerIO]]:
    """Forward and backward with hooks on every projection; no weight gradient is computed."""
    with CaptureLayerIO(projections) as io:
        loss = response_loss(model, encoded, track_inputs=True)
        loss.backward()
    return float(loss.detach()), io


def spectra_lowrank(
    projections: list[Projection], io: dict[str, LayerIO], workers: int | None = None
) -> dict[str, Spectrum]:
    """Each projection's spectrum from its X and D: a shared T × T factor of X and a T × T eigensolve
    (``lowrank.py``), the layers spread over ``workers`` threads (``parallel.py``)."""
    return map_layers(projections, lambda shard: _spectra_lowrank(shard, io), workers)


def _spectra_lowrank(projections: list[Projection], io: dict[str, LayerIO]) -> dict[str, Spectrum]:
    x_factors: dict[tuple, Any] = {}  # q, k, v (and gate, up) read the same X: factor it once
    spectra = {}
    for p in projections:
        X, D = io[p.name].inputs, io[p.name].output_grads
        if X is None or D is None:  # not on the loss's graph: a zero gradient
            spectra[p.name] = Spectrum(0.0, 0.0, 0.0, 0.0, 0)
            continue
        factor = None
        if use_lowrank(X.shape[0], D.shape[1], X.shape[1]):
            key = (X.data_ptr(), tuple(X.shape))
            if key not in x_factors:
                x_factors[key] = triangular_factor(X)
            factor = x_factors[key]
        spectra[p.name] = gradient_spectrum(D, X, x_factor=factor)
    return spectra


def backward_exact(
    model: Any, projections: list[Projection], encoded: Encoded
) -> tuple[float, dict[str, Any]]:
    """The paper's way: forward and backward for the autograd weight gradients (out × in each)."""
    weights = [p.module.weight for p in projections]
    for w in weights:
        w.requires_grad_(True)
    try:
        loss = response_loss(model, encoded, track_inputs=False)
        loss.backward()
        grads = {p.name: p.module.weight.grad for p in projections}
    finally:
        for w in weights:
            w.grad = None
            w.requires_grad_(False)
    return float(loss.detach()), grads


def spectra_exact(
    projections: list[Projection], grads: dict[str, Any], workers: int | None = None
) -> dict[str, Spectrum]:
    """A full SVD of each weight gradient: the reference (spread over threads as the fast path)."""
    return map_layers(
        projections, lambda shard: {p.name: gradient_spectrum_exact(grads[p.name]) for p in shard}, workers
    )


def measure_example(
    model: Any, projections: list[Projection], encoded: Encoded, exact_svd: bool = False
) -> tuple[float, dict[str, Spectrum]]:
    """The loss and every projection's gradient spectrum for one example."""
    if exact_svd:
        loss, grads = backward_exact(model, projections, encoded)
        return loss, spectra_exact(projections, grads)
    loss, io = backward_lowrank(model, projections, encoded)
    return loss, spectra_lowrank(projections, io)


def example_rows(
    rtype: str,
    ex_id: str,
    encoded: Encoded,
    loss: float,
    projections: list[Projection],
    spectra: dict[str, Spectrum],
) -> list[dict[str, Any]]:
    rows = []
    for p in projections:
        s = spectra[p.name]
        rows.append(
            {
                "type": rtype,
                "id": ex_id,
                "layer": p.layer,
                "module": p.kind,
                "S_sum": s.s_sum,
                "S_max": s.s_max,
                "S_min": s.s_min,
                "ratio": s.ratio,
                "fro": s.fro,
                "rank": s.rank,
                "path": s.path,
                "loss": loss,
                "tokens": len(encoded.ids),
                "response_tokens": encoded.response_tokens,
            }
        )
    return rows


def prepare_model(model: Any) -> Any:
    """Float32 (whatever the checkpoint's dtype), eval mode, every weight frozen."""
    import torch

    if any(p.dtype != torch.float32 for p in model.parameters()):
        model.float()
    model.eval()
    model.requires_grad_(False)
    return model


# -- the recipe ------------------------------------------------------------------------------------
def load_data(config: GradientsConfig) -> dict[str, list[ResponseExample]]:
    return {name: read_responses(path, config.limit) for name, path in config.data.items()}


def run_gradients(
    config: GradientsConfig,
    out: str | Path,
    *,
    progress: bool = True,
    model: Any = None,
    budget: int | None = None,
) -> dict[str, Any]:
    """Run (or resume) a gradients analysis into ``out``; return the summary (also ``summary.json``).

    ``model`` is an already loaded ``HFModel`` (anything with ``.model`` and ``.tokenizer``) in place
    of ``config.model``; ``budget`` stops after that many new examples (the rest on a later run).
    """
    from fastslow.gradients.metrics import summarize

    out = Path(out)
    config.validate()
    data = load_data(config)
    digests = data_digests(config)
    check_config(out, config, digests)
    if model is None:
        from fastslow.models.registry import load_model

        model = load_model(config.model)
    lm, tokenizer = prepare_model(model.model), model.tokenizer
    projections = find_projections(lm, config.modules)
    n_layers = max(p.layer for p in projections) + 1
    model_id = getattr(model, "name", config.model)
    check_model(out, model_id)
    write_config(out, config, digests, model_id)

    rows_path, skipped_path, timing_path = out / ROWS_FILE, out / SKIPPED_FILE, out / TIMING_FILE
    rows = finished_rows(rows_path, len(projections))
    skipped = read_rows(skipped_path, repair=True)
    done = {(r["type"], r["id"]) for r in rows} | {(r["type"], r["id"]) for r in skipped}
    resumed = len(done)
    todo = [(t, ex) for t, exs in data.items() for ex in exs if (t, ex.id) not in done]
    if budget is not None:
        todo = todo[:budget]

    bar = _progress(len(todo), progress)
    t0 = time.perf_counter()
    try:
        for rtype, ex in todo:
            bar.set_description(rtype)
            encoded = encode(tokenizer, ex.prompt, ex.response, config.prompt_format)
            reason = skip_reason(encoded, config.max_length)
            if reason is None:
                started = time.perf_counter()
                loss, spectra = measure_example(lm, projections, encoded, config.exact_svd)
                took = round(time.perf_counter() - started, 3)
                reason = None if math.isfinite(loss) else "non-finite loss"
            if reason is not None:
                row = {"type": rtype, "id": ex.id, "tokens": len(encoded.ids), "reason": reason}
                append_rows(skipped_path, [row])
                skipped.append(row)
                bar.set_postfix_str(f"skipped {len(skipped)}")
            else:
                new = example_rows(rtype, ex.id, encoded, loss, projections, spectra)
                append_rows(rows_path, new)
                append_rows(timing_path, [{"type": rtype, "id": ex.id, "seconds": took}])
                rows.extend(new)
            bar.update(1)
    finally:
        bar.close()
    seconds = time.perf_counter() - t0

    summary = summarize(rows, list(data), list(module_kinds(config.modules)), n_layers)
    summary["skipped"] = skipped
    summary["run"] = {
        "model": model_id,
        "layers": n_layers,
        "projections": len(projections),
        "path": "full_svd" if config.exact_svd else "lowrank",
        "examples": {t: len(exs) for t, exs in data.items()},
        "examples_resumed": resumed,
        "examples_new": len(todo),
        "examples_left": sum(len(exs) for exs in data.values()) - len(done) - len(todo),
        "wall_seconds": round(seconds, 2),
        **timing_summary(read_rows(timing_path, repair=True), list(data)),
    }
    write_json(out / "summary.json", summary)
    return summary


def timing_summary(timing: list[dict[str, Any]], types: list[str]) -> dict[str, Any]:
    """Mean seconds per measured example (forward, backward, spectra), over every run into this directory."""
    last = {
        (t["type"], t["id"]): t["seconds"] for t in timing
    }  # an example redone after a crash: its last time
    by_type = {t: [s for (rt, _), s in last.items() if rt == t] for t in types}
    return {
        "seconds_per_example": round(sum(last.values()) / len(last), 3) if last else None,
        "seconds_by_type": {t: round(sum(v) / len(v), 3) for t, v in by_type.items() if v},
    }


def skip_reason(encoded: Encoded, max_length: int) -> str | None:
    """Why an example cannot be measured: never turned into an all-masked NaN loss."""
    if len(encoded.ids) > max_length:
        return f"too long: {len(encoded.ids)} tokens > --max-length {max_length}"
    if encoded.response_tokens < 1:
        return "no response tokens"
    return None


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="ex", disable=not enabled, dynamic_ncols=True)
