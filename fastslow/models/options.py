"""``open_model(spec, options)``: the one way a workflow gets a model.

``ModelOptions`` holds how a model is run, not which one: the generation cache, the decode batch,
the device and the API key of an ``openai:`` server. It travels as one object from the command line
(its fields are the flags ``--cache``, ``--batch-size``, ``--device``, ``--api-key``) to the backend;
none of it is written to a run's ``config.json`` (it changes no result, and a key must never be
stored).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fastslow.errors import FastslowError
from fastslow.flags import arg, positive
from fastslow.models.base import Model
from fastslow.models.cached import CachedModel


@dataclass
class ModelOptions:
    """How a model is run (never which one: that is the spec)."""

    cache: str | None = field(
        default=None,
        metadata=arg("SQLite generation cache (default: ~/.cache/fastslow/cache.sqlite)", metavar="PATH"),
    )
    batch_size: int | None = field(
        default=None,
        metadata=arg(
            "rows a transformers model decodes at once (default: 128 for the embedded models, 32 for "
            "others; lower it if a large model runs out of memory)",
            parse=positive,
            metavar="N",
        ),
    )
    device: str | None = field(
        default=None,
        metadata=arg("torch device of a local model, e.g. cpu or cuda:1 (default: cuda if torch sees one)"),
    )
    dtype: str = field(
        default="float32",
        metadata=arg(
            "weights and activations of a local model: float32, or bfloat16 (opt-in: about 2x faster "
            "decoding on CPUs with AVX-512 BF16 or AMX, and on GPUs; samples differ from float32's)",
            choices=("float32", "bfloat16"),
        ),
    )
    api_key: str | None = field(
        default=None,
        metadata=arg(
            "API key of an openai: server (default: $OPENAI_API_KEY; local servers need none)",
            show_default=False,
        ),
    )

    def resolved_api_key(self) -> str | None:
        return self.api_key or os.environ.get("OPENAI_API_KEY")


def load_model_with(spec: str, options: ModelOptions | None = None) -> Model:
    """The bare backend a spec names (no generation cache), run as ``options`` say."""
    from fastslow.models.registry import load_model

    options = options or ModelOptions()
    return load_model(
        spec,
        api_key=options.resolved_api_key(),
        batch_size=options.batch_size,
        device=options.device,
        dtype=options.dtype,
    )


def open_model(spec: str = "embedded", options: ModelOptions | None = None) -> CachedModel:
    """Load a model spec and put the generation cache in front of it."""
    from fastslow.store import Store, default_cache_path

    options = options or ModelOptions()
    model = load_model_with(spec, options)
    return CachedModel(model, Store(Path(options.cache) if options.cache else default_cache_path()))


def local_folder(spec: str, options: ModelOptions | None = None, role: str = "model") -> Path:
    """The transformers folder a local model spec loads (``embedded``, ``embedded-reasoner`` merged,
    ``hf:PATH``...): what a training recipe starts from. ``role`` names it in the error."""
    import dataclasses

    model = load_model_with(spec, dataclasses.replace(options or ModelOptions(), batch_size=1))
    if not hasattr(model, "path"):
        raise FastslowError(f"the {role} {spec!r} is not a local model: training needs a local one")
    return Path(model.path)
