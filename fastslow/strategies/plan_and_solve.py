"""Plan-and-Solve prompting (Wang et al. 2023, "Plan-and-Solve Prompting: Improving Zero-Shot
Chain-of-Thought Reasoning by Large Language Models", ACL 2023).

Zero-shot chain-of-thought (Kojima et al. 2022) makes three kinds of mistakes on word problems:
calculation errors, missing steps and misread questions. Plan-and-Solve replaces the trigger
"Let's think step by step." with one that asks the model first to devise a plan that splits the task
into subtasks, then to carry it out (PS, against missing steps). PS+ adds detailed instructions
against calculation errors: extract the relevant variables and their numerals, calculate the
intermediate variables, pay attention to calculation and commonsense (§2.1, step 1).

The triggers are the paper's (§2.1; prompts 201 and 301 of the authors' repository
AGI-Edgerunners/Plan-and-Solve-Prompting, ``prompt.py``, whose PS prompt reads "carry out the plan
to solve the problem" where the paper has "carry out the plan and solve the problem"). As in the paper (§2.2, step 2), a
second call extracts the answer by continuing the reasoning with an answer trigger in Kojima et
al.'s style, adapted to the answer kind ("Therefore, the answer (arabic numerals) is" for numbers,
"Therefore, among A through E, the answer is" for lettered options); like the authors' ``main.py``
we make that call only when the reasoning names no answer ("The answer is X"), so a model that
follows the instruction pays one call. The call is the shared step of ``extraction.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from fastslow.models.base import Request
from fastslow.strategies.base import Program, Step, Strategy, Trace
from fastslow.strategies.cot import cot_messages
from fastslow.strategies.extraction import answer_trigger, finish
from fastslow.strategies.prompts import names_answer
from fastslow.tasks.base import Example, Task

# Wang et al. 2023, §2.1 (PS) and the PS+ trigger of §2.1 / the authors' prompt 301.
PS_TRIGGER = (
    "Let's first understand the problem and devise a plan to solve the problem. "
    "Then, let's carry out the plan and solve the problem step by step."
)
PS_PLUS_TRIGGER = (
    "Let's first understand the problem, extract relevant variables and their corresponding numerals, "
    "and devise a plan. Then, let's carry out the plan, calculate intermediate variables (pay attention "
    "to correct numeral calculation and commonsense), solve the problem step by step, and show the answer."
)


@dataclass
class PlanAndSolve(Strategy):
    name = "ps"
    summary = "plan-and-solve: 'devise a plan, then carry it out step by step', then answer extraction"
    cost = "1 (+1 when the reasoning names no answer and answer_call is on)"
    citation = "Wang et al. 2023, 'Plan-and-Solve Prompting: Improving Zero-Shot Chain-of-Thought Reasoning'"
    trigger: ClassVar[str] = PS_TRIGGER

    max_tokens: int = 256
    answer_call: bool = True

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        messages, start = cot_messages(example, task, prefill, [], trigger=self.trigger)
        [c] = yield [Request(messages, max_tokens=self.max_tokens, prefill=start, final=True)]
        reasoning = c.texts[0]
        steps = [Step("plan_and_solve", messages, [reasoning], prefill=start)]
        named = names_answer(reasoning)
        meta: dict = {"trigger": self.trigger, "answer_named": named}
        if not reasoning.strip():
            meta["parse_error"] = "empty reasoning"
        done = yield from finish(messages, start + reasoning, example, task, prefill, self.answer_call)
        if not named and not self.answer_call:
            meta.setdefault("parse_error", "the reasoning names no answer (answer_call is off)")
        if done.extracted:
            meta["answer_trigger"] = answer_trigger(task, example)
        if done.error:
            meta.setdefault("parse_error", done.error)
        return Trace(answer=done.answer, final_text=done.final, steps=steps + done.steps, meta=meta)


@dataclass
class PlanAndSolvePlus(PlanAndSolve):
    name = "ps+"
    summary = (
        "plan-and-solve+: plan, extract variables and numerals, calculate intermediate results; "
        "then answer extraction"
    )
    citation = (
        "Wang et al. 2023, 'Plan-and-Solve Prompting: Improving Zero-Shot Chain-of-Thought Reasoning' (PS+)"
    )
    trigger: ClassVar[str] = PS_PLUS_TRIGGER
