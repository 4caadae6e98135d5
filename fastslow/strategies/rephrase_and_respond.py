"""Rephrase and Respond (Deng et al. 2023, "Rephrase and Respond: Let Large Language Models Ask Better
Questions for Themselves", arXiv:2311.04205).

What a question means to its writer and what it means to a model can differ; the model does better
on a question it has put in its own words. One-step RaR (``rar``) asks in one prompt to
"Rephrase and expand the question, and respond." Two-step RaR (``rar2``) first asks the model
to rephrase and expand the question keeping all its information, then answers in a second call that
sees both the original and the rephrased question ("Use your answer for the rephrased question to
answer the original question."); it is the RaR that System 2 Distillation (Yu et al. 2024) distils.

The prompts are the paper's, as in the authors' code (uclaml/Rephrase-and-Respond, ``main.py``:
``refine_question``, ``get_result`` and ``get_result_onestep``), which also puts the question in
quotes, strips the quotes a model puts around its rephrased question and shows lettered options
after the rephrased question. Like
that code's per-task format sentence, we end each answering prompt with our answer instruction
(the answer form and "The answer is X"), so every task's extractor finds the answer. A response
that names no answer, or one that cannot be read ("The answer is tails up." where the options are
yes and no), gets the shared extraction call as ``cot``'s does (``extraction.py``; ``answer_call``
turns it off), so rar against cot measures the rephrasing, not the answer format. The authors'
code makes no such call: a response without the marker is then flagged in ``meta["parse_error"]``
and read with the task's fallback extraction.
"""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass

from fastslow.models.base import Request
from fastslow.strategies.base import Program, Step, Strategy, Trace, user
from fastslow.strategies.extraction import finish
from fastslow.strategies.prompts import ANSWER_MARKER, answer_instruction, names_answer, question_text
from fastslow.tasks.base import Example, Task

ONE_STEP = "Rephrase and expand the question, and respond."
REPHRASE = (
    "Given the above question, rephrase and expand it to help you do better answering. "
    "Maintain all information in the original question."
)
RESPOND = "Use your answer for the rephrased question to answer the original question."
_QUOTES = "\"'\u201c\u201d"


def split_options(example: Example) -> tuple[str, str]:
    """The question as the user wrote it (with its context), and the lettered options block, if any,
    as ``question_text`` would show them."""
    text = question_text(dataclasses.replace(example, choices=None))
    if not example.choices or example.meta.get("choices_shown"):
        return text, ""
    lines = "\n".join(f"({string.ascii_uppercase[i]}) {c}" for i, c in enumerate(example.choices))
    return text, "Options:\n" + lines


def strip_quotes(text: str) -> str:
    """A rephrased question without the quotes a model wraps it in (as the authors' code does)."""
    t = text.strip()
    if len(t) >= 2 and t[0] in _QUOTES and t[-1] in _QUOTES:
        t = t[1:-1].strip()
    return t


def _marker_meta(response: str) -> dict:
    if not response.strip():
        return {"parse_error": "empty response"}
    if not names_answer(response):
        return {"parse_error": f'no "{ANSWER_MARKER}" in the response; answer from the fallback extraction'}
    return {}


@dataclass
class RephraseAndRespond(Strategy):
    name = "rar"
    summary = "rephrase and respond (one step): 'Rephrase and expand the question, and respond.'"
    cost = "1"
    citation = "Deng et al. 2023, 'Rephrase and Respond: Let Large Language Models Ask Better Questions'"

    max_tokens: int = 384  # the rephrased question and the answer share this budget
    answer_call: bool = True  # the extraction call when the response names no readable answer

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        text, options = split_options(example)
        head = f'"{text}"\n{ONE_STEP}'
        content = "\n".join(p for p in [head, options, answer_instruction(task, example)] if p)
        messages = [user(content)]
        [c] = yield [Request(messages, max_tokens=self.max_tokens, final=True)]
        response = c.texts[0]
        done = yield from finish(messages, response, example, task, prefill, self.answer_call)
        return Trace(
            answer=done.answer,
            final_text=done.final,
            steps=[Step("rephrase_and_respond", messages, [response]), *done.steps],
            meta=_marker_meta(response),
        )


@dataclass
class TwoStepRephraseAndRespond(Strategy):
    name = "rar2"
    summary = "rephrase and respond (two steps): rephrase and expand the question, then answer both"
    cost = "2"
    citation = (
        "Deng et al. 2023, 'Rephrase and Respond: Let Large Language Models Ask Better Questions' (two-step)"
    )

    rephrase_tokens: int = 192
    max_tokens: int = 256
    answer_call: bool = True  # the extraction call when the response names no readable answer

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        text, options = split_options(example)
        rephrase = [user(f'"{text}"\n{REPHRASE}')]
        [r] = yield [Request(rephrase, max_tokens=self.rephrase_tokens)]
        rephrased = strip_quotes(r.texts[0])
        steps = [Step("rephrase", rephrase, [r.texts[0]])]
        meta: dict = {"rephrased": rephrased}
        if rephrased:
            lines = [f"(original) {text}", f"(rephrased) {rephrased}", options, RESPOND]
        else:
            # Nothing to compare with: answer the original question as it stands.
            meta["parse_error"] = "empty rephrased question: answered the original question alone"
            lines = [text, options]
        head = "\n".join(line for line in lines if line)
        messages = [user(f"{head}\n{answer_instruction(task, example)}")]
        [c] = yield [Request(messages, max_tokens=self.max_tokens, final=True)]
        response = c.texts[0]
        steps.append(Step("respond", messages, [response]))
        for key, value in _marker_meta(response).items():
            meta.setdefault(key, value)
        done = yield from finish(messages, response, example, task, prefill, self.answer_call)
        return Trace(answer=done.answer, final_text=done.final, steps=steps + done.steps, meta=meta)
