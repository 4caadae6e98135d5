"""A local reward model as a judge (``reward-model:PATH``): a transformers sequence-classification
model with one output (the paper used ArmoRM, Wu et al. 2024). It reads the query as the user turn
and the response as the assistant turn of the model's chat template (a plain "query\\n\\nresponse"
without one) and its single logit is the score."""

from __future__ import annotations

from pathlib import Path

from fastslow.errors import FastslowError
from fastslow.strategies.prompts import question_text
from fastslow.tasks.base import Example, Task


class RewardModelJudge:
    def __init__(self, path: str | Path, batch_size: int = 8):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(path)
        if not (path / "config.json").is_file():
            raise FastslowError(f"reward model folder not found (no config.json): {path}")
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForSequenceClassification.from_pretrained(path, dtype=torch.float32).eval()
        if self.model.config.num_labels != 1:
            raise FastslowError(f"{path} has {self.model.config.num_labels} outputs; a reward model has one")
        if self.model.config.pad_token_id is None:
            self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.name = f"reward-model:{path}"
        self.batch_size = batch_size

    def _text(self, example: Example, response: str) -> str:
        query = question_text(example)
        if getattr(self.tokenizer, "chat_template", None):
            messages = [{"role": "user", "content": query}, {"role": "assistant", "content": response}]
            return self.tokenizer.apply_chat_template(messages, tokenize=False)
        return f"{query}\n\n{response}"

    def score(self, example: Example, task: Task, responses: list[str]) -> list[float | None]:
        import torch

        scores: list[float | None] = []
        for start in range(0, len(responses), self.batch_size):
            texts = [self._text(example, r) for r in responses[start : start + self.batch_size]]
            enc = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True)
            with torch.inference_mode():
                logits = self.model(**enc).logits[:, 0]
            scores += [float(x) for x in logits]
        return scores
