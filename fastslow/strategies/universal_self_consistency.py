"""Universal self-consistency (Chen et al. 2023, "Universal Self-Consistency for Large Language Model
Generation", §3 and Figure 2): sample k chains of thought, then show all of them to the same model
and ask it to select the most consistent one.

Why: self-consistency (Wang et al. 2022) needs answers that can be matched exactly to count votes;
free-form answers (summaries, explanations, long text) cannot be. USC lets the model itself judge
which response agrees most with the others; Chen et al. find that judging consistency is easier for a
model than judging correctness, and that USC matches the majority vote on GSM8K while also working
where no vote is possible. System 2 Distillation (Yu et al. 2024) uses it as the consistency filter
for System 2 Attention.

The k samples are one request with ``n=k`` (as in ``sc``). The selection prompt is the paper's
(Figure 2; responses numbered from 0): "I have generated the following responses to the question:
... Evaluate these responses. Select the most consistent response based on majority consensus. Start
your answer with "The most consistent response is Response X" (without quotes)." Where the backend
allows it, the assistant turn is prefilled with that very start, so the model only has to name X.

The answer is the one extracted from the selected response. When the selection names no response or
one out of range, the trace says so (``meta["parse_error"]``) and the plain majority vote over the
extracted answers decides instead (the first response carrying the winning answer; the first response
when no sample has an answer): on tasks with exact answers this is what USC approximates anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastslow.errors import FastslowError
from fastslow.models.base import Message, Request
from fastslow.strategies.base import Program, Step, Strategy, Trace, user
from fastslow.strategies.cot import sample_cots
from fastslow.strategies.prompts import question_text
from fastslow.strategies.self_consistency import majority_vote
from fastslow.tasks.base import Example, Task

# Chen et al. 2023, Figure 2.
SELECT_INSTRUCTION = (
    "Evaluate these responses.\n"
    "Select the most consistent response based on majority consensus.\n"
    'Start your answer with "The most consistent response is Response X" (without quotes).'
)
SELECT_START = "The most consistent response is Response"
_STRICT = re.compile(r"most\s+consistent\s+response\s+is\W*response\W*(\d+)", re.IGNORECASE)
_LOOSE = re.compile(r"\bresponse\W{0,3}(\d+)", re.IGNORECASE)


def selection_messages(example: Example, responses: list[str]) -> list[Message]:
    """The USC prompt: the question, every response numbered from 0, and the selection request."""
    listed = "\n\n".join(f"Response {i}: {r.strip()}" for i, r in enumerate(responses))
    content = (
        f"I have generated the following responses to the question: {question_text(example)}\n\n"
        f"{listed}\n\n{SELECT_INSTRUCTION}"
    )
    return [user(content)]


def parse_selection(text: str, k: int) -> tuple[int | None, str | None]:
    """The index the model selected (0-based, as numbered in the prompt), or None and why not.

    The paper's phrase "most consistent response is Response X" decides; without it, a reply that
    names exactly one response number ("Response 2 is the most consistent") is accepted too.
    """
    m = _STRICT.search(text)
    if m:
        index = int(m.group(1))
    else:
        named = {int(n) for n in _LOOSE.findall(text)}
        if len(named) != 1:
            shown = text.strip()[:80] or "(empty)"
            return None, f"the selection names no single response: {shown!r}"
        index = named.pop()
    if not 0 <= index < k:
        return None, f"the selection names Response {index}, but only 0 to {k - 1} exist"
    return index, None


@dataclass
class UniversalSelfConsistency(Strategy):
    name = "usc"
    summary = "universal self-consistency: k sampled chains of thought, the model selects the most consistent"
    cost = "k + 1"
    citation = "Chen et al. 2023, 'Universal Self-Consistency for Large Language Model Generation'"

    k: int = 8
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 256
    seed: int = 0
    select_tokens: int = 32

    def __post_init__(self) -> None:
        if self.k < 1:
            raise FastslowError(f"usc: k must be at least 1, got {self.k}")

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        samples = yield from sample_cots(
            example,
            task,
            prefill,
            n=self.k,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=self.seed,
        )
        responses, answers = samples.responses, samples.answers

        select_msgs = selection_messages(example, responses)
        select_start = SELECT_START if prefill else ""
        [s] = yield [Request(select_msgs, max_tokens=self.select_tokens, prefill=select_start)]
        reply = s.texts[0]
        index, error = parse_selection(select_start + reply, len(responses))

        winner, agreement, votes = majority_vote(answers, task.kind)
        meta: dict = {
            "answers": answers,
            "selected": index,
            "majority": winner,
            "agreement": agreement,
            "votes": votes,
        }
        if index is None:
            if winner is not None:
                index = answers.index(winner)
                meta["parse_error"] = f"{error}; the majority vote chose Response {index}"
                meta["fallback"] = "majority"
            else:
                index = 0
                meta["parse_error"] = f"{error}; no sample has an answer, Response 0 is used"
                meta["fallback"] = "first"
        meta["used"] = index
        return Trace(
            answer=answers[index],
            final_text=responses[index],
            steps=[
                samples.step(),
                Step("select", select_msgs, [reply], prefill=select_start),
            ],
            meta=meta,
        )
