"""Prompt pieces shared by strategies: how an example is shown to a model, and answer markers."""

from __future__ import annotations

import string

from fastslow.tasks.answers import ANSWER_MARKER, names_answer
from fastslow.tasks.base import Example, Task

__all__ = ["ANSWER_MARKER", "names_answer", "question_text", "answer_instruction", "answer_form"]


def question_text(example: Example) -> str:
    """The example as the model reads it: context, question, and lettered options if any (unless the
    question text already shows them, as BIG-bench questions and coin_flip's do)."""
    parts = []
    if example.context:
        parts.append(example.context.strip())
    parts.append(example.question.strip())
    if example.choices and not example.meta.get("choices_shown"):
        options = "\n".join(f"({string.ascii_uppercase[i]}) {c}" for i, c in enumerate(example.choices))
        parts.append("Options:\n" + options)
    return "\n\n".join(parts)


def answer_instruction(task: Task, example: Example) -> str:
    """The end of an answering prompt: the answer's form and the marker every extractor reads."""
    parts = [answer_form(task, example), f'End your response with "{ANSWER_MARKER}" and the final answer.']
    return " ".join(p for p in parts if p)


def answer_form(task: Task, example: Example) -> str:
    """One sentence telling the model what an answer looks like for this example."""
    if task.kind == "choice" and example.choices:
        if not example.meta.get("choices_shown"):
            return "Answer with the letter of the correct option."
        listed = ", ".join(example.choices)
        return f"Answer with one of: {listed}." if len(listed) <= 80 else "Answer with one of the options."
    if task.kind == "number":
        return "Answer with a number."
    return ""
