"""Layer-wise gradients of fast vs slow thinking (Li, Li & Zhou 2024, "What Happened in LLMs Layers when
Trained for Fast vs. Slow Thinking: A Gradient Perspective").

Read in this order: ``data.py`` (the response types; ``make_data``) -> ``encode.py`` (the prompt
format, one tokenization, the prompt mask) -> ``modules.py`` (which projections) -> ``capture.py``
(hooks keep X and D) -> ``lowrank.py`` (singular values of Dᵀ X without forming it) -> ``entries.py``
(M_mean, M_max, M_min) -> ``run.py`` (the recipe; resumable) -> ``metrics.py`` (per-layer means,
MAD, RD) -> ``findings.py`` (the paper's claims: intervals, p-values, verdicts) -> ``plots.py`` and
``report.py`` (report.md, overlay).
"""

from fastslow.gradients.data import RESPONSE_TYPES, data_from_dir, make_data
from fastslow.gradients.report import console_summary, is_gradients_run, overlay, render
from fastslow.gradients.run import GradientsConfig, run_gradients

__all__ = [
    "RESPONSE_TYPES",
    "GradientsConfig",
    "console_summary",
    "data_from_dir",
    "is_gradients_run",
    "make_data",
    "overlay",
    "render",
    "run_gradients",
]
