"""The unsupervised consistency filters of System 2 Distillation (Yu, Xu, Weston & Kulikov 2024,
"Distilling System 2 into System 1", §2 and §4).

A System-2 output is distilled only when it passes a check that needs no label: the model must
agree with itself. Each filter takes what the teacher produced for one input and says which answer
to keep, or why the input is dropped. None ever sees the reference answer (labels only measure the
filter's precision, in the report).

- ``self_consistency``: the majority answer over N sampled outputs, kept when its share of the N
  reaches ``min_agreement`` (the paper: RaR and CoT, majority of 8 or 10). An output with no answer
  counts against the majority; a tie between the top answers keeps nothing.
- ``usc_selection``: universal self-consistency (Chen et al. 2023): the model itself picks the most
  consistent of N free-form outputs (the paper's filter for S2A, over 20 samples); kept when the
  selection parsed and names an answer.
- ``swap_consistency``: for an LLM judge (Branch-Solve-Merge), the verdict is kept only when it is
  the same with the two responses swapped (the paper's filter for BSM).
- ``perturbation_consistency``: the answer must follow its option when the options of a
  multiple-choice question are shuffled (the paper's input-perturbation check for RaR).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from fastslow.tasks.answers import normalize_answer


@dataclass(frozen=True)
class Kept:
    """A filter's decision for one input: the answer kept, or None and the reason it was dropped."""

    answer: str | None
    agreement: float = 0.0
    reason: str = ""

    @property
    def kept(self) -> bool:
        return self.answer is not None


def self_consistency(answers: list[str | None], kind: str, min_agreement: float) -> Kept:
    """The majority answer of ``answers`` if its share of all of them is at least ``min_agreement``."""
    if not answers:
        return Kept(None, 0.0, "no outputs")
    keyed = [(normalize_answer(a, kind), a) for a in answers if a is not None]
    if not keyed:
        return Kept(None, 0.0, "no output names an answer")
    counts = Counter(k for k, _ in keyed).most_common()
    (top, n), rest = counts[0], counts[1:]
    agreement = n / len(answers)
    if rest and rest[0][1] == n:
        return Kept(None, agreement, "tie between the most frequent answers")
    if agreement < min_agreement:
        return Kept(None, agreement, f"agreement {agreement:.2f} < {min_agreement:.2f}")
    return Kept(next(a for k, a in keyed if k == top), agreement)


def usc_selection(meta: dict[str, Any], answer: str | None) -> Kept:
    """A ``usc`` trace's choice: kept when the model's selection parsed and names an answer."""
    if meta.get("fallback"):
        return Kept(None, 0.0, f"the selection did not parse ({meta.get('parse_error', 'no index')})")
    if answer is None:
        return Kept(None, 0.0, "the selected response names no answer")
    answers = meta.get("answers") or []
    same = sum(1 for a in answers if a is not None and a == answer)
    return Kept(answer, same / len(answers) if answers else 1.0)


def swap_consistency(meta: dict[str, Any]) -> Kept:
    """A ``bsm`` judge trace: its verdict, kept when both orders of the responses gave it."""
    if "orders_agree" not in meta:
        return Kept(None, 0.0, "not a judgement of two responses (no orders to compare)")
    if not meta["orders_agree"]:
        return Kept(None, 0.0, "the verdict changed when the responses were swapped")
    verdict = meta.get("verdict")
    if verdict in (None, "tie"):
        return Kept(None, 1.0, "both orders gave a tie")
    return Kept(verdict, 1.0)


def perturbation_consistency(answers: list[str | None], kind: str) -> Kept:
    """Answers to one multiple-choice question with its options shuffled (each answer an option's
    text): kept when every order gave the same option."""
    if not answers or any(a is None for a in answers):
        return Kept(None, 0.0, "an order of the options got no answer")
    keys = {normalize_answer(a, kind) for a in answers}
    if len(keys) > 1:
        return Kept(None, 0.0, "the answer did not follow its option when the options were shuffled")
    return Kept(answers[0], 1.0)


def combine(decisions: list[Kept], kind: str) -> Kept:
    """Several filters at once: kept only when every one keeps the same answer."""
    if not decisions:
        return Kept(None, 0.0, "no filter")
    dropped = next((d for d in decisions if not d.kept), None)
    if dropped is not None:
        return dropped
    if len({normalize_answer(d.answer, kind) for d in decisions}) > 1:  # type: ignore[arg-type]
        return Kept(None, 0.0, "the filters kept different answers")
    return Kept(decisions[0].answer, min(d.agreement for d in decisions))
