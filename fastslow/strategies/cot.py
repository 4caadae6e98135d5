"""Chain-of-thought: reason step by step, then answer.

Zero-shot (Kojima et al. 2022, "Large Language Models are Zero-Shot Reasoners"): the answer is
started with the trigger "Let's think step by step." (prefilled where the backend allows, else
appended to the question). Kojima et al. extract the answer with a second call that continues
the reasoning with an answer trigger ("Therefore, the answer (arabic numerals) is"); we make that
call only when the reasoning does not already say "The answer is X" (``answer_call``; the shared
step in ``extraction.py``), which saves a call on models that do.

Few-shot (Wei et al. 2022, "Chain-of-Thought Prompting Elicits Reasoning in Large Language
Models"): ``exemplars=FILE`` gives worked examples (JSONL: ``question`` plus ``solution``, or
``reasoning`` and ``answer``) shown as earlier turns of the conversation; ``shots`` bounds how many.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

from fastslow.errors import FastslowError
from fastslow.jsonlines import read_objects
from fastslow.models.base import Completion, Message, Request
from fastslow.strategies.base import Program, Step, Strategy, Trace, assistant, user
from fastslow.strategies.extraction import finish
from fastslow.strategies.prompts import ANSWER_MARKER, answer_instruction, question_text
from fastslow.tasks.base import Example, Task

TRIGGER = "Let's think step by step."


def load_exemplars(path: str | Path, shots: int | None = None) -> list[Message]:
    """Worked examples as alternating user/assistant messages. Errors name the file and line."""
    messages: list[Message] = []
    for lineno, row in read_objects(path, "exemplar file", '{"question": ..., "solution": ...}'):
        if "question" not in row:
            raise FastslowError(f'line {lineno} of {path}: missing "question"')
        if "solution" in row:
            solution = str(row["solution"])
        elif "reasoning" in row and "answer" in row:
            solution = f"{row['reasoning']} {ANSWER_MARKER} {row['answer']}."
        else:
            raise FastslowError(f'line {lineno} of {path}: needs "solution", or "reasoning" and "answer"')
        messages += [user(str(row["question"])), assistant(solution)]
        if shots is not None and len(messages) // 2 >= shots:
            break
    if not messages:
        raise FastslowError(f"exemplar file {path} is empty")
    return messages


def cot_messages(
    example: Example, task: Task, prefill: bool, exemplars: list[Message], trigger: str = TRIGGER
) -> tuple[list[Message], str]:
    """The chain-of-thought prompt and its assistant prefill: the trigger where the backend allows
    it, else the trigger at the end of the question. Plan-and-solve passes its own trigger."""
    content = f"{question_text(example)}\n\n{answer_instruction(task, example)}"
    if not prefill:
        content += f"\n\n{trigger}"
    return [*exemplars, user(content)], (trigger if prefill else "")


@dataclass
class CotSamples:
    """k sampled chains of thought for one question, with the answer each one gives."""

    messages: list[Message]
    start: str  # the assistant prefill, put back in front of each sample
    completion: Completion
    responses: list[str]  # start + sampled text
    answers: list[str | None]

    def step(self) -> Step:
        return Step("sample", self.messages, list(self.completion.texts), prefill=self.start)


def sample_cots(
    example: Example,
    task: Task,
    prefill: bool,
    *,
    n: int,
    max_tokens: int,
    temperature: float,
    top_p: float,
    seed: int,
    exemplars: list[Message] | None = None,
    logprobs: bool = False,
) -> Generator[list[Request], list[Completion], CotSamples]:
    """One request for ``n`` chain-of-thought samples (a batch over the shared prompt); use it with
    ``yield from`` inside a strategy's program. Self-consistency, USC and BSM draw their samples here."""
    messages, start = cot_messages(example, task, prefill, exemplars or [])
    request = Request(
        messages,
        n=n,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        prefill=start,
        logprobs=logprobs,
    )
    [c] = yield [request]
    responses = [start + t for t in c.texts]
    return CotSamples(messages, start, c, responses, [task.extract(r, example) for r in responses])


@dataclass
class ChainOfThought(Strategy):
    name = "cot"
    summary = (
        "chain-of-thought: 'Let's think step by step', then answer extraction; few-shot with exemplars=FILE"
    )
    cost = "1 (+1 when the reasoning names no answer and answer_call is on)"
    citation = "Kojima et al. 2022 (zero-shot); Wei et al. 2022 (few-shot)"

    max_tokens: int = 256
    answer_call: bool = True
    exemplars: str = ""
    shots: int = 0
    # Greedy by default; a sampled chain (System 2 Distillation's teacher samples) sets these.
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        shots = load_exemplars(self.exemplars, self.shots or None) if self.exemplars else []
        messages, start = cot_messages(example, task, prefill, shots)
        request = Request(
            messages,
            max_tokens=self.max_tokens,
            prefill=start,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=self.seed,
            final=True,
        )
        [c] = yield [request]
        steps = [Step("reason", messages, [c.texts[0]], prefill=start)]
        # Kojima et al.'s second stage when the reasoning names no answer (strategies/extraction.py).
        done = yield from finish(messages, start + c.texts[0], example, task, prefill, self.answer_call)
        return Trace(answer=done.answer, final_text=done.final, steps=steps + done.steps)
