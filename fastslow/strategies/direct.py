"""System 1: the answer at once, with no reasoning.

Where the backend allows it, the assistant's turn is prefilled with "The answer is" and generation
is capped at a few tokens and stopped at the end of the line, so a model that habitually reasons
is measured on its immediate answer rather than on a truncated chain of thought. Elsewhere the
instruction alone asks for the bare answer. This is the "System 1" row of Yu et al. (2024),
"Distilling System 2 into System 1".
"""

from __future__ import annotations

from dataclasses import dataclass

from fastslow.models.base import Message, Request, truncate_at_stop
from fastslow.strategies.base import Program, Step, Strategy, Trace, user
from fastslow.strategies.prompts import ANSWER_MARKER, answer_form, question_text
from fastslow.tasks.base import Example, Task

FIRST_SENTENCE = ("\n", ". ")


def direct_messages(example: Example, task: Task) -> list[Message]:
    """The System-1 prompt: the question, its answer form, and "Give only the final answer"."""
    instruction = " ".join(
        s for s in [answer_form(task, example), "Give only the final answer, no explanation."] if s
    )
    return [user(f"{question_text(example)}\n\n{instruction}")]


@dataclass
class Direct(Strategy):
    name = "direct"
    summary = (
        "System 1: the final answer at once, no reasoning (assistant turn prefilled with 'The answer is')"
    )
    cost = "1"
    citation = "System 1 baseline of Yu et al. 2024, 'Distilling System 2 into System 1'"

    max_tokens: int = 24

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        messages = direct_messages(example, task)
        start = ANSWER_MARKER if prefill else ""
        # Stop at the end of the first sentence: the immediate answer is what System 1 is measured on,
        # even if a model that learned to reason goes on to think after it.
        [c] = yield [
            Request(messages, max_tokens=self.max_tokens, stop=FIRST_SENTENCE, prefill=start, final=True)
        ]
        text = start + truncate_at_stop(c.texts[0], FIRST_SENTENCE)[0]  # also where a backend ignored stop
        return Trace(
            answer=task.extract(text, example),
            final_text=text,
            steps=[Step("answer", messages, [c.texts[0]], prefill=start)],
        )
