"""Examples, tasks and scoring.

A ``Task`` is a named list of ``Example`` objects plus two functions: ``extract`` turns a model's
free text into a candidate answer, ``score`` compares a candidate with the example's reference
(1.0 right, 0.0 wrong; partial credit is allowed where a task defines it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass
class Example:
    id: str
    question: str
    answer: str | list[str] | None = None
    context: str | None = None
    choices: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "question": self.question, "answer": self.answer}
        if self.context is not None:
            d["context"] = self.context
        if self.choices is not None:
            d["choices"] = self.choices
        if self.meta:
            d["meta"] = self.meta
        return d


@dataclass
class Task:
    """A named set of examples with its own answer extraction and scoring.

    ``kind`` tells strategies what an answer looks like: "number", "text" (a word or string), or
    "choice" (one of ``example.choices``). ``instruction`` is appended to questions where a task
    needs to say what form the answer takes (for example BIG-bench's task prefix goes elsewhere).
    ``meta`` records where the examples came from (source, seed, split, knobs, BIG-bench metrics).
    """

    name: str
    examples: list[Example]
    kind: str = "text"
    extract: Callable[[str, Example], str | None] | None = None
    score: Callable[[str | None, Example], float] | None = None
    description: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from fastslow.tasks.answers import extract_answer, score_answer

        if self.extract is None:
            kind = self.kind
            # A letter names an option only where the options were shown lettered.
            self.extract = lambda text, ex: extract_answer(
                text, kind, ex.choices, letters=not ex.meta.get("choices_shown")
            )
        if self.score is None:
            kind = self.kind
            self.score = lambda pred, ex: score_answer(
                pred, ex.answer, kind, ex.choices, letters=not ex.meta.get("choices_shown")
            )

    def __len__(self) -> int:
        return len(self.examples)


@runtime_checkable
class TaskGenerator(Protocol):
    """The contract of a built-in (synthetic) task module, such as ``tasks/coin_flip.py``.

    - ``NAME``: the task's name (``--task NAME``); ``KIND``: "number", "text" or "choice".
    - ``make_examples(n, seed=0, split="test", **knobs)``: ``n`` examples of one side of the
      train/test split (``splits.py``: a hash of the question decides), drawn deterministically from
      ``seed``; each knob is a keyword argument with a default (``--knob words=4``).
    - ``cot_solution(example)``: a correct step-by-step solution ending with the answer marker
      ("... The answer is X."; ``answers.ANSWER_MARKER``), read back right by the task's extractor.
      ``fastslow prime`` trains on these and ``gradients make-data`` uses them as detailed responses.

    Registering a module in ``tasks/registry.py`` (with a description and its knobs' defaults) makes
    it a ``--task``; shipping ``strategies/exemplars/<NAME>.jsonl`` gives it least-to-most exemplars.
    """

    NAME: str
    KIND: str

    def make_examples(self, n: int, seed: int = 0, split: str = "test", **knobs: Any) -> list[Example]: ...

    def cot_solution(self, example: Example) -> str: ...
