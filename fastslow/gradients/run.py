"""`fastslow gradients`: layer-wise gradients of fast vs slow thinking (Li, Li & Zhou 2024).

Recipe: read the response types -> load the model (float32) -> find its projections -> for each type
and example: tokenize prompt + response once, mask the prompt, forward, mean cross-entropy over the
response tokens, backward (one example at a time) -> the spectrum of every projection's weight
gradient (nuclear norm S_sum, S_max, S_min, σ1 ratio, Frobenius norm; the mean, largest and smallest
entry, ``entries.py``) -> append the example's rows to ``gradients.jsonl`` -> summarize (per-layer
means, MAD, RD, the findings with intervals: ``metrics.py``, ``findings.py``) into ``summary.json``.

The prompt format (``encode.py``) is resolved once per run, the paper's by model type unless
``--prompt-format`` says otherwise, and ``config.json`` records it with the first prompt as the model
reads it. A gradient that is not finite while the loss is stops the run with an error naming the
example and the projection: a NaN row would turn every mean curve it enters into NaN.

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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.flags import arg, key_value_field, positive
from fastslow.gradients.capture import CaptureLayerIO, LayerIO
from fastslow.gradients.data import ResponseExample, read_responses
from fastslow.gradients.encode import PROMPT_FORMATS, Encoded, encode, prompt_text, resolve_prompt_format
from fastslow.gradients.entries import ZERO, Entries, gradient_entries, gradient_entries_exact
from fastslow.gradients.lowrank import (
    Spectrum,
    gradient_spectrum,
    gradient_spectrum_exact,
    triangular_factor,
    use_lowrank,
)
from fastslow.gradients.modules import Projection, find_projections, module_kinds
from fastslow.gradients.parallel import map_layers
from fastslow.models.identity import model_identity
from fastslow.runs import Run, check_run, open_run

ROWS_FILE = "gradients.jsonl"
SKIPPED_FILE = "skipped.jsonl"
TIMING_FILE = "timing.jsonl"
DATA_CHANGED = {
    "data_sha256": "the contents of {}'s data file"
}  # seconds per example, kept apart so that the rows stay reproducible


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
    - ``prompt_format``: ``plain`` (``question\nresponse``, the paper's for base models), ``chat`` (a
      system line and the question in the chat template, the paper's for instruct models) or ``auto``:
      ``chat`` when the tokenizer has a chat template and a name of the model marks it
      instruction-tuned, else ``plain`` (``encode.resolve_prompt_format``).
    """

    data: dict[str, str] = key_value_field(
        "JSONL of prompt/response for one response type", "--data", "NAME=FILE"
    )
    model: str = field(default="embedded", metadata=arg("model spec (see `fastslow models`)"))
    modules: str = field(
        default="all",
        metadata=arg(
            "projections: attn (q k v o, the paper's), mlp (gate up down) or all",
            choices=("all", "attn", "mlp"),
        ),
    )
    max_length: int = field(default=1024, metadata=arg("skip (and report) longer examples", parse=positive))
    exact_svd: bool = field(default=False, metadata=arg("the paper's way: full gradient, full SVD (slow)"))
    limit: int | None = field(default=None, metadata=arg("examples per response type", parse=positive))
    prompt_format: str = field(
        default="auto",
        metadata=arg(
            "plain (question, newline, response: the paper's for base models), chat (system line + chat "
            "template: the paper's for instruct models) or auto: chat if the tokenizer has a chat template "
            "and the model's name marks it instruction-tuned (Instruct, -it, chat, ...), else plain",
            choices=PROMPT_FORMATS,
        ),
    )

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


def finished_rows(run: Run, per_example: int) -> list[dict[str, Any]]:
    """The rows of finished examples. An example cut short by an interruption (fewer rows than
    projections) is removed from the file, to be computed again."""
    rows = run.rows(ROWS_FILE)
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        counts[(r["type"], r["id"])] = counts.get((r["type"], r["id"]), 0) + 1
    kept = [r for r in rows if counts[(r["type"], r["id"])] == per_example]
    if len(kept) < len(rows):
        run.write_rows(ROWS_FILE, kept)
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


