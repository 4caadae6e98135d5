"""System 2 Attention (Weston & Sukhbaatar 2023, "System 2 Attention (is something you might need
too)", arXiv:2311.11829).

Soft attention takes in everything in the context, so an opinion ("I think the answer is 12, but
I'm really not sure.") or an irrelevant sentence ("Maria's brother is 12 years old.") sways the answer.
S2A makes the attention hard, in natural language: step 1 asks the model to regenerate the user's
text keeping only the part worth attending to, in two labelled parts (the context and the actual
question); step 2 answers from those two parts alone. The original text is not shown in step 2:
the paper found that keeping it (its "S2A-KeepOrig" variant) brings the distraction back.

Step 1 is the paper's prompt (Figure 2) with ``focus=unbiased``: keep the part that is "unbiased and
not their opinion" (the SycophancyEval / opinion setting, and the S2A of System 2 Distillation); with
``focus=relevant`` the paper's "related and useful" variant (the relevance prompt used on GSM-IC,
whose word problems carry irrelevant sentences, as ``distractor_arithmetic``'s do). Step 2 ends with
the paper's "Answer in an unbiased way." (Figure 13; ``instructed=false`` is the paper's ablation
without it) when the focus is the user's bias; the relevance variant has no such sentence. The parts are found by their labels, leniently (markdown, quotes, missing parentheses,
either order); a reply without a question part is flagged in ``meta["parse_error"]`` and step 2
falls back to the original text.

``answer`` picks how step 2 answers. The paper let the chat model answer as it normally does, and
LLaMA-2-70B-chat explains itself before answering (on GSM-IC its step-2 prompt asks for a "Solution:"
before the final answer). Our default ``cot`` is that normal answering made explicit: the same
prompt, trigger and answer marker as the ``cot`` strategy, and the same answer-extraction call when
the answer names none (``extraction.py``), so ``s2a`` against ``cot`` measures the rewrite alone;
``answer=direct`` answers at once as ``direct`` does, to compare with ``direct``.

Prompt wording: the paper's Figures 2, 13 and its relevance variant, as quoted from arXiv:2311.11829
(page 4) in public re-implementations.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from fastslow.errors import FastslowError
from fastslow.models.base import Request, truncate_at_stop
from fastslow.strategies.base import Program, Step, Strategy, Trace, user
from fastslow.strategies.cot import TRIGGER
from fastslow.strategies.direct import FIRST_SENTENCE
from fastslow.strategies.extraction import finish
from fastslow.strategies.prompts import ANSWER_MARKER, answer_form, question_text
from fastslow.tasks.base import Example, Task

# Step 1: Weston & Sukhbaatar 2023, Figure 2 (opinions) and the relevance variant (irrelevant sentences).
UNBIASED_CONTEXT_LABEL = "Unbiased text context (includes all content except user's bias):"
UNBIASED_QUESTION_LABEL = "Question/Query (does not include user bias/preference):"
RELEVANT_CONTEXT_LABEL = (
    "Context text related to the question (includes all content except unrelated sentences):"
)
RELEVANT_QUESTION_LABEL = "Detailed question:"
REWRITE_PROMPTS = {
    "unbiased": (
        "Given the following text by a user, extract the part that is unbiased and not their opinion, "
        "so that using that text alone would be good context for providing an unbiased answer to the "
        "question portion of the text.\n\n"
        "Please include the actual question or query that the user is asking. Separate this into two "
        f'categories labeled with "{UNBIASED_CONTEXT_LABEL}" and "{UNBIASED_QUESTION_LABEL}".\n\n'
        "Text by User: {text}"
    ),
    "relevant": (
        "Given the following text by a user, extract the part that is related and useful, so that using "
        "that text alone would be good context for providing an accurate and correct answer to the "
        "question portion of the text. Please include the actual question or query that the user is "
        f'asking. Separate this into two categories labeled with "{RELEVANT_CONTEXT_LABEL}" and '
        f'"{RELEVANT_QUESTION_LABEL}". Do not use list.\n\n'
        "Text by User: {text}"
    ),
}
# Step 2: Figure 13.
UNBIASED_INSTRUCTION = "Answer in an unbiased way."
FOCUSES = tuple(REWRITE_PROMPTS)
ANSWERS = ("cot", "direct")
DIRECT_TOKENS = 24  # as the direct strategy

# A label, then optional "(...)", markdown or quotes, then a colon (and markdown or quotes again).
_SUFFIX = r"\s*(?:\([^)\n]*\))?[\s\"'\u201c\u201d*_]*:[\"'\u201c\u201d*_]*"
_CONTEXT_LABELS = [
    re.compile(r"unbiased\s+text\s+context" + _SUFFIX, re.IGNORECASE),
    re.compile(r"context\s+text\s+related\s+to\s+the\s+question" + _SUFFIX, re.IGNORECASE),
    re.compile(r"\b(?:unbiased\s+|relevant\s+)?context" + _SUFFIX, re.IGNORECASE),
]
_QUESTION_LABELS = [
    re.compile(r"question\s*/\s*query" + _SUFFIX, re.IGNORECASE),
    re.compile(r"detailed\s+question" + _SUFFIX, re.IGNORECASE),
    re.compile(r"\b(?:actual\s+)?(?:question|query)" + _SUFFIX, re.IGNORECASE),
]
# A model that goes on to answer in step 1 ("Answer: 12"): that is not part of the question.
_ANSWER_LINE = re.compile(r"\n\s*[*_]*\s*(?:final\s+)?answer\b[^:\n]*:", re.IGNORECASE)
_EMPTY = {"", "none", "n/a", "na", "(none)", "none.", "-", "nothing"}
_EDGE = " \t\r\n\"'\u201c\u201d*_"


def _first(
    patterns: list[re.Pattern[str]], text: str, exclude: tuple[int, int] | None = None
) -> re.Match[str] | None:
    """The first match of the most specific pattern that matches outside ``exclude``."""
    for pattern in patterns:
        for m in pattern.finditer(text):
            if exclude is None or m.end() <= exclude[0] or m.start() >= exclude[1]:
                return m
    return None


def _clean(part: str) -> str:
    part = part.strip(_EDGE)
    return "" if part.lower() in _EMPTY else part


def parse_rewrite(text: str) -> tuple[str, str, list[str]]:
    """The (context, question) parts of a step-1 reply, and the problems met reading it.

    The question part is required (its absence is reported as "no question part"); a missing
    context label makes whatever stands before the question label the context.
    """
    problems: list[str] = []
    ctx = _first(_CONTEXT_LABELS, text)
    q = _first(_QUESTION_LABELS, text, exclude=(ctx.start(), ctx.end()) if ctx else None)
    if q is None:
        return "", "", ["no question part"]
    if ctx is None:
        problems.append("no context label: the text before the question was taken as the context")
        context = text[: q.start()]
    elif ctx.start() < q.start():
        context = text[ctx.end() : q.start()]
    else:
        context = text[ctx.end() :]
    question = text[q.end() : ctx.start()] if ctx is not None and ctx.start() > q.start() else text[q.end() :]
    cut = _ANSWER_LINE.search(question)
    if cut is not None:
        question = question[: cut.start()]
    context, question = _clean(context), _clean(question)
    if not question:
        problems.append("empty question part")
    return context, question, problems


@dataclass
class System2Attention(Strategy):
    name = "s2a"
    summary = (
        "System 2 Attention: rewrite the input as unbiased context + question, then answer from that alone"
    )
    cost = "2 (+1 when the answer names none and answer_call is on)"
    citation = "Weston & Sukhbaatar 2023, 'System 2 Attention (is something you might need too)'"

    focus: str = "unbiased"  # or "relevant": the paper's prompt for irrelevant sentences
    answer: str = "cot"  # or "direct"
    instructed: bool = True  # end step 2 with "Answer in an unbiased way." (Figure 13)
    rewrite_tokens: int = 256
    max_tokens: int = 256  # for answer=cot; answer=direct stops after one sentence (24 tokens)
    answer_call: bool = True  # an answer that names none gets the extraction call, as in cot
    # Greedy by default; sampled (both calls) for System 2 Distillation's teacher samples.
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.focus not in FOCUSES:
            raise FastslowError(f"s2a: focus must be one of {', '.join(FOCUSES)}, got {self.focus!r}")
        if self.answer not in ANSWERS:
            raise FastslowError(f"s2a: answer must be one of {', '.join(ANSWERS)}, got {self.answer!r}")

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        # Step 1 sees the user's text (context and question); lettered options are the task's
        # answer format, not the user's words, and come back in step 2.
        original = question_text(dataclasses.replace(example, choices=None))
        rewrite = [user(REWRITE_PROMPTS[self.focus].format(text=original))]
        sampling = {"temperature": self.temperature, "top_p": self.top_p, "seed": self.seed}
        [r] = yield [Request(rewrite, max_tokens=self.rewrite_tokens, **sampling)]
        context, question, problems = parse_rewrite(r.texts[0])
        meta: dict = {
            "focus": self.focus,
            "answer_mode": self.answer,
            "context": context,
            "question": question,
        }
        if question:
            shown = question_text(dataclasses.replace(example, question=question, context=context or None))
            meta["rewrite_parsed"] = True
        else:
            shown = question_text(example)
            meta["rewrite_parsed"] = False
        if problems:
            meta["parse_error"] = "; ".join(problems) + ("" if question else ": the original text was used")
        steps = [Step("rewrite", rewrite, [r.texts[0]])]

        # "Answer in an unbiased way." belongs to the opinion setting (Figure 13), not to the
        # relevance prompt for irrelevant sentences.
        ask = [UNBIASED_INSTRUCTION] if self.instructed and self.focus == "unbiased" else []
        ask.append(answer_form(task, example))
        if self.answer == "cot":
            ask.append(f'End your response with "{ANSWER_MARKER}" and the final answer.')
            start, stop, tokens = TRIGGER, (), self.max_tokens
        else:
            ask.append("Give only the final answer, no explanation.")
            start, stop, tokens = ANSWER_MARKER, FIRST_SENTENCE, DIRECT_TOKENS
        content = f"{shown}\n\n{' '.join(s for s in ask if s)}"
        if not prefill:
            content += f"\n\n{TRIGGER}" if self.answer == "cot" else ""
            start = ""
        messages = [user(content)]
        [c] = yield [Request(messages, max_tokens=tokens, stop=stop, prefill=start, final=True, **sampling)]
        text = c.texts[0]
        steps.append(Step("answer", messages, [text], prefill=start))
        if self.answer == "direct":
            text = truncate_at_stop(text, FIRST_SENTENCE)[0]  # also where a backend ignored stop
        # As cot: an answer that names none gets the extraction call (strategies/extraction.py).
        done = yield from finish(messages, start + text, example, task, prefill, self.answer_call)
        return Trace(answer=done.answer, final_text=done.final, steps=steps + done.steps, meta=meta)
