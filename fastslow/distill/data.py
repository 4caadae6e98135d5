"""The distillation data: the original input as System 1 sees it, completed by the final answer only.

The prompt is exactly what the ``direct`` strategy sends (the question and its answer form, "Give
only the final answer"), so the distilled model is evaluated the way it was trained; the completion
is "The answer is X." with X the answer the filter kept (Yu et al. 2024: the target is the final
answer with no intermediate text). Labels never enter these rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastslow.strategies.direct import direct_messages
from fastslow.strategies.prompts import ANSWER_MARKER
from fastslow.tasks.base import Example, Task


def training_row(example: Example, task: Task, answer: str) -> dict[str, Any]:
    """One prompt/completion row (TRL's conversational format) for a kept answer."""
    return {
        "id": example.id,
        "prompt": direct_messages(example, task),
        "completion": [{"role": "assistant", "content": f"{ANSWER_MARKER} {answer}."}],
    }


def save_dataset(rows: list[dict[str, Any]], folder: Path) -> Path:
    """The rows as a Hugging Face dataset (``datasets.load_from_disk`` reads it back)."""
    from datasets import Dataset

    Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows]).save_to_disk(
        str(folder)
    )
    return folder