def entries_lowrank(
    projections: list[Projection], io: dict[str, LayerIO], workers: int | None = None
) -> dict[str, Entries]:
    """Each projection's M_mean, M_max, M_min from its X and D (``entries.py``)."""

    def shard_entries(shard: list[Projection]) -> dict[str, Entries]:
        out = {}
        for p in shard:
            X, D = io[p.name].inputs, io[p.name].output_grads
            out[p.name] = ZERO if X is None or D is None else gradient_entries(D, X)
        return out

    return map_layers(projections, shard_entries, workers)


def entries_exact(
    projections: list[Projection], grads: dict[str, Any], workers: int | None = None
) -> dict[str, Entries]:
    return map_layers(
        projections, lambda shard: {p.name: gradient_entries_exact(grads[p.name]) for p in shard}, workers
    )


def first_non_finite(tensors: dict[str, Any]) -> str | None:
    """The name of the first gradient tensor holding a NaN or an infinity, or None."""
    import torch

    for name, t in tensors.items():
        if t is not None and not bool(torch.isfinite(t).all()):
            return name
    return None


def _non_finite_error(name: str, loss: float, what: str) -> FastslowError:
    return FastslowError(
        f"the loss is finite ({loss:.6g}) but {what} of {name} is not (NaN or infinite): the run stops "
        "here rather than write a row that would turn every mean curve it enters into NaN. The rows "
        "written so far are kept; check the model's weights and dtype (the analysis runs in float32), "
        "or leave this example out of the data"
    )


def measure_example(
    model: Any, projections: list[Projection], encoded: Encoded, exact_svd: bool = False
) -> tuple[float, dict[str, tuple[Spectrum, Entries]]]:
    """The loss and every projection's gradient spectrum and entry statistics for one example.

    A non-finite loss returns no statistics (the caller skips the example). A finite loss with a
    non-finite gradient raises FastslowError naming the projection: the spectra would otherwise fail
    in LAPACK with a message about convergence, or come out NaN.
    """
    if exact_svd:
        loss, grads = backward_exact(model, projections, encoded)
        tensors = grads
    else:
        loss, io = backward_lowrank(model, projections, encoded)
        tensors = {name: slot.output_grads for name, slot in io.items()}
    if not math.isfinite(loss):
        return loss, {}
    bad = first_non_finite(tensors)
    if bad is not None:
        raise _non_finite_error(bad, loss, "the weight gradient" if exact_svd else "the output gradient")
    if exact_svd:
        spectra, entries = spectra_exact(projections, grads), entries_exact(projections, grads)
    else:
        spectra, entries = spectra_lowrank(projections, io), entries_lowrank(projections, io)
    stats = {p.name: (spectra[p.name], entries[p.name]) for p in projections}
    for name, (s, e) in stats.items():
        if not all(math.isfinite(v) for v in (s.s_sum, s.s_max, s.s_min, s.fro, e.mean, e.max, e.min)):
            raise _non_finite_error(name, loss, "a statistic of the gradient")
    return loss, stats


