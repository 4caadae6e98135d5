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
follows the instruction pays one call.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import ClassVar

from fastslow.models.base import Request
from fastslow.strategies.base import Program, Step, Strategy, Trace, assistant, user
from fastslow.strategies.cot import cot_messages
from fastslow.strategies.prompts import ANSWER_MARKER, names_answer
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
EXTRACT_TOKENS = 32  # the authors' max_length_direct


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
        [c] = yield [Request(messages, max_tokens=self.max_tokens, prefill=start)]
        reasoning = c.texts[0]
        steps = [Step("plan_and_solve", messages, [reasoning], prefill=start)]
        final = start + reasoning
        named = names_answer(reasoning)
        meta: dict = {"trigger": self.trigger, "answer_named": named}
        if not reasoning.strip():
            meta["parse_error"] = "empty reasoning"
        if named or not self.answer_call:
            if not named:
                meta.setdefault("parse_error", "the reasoning names no answer (answer_call is off)")
            answer = task.extract(final, example)
        else:
            trig = answer_trigger(task, example)
            if prefill:
                req = Request(messages, max_tokens=EXTRACT_TOKENS, stop=("\n",), prefill=f"{final}\n{trig}")
            else:
                req = Request(
                    [*messages, assistant(reasoning), user(f"{trig}? Reply with the answer only.")],
                    max_tokens=EXTRACT_TOKENS,
                    stop=("\n",),
                )
            [a] = yield [req]
            reply = a.texts[0]
            steps.append(Step("extract", list(req.messages), [reply], prefill=req.prefill))
            meta["answer_trigger"] = trig
            final = f"{final}\n{trig}{reply}" if prefill else f"{final}\n{ANSWER_MARKER} {reply.strip()}"
            # The trigger's own wording ("(arabic numerals) is") is not the answer marker the task
            # extractors look for, so the reply is read as "The answer is <reply>".
            answer = task.extract(f"{ANSWER_MARKER} {reply.strip()}", example)
            if answer is None:
                meta.setdefault("parse_error", "no answer in the extraction reply; taken from the reasoning")
                answer = task.extract(start + reasoning, example)
        return Trace(answer=answer, final_text=final, steps=steps, meta=meta)


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
