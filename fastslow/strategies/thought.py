"""Thought prompts (Wu et al. 2024, "Thinking LLMs: General Instruction Following with Thought
Generation", §2.1 and Figure 2): write hidden thoughts first, then the response after a fixed marker.

Why: a model that writes before it answers gets more computation for harder questions, and the
thoughts can take any form (plans, drafts, mistakes) because the user never sees them: only the part
after the marker is the response. Thought Preference Optimization (TPO) starts from exactly these
prompts, samples several outputs, lets a judge score the *response* parts only, and trains on the
best and worst full outputs; an output whose response cannot be found can only be rejected. Before
that training, Wu et al. find thinking *hurts* an instruction-tuned model (AlpacaEval LC win rate 24.9
-> 17.3 for Llama-3-8B-Instruct), so expect this strategy to lose to ``direct``/``cot`` on a seed model.

Two variants, the paper's two thought prompts (Figure 2), kept word for word:

- ``generic``: 'Respond to the following user query in a comprehensive and detailed way. You can
  write down your thought process before responding. Write your thoughts after "Here is my thought
  process:" and write your response after "Here is my response:".'
- ``specific``: 'Respond to the following user query in a comprehensive and detailed way. But first
  write down your internal thoughts. This must include your draft response and its evaluation. After
  this, write your final response after "<R>".'

each followed by "User query: {question}". Our tasks want "The answer is X" at the end, so the answer
instruction joins the question inside the user query, which leaves the paper's prompt intact.

A third, ours: ``answer``, for a model that cannot follow either marker. `embedded-reasoner` (135M
parameters) thinks step by step and ends with "The answer is X." whatever it is asked; it never
writes "Here is my response:" (0 of 30 held-out last-letters questions). Its response is its last
sentence that starts with "The answer is"; everything before is the thought. Only that sentence is
judged, so TPO's rule holds (the thoughts are never seen by a judge).

``split_thought`` splits an output by simple string matching, as the paper does (§2.1); TPO reuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastslow.errors import FastslowError
from fastslow.models.base import Message, Request
from fastslow.strategies.base import Program, Step, Strategy, Trace, user
from fastslow.strategies.prompts import answer_instruction, question_text
from fastslow.tasks.answers import ANSWER_MARKER
from fastslow.tasks.base import Example, Task

THOUGHT_MARKER = "Here is my thought process:"
RESPONSE_MARKER = "Here is my response:"
SPECIFIC_MARKER = "<R>"

# Wu et al. 2024, Figure 2.
PROMPTS = {
    "generic": (
        "Respond to the following user query in a comprehensive and detailed way. You can write down "
        f'your thought process before responding. Write your thoughts after "{THOUGHT_MARKER}" and '
        f'write your response after "{RESPONSE_MARKER}".\n\nUser query: {{query}}'
    ),
    "specific": (
        "Respond to the following user query in a comprehensive and detailed way. But first write down "
        "your internal thoughts. This must include your draft response and its evaluation. After this, "
        f'write your final response after "{SPECIFIC_MARKER}".\n\nUser query: {{query}}'
    ),
    # Ours (see above): the response is the final "The answer is ..." sentence.
    "answer": (
        "Respond to the following user query. First think it through step by step: your thoughts are "
        f'hidden from the user. Then write your response, one sentence that starts with "{ANSWER_MARKER}".'
        "\n\nUser query: {query}"
    ),
}
VARIANTS = tuple(PROMPTS)

# Tolerant of case, a missing colon and markdown around the markers ("### Here is my response:").
_RESPONSE_RE = {
    "generic": re.compile(r"here is my response\b\s*:?", re.IGNORECASE),
    "specific": re.compile(r"<R>", re.IGNORECASE),
    "answer": re.compile(r"\bthe answer is\b", re.IGNORECASE),
}
_THOUGHT_START = re.compile(r"^\W*here is my thought process\b\s*:?[*_]*", re.IGNORECASE)
_CLOSING_TAG = re.compile(r"</R>\s*$", re.IGNORECASE)


def _check_variant(variant: str) -> None:
    if variant not in PROMPTS:
        raise FastslowError(f"thought: variant must be one of {', '.join(VARIANTS)}, got {variant!r}")


def split_thought(text: str, variant: str) -> tuple[str, str | None]:
    """Split an output into (thought, response); the response is None when its marker is missing or
    nothing follows it. The thought loses the thought marker, the response its own marker."""
    _check_variant(variant)
    if variant == "answer":  # the last answer sentence, the marker kept: it is the response's text
        found = list(_RESPONSE_RE[variant].finditer(text))
        if not found or not text[found[-1].end() :].strip(" .\n"):
            return text.strip(), None
        return text[: found[-1].start()].strip(), text[found[-1].start() :].strip()
    m = _RESPONSE_RE[variant].search(text)
    before = text if m is None else text[: m.start()]
    thought = re.sub(r"[#*_\s]+$", "", _THOUGHT_START.sub("", before.strip())).strip()
    if m is None:
        return thought, None
    response = re.sub(r"^[*_]+", "", text[m.end() :])
    response = _CLOSING_TAG.sub("", response).strip()
    return thought, (response or None)


def user_query(example: Example, task: Task) -> str:
    """The question with our answer instruction: what the thought prompt calls the user query."""
    return f"{question_text(example)}\n\n{answer_instruction(task, example)}"


def thought_messages(example: Example, task: Task, variant: str) -> list[Message]:
    """The thought prompt of ``variant`` around this example's user query (TPO samples from it)."""
    _check_variant(variant)
    return [user(PROMPTS[variant].format(query=user_query(example, task)))]


@dataclass
class ThoughtPrompt(Strategy):
    name = "thought"
    summary = (
        "TPO thought prompt: hidden thoughts, then the response after a marker; only the response counts"
    )
    cost = "1"
    citation = "Wu et al. 2024, 'Thinking LLMs: General Instruction Following with Thought Generation'"

    # or "specific": draft, evaluate, then the final response after "<R>"; or "answer" (ours): the
    # response is the last "The answer is ..." sentence
    variant: str = "generic"
    max_tokens: int = 384  # thought and response share it
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        _check_variant(self.variant)

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        messages = thought_messages(example, task, self.variant)
        req = Request(
            messages,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=self.seed,
        )
        [c] = yield [req]
        text = c.texts[0]
        thought, response = split_thought(text, self.variant)
        meta: dict = {"variant": self.variant, "thought": thought, "parse_failed": response is None}
        if response is None:
            marker = {"generic": RESPONSE_MARKER, "specific": SPECIFIC_MARKER}.get(
                self.variant, ANSWER_MARKER
            )
            meta["parse_error"] = f'no response after "{marker}"; the output can only be rejected'
        answer = task.extract(response, example) if response is not None else None
        return Trace(
            answer=answer,
            final_text=response if response is not None else text,
            steps=[Step("think", messages, [text])],
            meta=meta,
        )
