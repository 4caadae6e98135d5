"""Keep what the low-rank identity needs: each projection's inputs X and output gradients D.

A forward hook on each ``nn.Linear`` keeps its input (T × in) and puts a tensor hook on its output;
backward then fills in the loss's gradient with respect to that output (T × out). Batch size is 1
(one example at a time, as Li, Li & Zhou 2024 compute gradients), so the batch dimension is dropped.

X and D cover all T positions, prompt included. The loss reads only the response positions, but
through attention those positions depend on the prompt's, so prompt positions get non-zero D too:
that is correct, and ``Dᵀ X`` is then exactly the weight gradient autograd would compute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from fastslow.gradients.modules import Projection


@dataclass
class LayerIO:
    inputs: torch.Tensor | None = None  # X: T × in, detached
    output_grads: torch.Tensor | None = None  # D: T × out, set during backward


class CaptureLayerIO:
    """Context manager: ``with CaptureLayerIO(projections) as io:`` run forward and backward, then
    read ``io[name].inputs`` and ``io[name].output_grads``. Hooks are removed on exit."""

    def __init__(self, projections: list[Projection]):
        self.projections = projections
        self.io: dict[str, LayerIO] = {p.name: LayerIO() for p in projections}
        self._handles: list[Any] = []

    def __enter__(self) -> dict[str, LayerIO]:
        for p in self.projections:
            self._handles.append(p.module.register_forward_hook(self._forward_hook(p.name)))
        return self.io

    def __exit__(self, *exc: object) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _forward_hook(self, name: str):
        slot = self.io[name]

        def keep_output_grad(grad: torch.Tensor) -> None:
            slot.output_grads = grad.detach()[0]

        def hook(module: Any, args: tuple, output: torch.Tensor) -> None:
            if slot.inputs is not None:
                raise RuntimeError(f"{name} ran twice in one forward pass: cannot capture one X per layer")
            if output.shape[0] != 1:
                raise RuntimeError(f"gradient capture needs batch size 1, got {output.shape[0]}")
            slot.inputs = args[0].detach()[0]
            if output.requires_grad:
                output.register_hook(keep_output_grad)

        return hook
