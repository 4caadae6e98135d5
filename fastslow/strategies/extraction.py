"""The answer-extraction step, shared by every method whose final text may not name its answer.

Kojima et al. 2022 ("Large Language Models are Zero-Shot Reasoners", §3 and Table 9) extract the
answer with a second call that continues the reasoning with a trigger for the answer's kind
("Therefore, the answer (arabic numerals) is", "Therefore, among A through E, the answer is");
Plan-and-Solve (Wang et al. 2023) does the same. We make that call only when the final text does
not already say "The answer is X" (``answers.names_answer``) with an answer that can be read (on a
choice task, one that names an option), so a model that follows the answer
instruction pays nothing, and a method is never scored wrong for leaving out the marker while
another method got a second chance. The call is one more model call, counted in the trace's cost
like any other.

``finish`` is a sub-program (use it with ``yield from`` in a strategy's program) for one final
text; ``finish_many`` makes the calls of several texts in one batch (self-consistency's samples).
"""

from __future__ import annotations

import string
from collections.abc import Generator
from dataclasses import dataclass, field

from fastslow.models.base import Completion, Message, Request
from fastslow.strategies.base import Step, assistant, user
from fastslow.strategies.prompts import ANSWER_MARKER, names_answer
from fastslow.tasks.base import Example, Task

EXTRACT_TOKENS = 32  # Plan-and-Solve's max_length_direct


def answer_trigger(task: Task, example: Example) -> str:
    """The answer-extraction trigger for this example's kind of answer (Kojima et al. 2022, Table 9;
    Wang et al. 2023, Figure 2: "Therefore, the answer (arabic numerals) is")."""
    if task.kind == "number":
        return "Therefore, the answer (arabic numerals) is"
    if task.kind == "choice" and example.choices:
        if not example.meta.get("choices_shown"):
            last = string.ascii_uppercase[len(example.choices) - 1]
            return f"Therefore, among A through {last}, the answer is"
        if len(example.choices) == 2:
            return f"Therefore, the answer ({example.choices[0]} or {example.choices[1]}) is"
    return "Therefore, the answer is"


@dataclass
class Finished:
    """A final text and its answer, after the extraction call where one was needed."""

    final: str  # the text the answer was read from (the reasoning, plus trigger and reply)
    answer: str | None
    steps: list[Step] = field(default_factory=list)  # the extraction call, if made
    extracted: bool = False  # whether the extraction call was made
    error: str | None = None  # what went wrong, for the trace's meta


def _request(messages: list[Message], text: str, prefill: bool, trigger: str) -> Request:
    """Continue ``text`` (the assistant's turn after ``messages``) with the trigger. No stop at the
    first newline: a small model often writes ":" and puts the answer on the next line
    (``reply_line`` reads it); ``EXTRACT_TOKENS`` bounds the reply."""
    if prefill:
        return Request(messages, max_tokens=EXTRACT_TOKENS, prefill=f"{text}\n{trigger}")
    ask = user(f"{trigger}? Reply with the answer only.")
    return Request([*messages, assistant(text), ask], max_tokens=EXTRACT_TOKENS)


def reply_line(reply: str) -> str:
    """The extraction reply's answer: its first line that holds a letter or a digit, without the
    colon a model may open it with (":\n yes" is "yes"); "" when no line does."""
    for line in reply.splitlines():
        if any(ch.isalnum() for ch in line):
            return line.strip().lstrip(":").strip()
    return ""


def finish_many(
    items: list[tuple[list[Message], str]],
    example: Example,
    task: Task,
    prefill: bool,
    enabled: bool = True,
) -> Generator[list[Request], list[Completion], list[Finished]]:
    """The answers of several final texts, each ``(messages, text)`` where ``text`` is the whole
    assistant turn (prefill included) that answered ``messages``. Texts that name no answer get the
    extraction call (all in one batch) unless ``enabled`` is off; so do texts whose marked answer
    cannot be read (an answer naming none of a choice task's options)."""
    done = [Finished(text, task.extract(text, example)) for _, text in items]
    # The call is made when the text has no marker, or has one but no answer can be read from it
    # ("The answer is the coin is not tails up." for yes/no names no option).
    todo = [
        i
        for i, (_, text) in enumerate(items)
        if enabled and (not names_answer(text) or done[i].answer is None)
    ]
    if not todo:
        return done
    trigger = answer_trigger(task, example)
    requests = [_request(items[i][0], items[i][1], prefill, trigger) for i in todo]
    replies = yield requests
    for i, req, c in zip(todo, requests, replies):
        reply = c.texts[0]
        line = reply_line(reply)
        text = items[i][1]
        step = Step("extract", list(req.messages), [reply], prefill=req.prefill)
        # The reply as the model wrote it (what a streamed response showed); the answer is read from its line.
        final = f"{text}\n{trigger}{reply}" if prefill else f"{text}\n{ANSWER_MARKER} {line}"
        # The trigger's wording ("(arabic numerals) is") is not the marker the extractors look
        # for, so the reply is read as "The answer is <reply>"; if it holds none, the text's own.
        answer = task.extract(f"{ANSWER_MARKER} {line}", example)
        error = None if answer is not None else "no answer in the extraction reply; taken from the reasoning"
        done[i] = Finished(final, answer if answer is not None else done[i].answer, [step], True, error)
    return done


def finish(
    messages: list[Message], text: str, example: Example, task: Task, prefill: bool, enabled: bool = True
) -> Generator[list[Request], list[Completion], Finished]:
    """The answer of one final text (see ``finish_many``)."""
    [done] = yield from finish_many([(messages, text)], example, task, prefill, enabled)
    return done