def example_rows(
    rtype: str,
    ex_id: str,
    encoded: Encoded,
    loss: float,
    projections: list[Projection],
    stats: dict[str, tuple[Spectrum, Entries]],
) -> list[dict[str, Any]]:
    rows = []
    for p in projections:
        s, e = stats[p.name]
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
                "M_mean": e.mean,
                "M_max": e.max,
                "M_min": e.min,
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
    check_run(out, "gradients", config, extra={"data_sha256": digests}, extra_names=DATA_CHANGED)
    if model is None:
        from fastslow.models.registry import load_model

        model = load_model(config.model)
    lm, tokenizer = prepare_model(model.model), model.tokenizer
    projections = find_projections(lm, config.modules)
    n_layers = max(p.layer for p in projections) + 1
    model_id = model_identity(model) if hasattr(model, "name") else config.model
    prompt_format, why = resolve_prompt_format(
        config.prompt_format, tokenizer, model_names(config.model, model)
    )
    first = next(ex for exs in data.values() for ex in exs)
    prompt_record = {
        "requested": config.prompt_format,
        "used": prompt_format,
        "first_prompt": prompt_text(tokenizer, first.prompt, prompt_format)[0],
    }
    run = open_run(
        out,
        "gradients",
        config,
        model_id=model_id,
        extra={"data_sha256": digests, "prompt_format": prompt_record},
        extra_names={**DATA_CHANGED, "prompt_format": "the prompt format ({})"},
    )

    rows = finished_rows(run, len(projections))
    skipped = run.rows(SKIPPED_FILE)
    done = {(r["type"], r["id"]) for r in rows} | {(r["type"], r["id"]) for r in skipped}
    resumed = len(done)
    todo = [(t, ex) for t, exs in data.items() for ex in exs if (t, ex.id) not in done]
    if budget is not None:
        todo = todo[:budget]

    bar = run.progress(len(todo), progress)
    t0 = time.perf_counter()
    try:
        for rtype, ex in todo:
            bar.set_description(rtype)
            encoded = encode(tokenizer, ex.prompt, ex.response, prompt_format)
            reason = skip_reason(encoded, config.max_length)
            if reason is None:
                started = time.perf_counter()
                try:
                    loss, stats = measure_example(lm, projections, encoded, config.exact_svd)
                except FastslowError as exc:
                    raise FastslowError(f"{rtype} example {ex.id}: {exc}") from exc
                took = round(time.perf_counter() - started, 3)
                reason = None if math.isfinite(loss) else "non-finite loss"
            if reason is not None:
                row = {"type": rtype, "id": ex.id, "tokens": len(encoded.ids), "reason": reason}
                run.append(SKIPPED_FILE, [row])
                skipped.append(row)
                bar.set_postfix_str(f"skipped {len(skipped)}")
            else:
                new = example_rows(rtype, ex.id, encoded, loss, projections, stats)
                run.append(ROWS_FILE, new)
                run.append(TIMING_FILE, [{"type": rtype, "id": ex.id, "seconds": took}])
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
        "prompt_format": {"used": prompt_format, "why": why},
        "examples": {t: len(exs) for t, exs in data.items()},
        "examples_resumed": resumed,
        "examples_new": len(todo),
        "examples_left": sum(len(exs) for exs in data.values()) - len(done) - len(todo),
        "wall_seconds": round(seconds, 2),
        **timing_summary(run.rows(TIMING_FILE), list(data)),
    }
    run.write_json("summary.json", summary)
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


def model_names(spec: str, model: Any) -> list[str]:
    """What the model is called, for ``resolve_prompt_format``: the spec, the loaded model's name and
    folder, its config's name, and for a LoRA adapter folder its base model's name."""
    names = [spec, str(getattr(model, "name", "") or ""), str(getattr(model, "path", "") or "")]
    config = getattr(getattr(model, "model", None), "config", None)
    names += [str(getattr(config, key, "") or "") for key in ("_name_or_path", "_model_name_or_path")]
    folder = Path(spec[len("hf:") :] if spec.startswith("hf:") else spec).expanduser()
    adapter = folder / "adapter_config.json"
    if adapter.is_file():
        try:
            names.append(
                str(json.loads(adapter.read_text(encoding="utf-8")).get("base_model_name_or_path", ""))
            )
        except (OSError, json.JSONDecodeError):
            pass
    return [n for n in names if n]


def skip_reason(encoded: Encoded, max_length: int) -> str | None:
    """Why an example cannot be measured: never turned into an all-masked NaN loss."""
    if len(encoded.ids) > max_length:
        return f"too long: {len(encoded.ids)} tokens > --max-length {max_length}"
    if encoded.response_tokens < 1:
        return "no response tokens"
    return None
