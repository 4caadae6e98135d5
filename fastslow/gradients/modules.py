"""Which weight matrices we measure: each decoder layer's attention and MLP projections.

Llama, Qwen, Mistral and Gemma causal LMs in transformers share one naming:
``model.model.layers[i].self_attn.{q,k,v,o}_proj`` and ``model.model.layers[i].mlp.{gate,up,down}_proj``,
all ``nn.Linear``. Li, Li & Zhou (2024) measure the four attention projections; we add the three
MLP projections, which they left out. A model named otherwise (GPT-2's fused ``c_attn``, Phi-3's
``qkv_proj``, mixture-of-experts MLPs) is refused with a FastslowError rather than half measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastslow.errors import FastslowError

ATTENTION = ("q", "k", "v", "o")
MLP = ("gate", "up", "down")
MODULE_SETS = {"attn": ATTENTION, "mlp": MLP, "all": ATTENTION + MLP}
_PARENT = {**{k: "self_attn" for k in ATTENTION}, **{k: "mlp" for k in MLP}}
NAMING = "model.layers[i].self_attn.{q,k,v,o}_proj and model.layers[i].mlp.{gate,up,down}_proj"


@dataclass(frozen=True)
class Projection:
    """One weight matrix to measure: ``kind`` is q, k, v, o, gate, up or down."""

    name: str  # e.g. "model.layers.3.self_attn.q_proj"
    layer: int
    kind: str
    module: Any  # the torch.nn.Linear


def module_kinds(which: str) -> tuple[str, ...]:
    """The projection kinds of a ``modules`` setting: attn, mlp or all."""
    if which not in MODULE_SETS:
        raise FastslowError(f"unknown module set {which!r}: use one of {', '.join(MODULE_SETS)}")
    return MODULE_SETS[which]


def decoder_layers(model: Any) -> tuple[str, list[Any]]:
    """The decoder layers of a transformers causal LM and their attribute path."""
    for path in ("model.layers", "model.language_model.layers"):
        obj = model
        for attr in path.split("."):
            obj = getattr(obj, attr, None)
            if obj is None:
                break
        if obj is not None and hasattr(obj, "__len__") and len(obj) > 0:
            return path, list(obj)
    raise FastslowError(
        f"{type(model).__name__} has no decoder layers at model.layers: `gradients` supports causal LMs "
        f"named as Llama, Qwen, Mistral and Gemma are ({NAMING})"
    )


def find_projections(model: Any, which: str = "all") -> list[Projection]:
    """Every projection of kind ``which`` (attn, mlp, all), layer by layer, in a fixed order."""
    import torch

    kinds = module_kinds(which)
    path, layers = decoder_layers(model)
    found = []
    for i, layer in enumerate(layers):
        for kind in kinds:
            parent = getattr(layer, _PARENT[kind], None)
            module = getattr(parent, f"{kind}_proj", None) if parent is not None else None
            if not isinstance(module, torch.nn.Linear):
                what = f"{_PARENT[kind]}.{kind}_proj"
                got = "missing" if module is None else f"a {type(module).__name__}, not nn.Linear"
                raise FastslowError(
                    f"{type(model).__name__}: layer {i} has no linear {what} ({got}); `gradients` supports "
                    f"causal LMs named as Llama, Qwen, Mistral and Gemma are ({NAMING}); "
                    "use --modules attn or mlp to measure only the part that follows it"
                )
            found.append(Projection(f"{path}.{i}.{_PARENT[kind]}.{kind}_proj", i, kind, module))
    return found
