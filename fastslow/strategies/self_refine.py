"""Self-Refine (Madaan et al. 2023, "Self-Refine: Iterative Refinement with Self-Feedback", §2 and
Algorithm 1): answer, then let the same model give feedback on its answer and rewrite it, in rounds.

Why: like a person revising a draft, a model often sees a mistake in its own answer once asked to
look for one, and can fix it when told where it is. No extra model, data or training is needed: one
model is the generator, the critic and the refiner.

Algorithm 1 of the paper, as we run it:

- ``y0``: a chain-of-thought answer (the ``cot`` prompt, ending with "The answer is X").
- round t: FEEDBACK ``fb_t = M(p_fb || x || y_t)`` sees the question and the current answer only;
  if it contains the stop phrase, stop. Otherwise REFINE ``y_{t+1} = M(p_refine || x || y0 || fb0 ||
  ... || y_t || fb_t)`` sees the whole history, which we keep as a conversation: the question, every
  answer as an assistant turn, every feedback as the user turn after it.
- Stop at the stop phrase or after ``rounds`` rounds.

The feedback instruction is Self-Refine's math-reasoning one (the authors' repository
madaan/self-refine, ``src/gsm/feedback.py`` and ``data/prompt/gsm/feedback.txt``: "There is an error
in the code above because of lack of understanding of the question. What is the error? To find the
error, go through semantically complete blocks of the code, and check if everything looks good."),
reworded for a written solution instead of a program and, since we have no few-shot feedback
examples, told what to say when there is nothing to fix. The stop phrase is theirs too:
``src/gsm/run.py`` stops when the feedback contains "it is correct" (any case). The refined answer
starts with their lead-in "Okay! Here is the rewrite:" (prefilled where the backend allows).

The answer is the last version's. If the last version names no answer, it gets the answer-extraction
call that ``cot`` makes (``extraction.py``); if that finds none either (a garbled rewrite), the most
recent version that does name one is used and the trace says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastslow.errors import FastslowError
from fastslow.models.base import Message, Request
from fastslow.strategies.base import Program, Step, Strategy, Trace, assistant, user
from fastslow.strategies.cot import cot_messages
from fastslow.strategies.extraction import finish
from fastslow.strategies.prompts import ANSWER_MARKER, question_text
from fastslow.tasks.base import Example, Task

STOP_PHRASE = "It is correct"
FEEDBACK_INSTRUCTION = (
    "There may be an error in the answer above. What is the error? To find it, go through the answer "
    "step by step and check if everything looks good. For each mistake, say what is wrong and how to "
    f'fix it. If there is no error, say "{STOP_PHRASE}."'
)
REFINE_INSTRUCTION = (
    f'Rewrite your answer using this feedback. End with "{ANSWER_MARKER}" and the final answer.'
)
REWRITE_START = "Okay! Here is the rewrite:"


def feedback_messages(example: Example, answer: str) -> list[Message]:
    """FEEDBACK: the question and the current answer only, with the request for actionable feedback."""
    return [user(f"{question_text(example)}\n\nAnswer:\n{answer.strip()}\n\n{FEEDBACK_INSTRUCTION}")]


def refine_turn(feedback: str) -> Message:
    """The user turn that hands a round's feedback back to the model and asks for the rewrite."""
    return user(f"Feedback on your answer:\n{feedback.strip()}\n\n{REFINE_INSTRUCTION}")


def says_stop(feedback: str) -> bool:
    """Self-Refine's stop test (``src/gsm/run.py``): the feedback contains "it is correct"."""
    return STOP_PHRASE.lower() in feedback.lower()


@dataclass
class SelfRefine(Strategy):
    name = "refine"
    summary = (
        "self-refine: answer, then rounds of self-feedback and rewrite until the feedback says it is correct"
    )
    cost = (
        "at most 1 + 2*rounds (fewer when the feedback says 'It is correct'); +1 when the last version "
        "names no answer and answer_call is on"
    )
    citation = "Madaan et al. 2023, 'Self-Refine: Iterative Refinement with Self-Feedback'"

    rounds: int = 2
    max_tokens: int = 256
    feedback_tokens: int = 192
    answer_call: bool = True  # a last version that names no answer gets the extraction call

    def __post_init__(self) -> None:
        if self.rounds < 0:
            raise FastslowError(f"refine: rounds must be 0 or more, got {self.rounds}")

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        history, start = cot_messages(example, task, prefill, [])
        [c] = yield [Request(history, max_tokens=self.max_tokens, prefill=start)]
        steps = [Step("initial", list(history), [c.texts[0]], prefill=start)]
        versions = [(start + c.texts[0]).strip()]
        turns = [(list(history), start + c.texts[0])]  # each version's prompt and whole assistant turn
        meta: dict = {"stop_reason": "rounds", "rounds": 0, "refinements": 0}
        errors: list[str] = []
        rewrite_start = REWRITE_START if prefill else ""

        for t in range(1, self.rounds + 1):
            fb_msgs = feedback_messages(example, versions[-1])
            [f] = yield [Request(fb_msgs, max_tokens=self.feedback_tokens)]
            feedback = f.texts[0]
            steps.append(Step(f"feedback_{t}", fb_msgs, [feedback]))
            meta["rounds"] = t
            if not feedback.strip():
                meta["stop_reason"] = "empty_feedback"
                errors.append(f"round {t}: the feedback is empty; refinement stopped")
                break
            if says_stop(feedback):
                meta["stop_reason"] = "stop_phrase"
                break
            history = [*history, assistant(versions[-1]), refine_turn(feedback)]
            [r] = yield [Request(history, max_tokens=self.max_tokens, prefill=rewrite_start)]
            steps.append(Step(f"refine_{t}", list(history), [r.texts[0]], prefill=rewrite_start))
            versions.append(r.texts[0].strip())
            turns.append((list(history), rewrite_start + r.texts[0]))
            meta["refinements"] = t

        answers = [task.extract(v, example) for v in versions]
        # The last version names no answer: the extraction call, as cot makes it; only if that
        # finds none either is an earlier version's answer used.
        done = yield from finish(*turns[-1], example, task, prefill, self.answer_call)
        if done.extracted:
            steps += done.steps
            meta["extracted"] = True
            if done.answer is not None:
                answers[-1], versions[-1] = done.answer, done.final.strip()
        used = next((i for i in reversed(range(len(versions))) if answers[i] is not None), len(versions) - 1)
        if answers[used] is None:
            errors.append("no version names an answer")
        elif used != len(versions) - 1:
            errors.append(f"the last version names no answer; version {used}'s answer is used")
        if errors:
            meta["parse_error"] = "; ".join(errors)
        meta.update(answers=answers, used_version=used)
        return Trace(answer=answers[used], final_text=versions[used], steps=steps, meta=meta)
