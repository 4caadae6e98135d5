"""The System-2 teacher: a strategy run several times on each unlabeled input.

Self-consistency needs several outputs that may disagree. A method that samples by itself (``sc``,
``usc``) gives them in one run (its trace keeps every sampled answer); ``cot`` is sampled
``samples`` times in one request (``SampledChains``: its prompt is run once); any other method is
run ``samples`` times, each run sampled at ``temperature`` with its own seed, so it must have the
``temperature`` and ``seed`` parameters (``s2a`` has them; a greedy run would only repeat itself).
Every run goes through the generation cache, so an interrupted teacher resumes without a model call.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any

from fastslow.errors import FastslowError
from fastslow.models.base import Model
from fastslow.strategies.base import Program, Step, Strategy, Trace, run_batch
from fastslow.strategies.cot import ChainOfThought, load_exemplars, sample_cots
from fastslow.strategies.extraction import finish_many
from fastslow.strategies.registry import make_strategies
from fastslow.tasks.base import Example, Task

SELF_SAMPLING = {"sc", "usc"}  # methods whose one run already holds several sampled answers


@dataclass
class SampledChains(Strategy):
    """``cot`` sampled ``n`` times as one request: the prompt is run once and its state shared by the
    n samples (``Request.n``), where n seeded runs of ``cot`` would each run it again. Each sample
    gets cot's extraction call when it names no answer. The chains come from the same distribution as
    n seeded runs (not the same draws): on embedded-reasoner's short chains the prompt pass was about
    40% of the teacher's time.
    """

    name = "cot"
    cot: ChainOfThought = field(default_factory=ChainOfThought)
    n: int = 8

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        cot = self.cot
        shots = load_exemplars(cot.exemplars, cot.shots or None) if cot.exemplars else []
        samples = yield from sample_cots(
            example, task, prefill, n=self.n, max_tokens=cot.max_tokens, temperature=cot.temperature,
            top_p=cot.top_p, seed=cot.seed, exemplars=shots,
        )  # fmt: skip
        done = yield from finish_many(
            [(samples.messages, r) for r in samples.responses], example, task, prefill, cot.answer_call
        )
        steps = [Step("sample", samples.messages, list(samples.completion.texts), prefill=samples.start)]
        return Trace(
            answer=None,
            final_text=done[0].final,
            steps=steps + [s for d in done for s in d.steps],
            meta={"answers": [d.answer for d in done], "texts": [d.final for d in done]},
        )


@dataclass
class TeacherOutputs:
    """What the teacher produced for one input: every run's trace, and their answers."""

    example_id: str
    answers: list[str | None]
    final_texts: list[str]
    metas: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0
    completion_tokens: int = 0

    def to_row(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def teacher_strategies(
    method: str, params: list[str], samples: int, temperature: float, perturb: bool = False
) -> list[Strategy]:
    """The strategy instances to run on each input (one, or ``samples`` seeded sampled ones).
    ``perturb``: every run must see its own order of the options, so cot is not one shared prompt."""
    if method in SELF_SAMPLING:
        return make_strategies([method], [*params, f"{method}.k={samples}"])
    if samples == 1:
        return make_strategies([method], params)
    [probe] = make_strategies([method], params)
    if isinstance(probe, ChainOfThought) and not perturb:  # one request of n samples: one prompt pass
        return [SampledChains(dataclasses.replace(probe, temperature=temperature), n=samples)]
    missing = [f for f in ("temperature", "seed") if not hasattr(probe, f)]
    if missing:
        raise FastslowError(
            f"--method {method} cannot sample ({', '.join(missing)} missing): use --samples 1, or a method "
            "that samples (cot, s2a, sc, usc)"
        )
    return [
        make_strategies([method], [*params, f"{method}.temperature={temperature}", f"{method}.seed={i}"])[0]
        for i in range(samples)
    ]


def shuffled(example: Example, run: int) -> Example:
    """The example with its options in the order of run ``run`` (run 0: as given); the answer, an
    option's text, follows its option."""
    if run == 0 or not example.choices:
        return example
    order = list(example.choices)
    random.Random(f"{example.id}-{run}").shuffle(order)
    return dataclasses.replace(example, choices=order)


def check_perturbable(task: Task) -> None:
    """Input perturbation needs multiple-choice questions whose options the prompt lists."""
    if task.kind != "choice" or not all(
        ex.choices and not ex.meta.get("choices_shown") for ex in task.examples
    ):
        raise FastslowError(
            "--filters perturbation needs multiple-choice questions whose options the prompt lists "
            "(a task of kind 'choice' with options not written into the question)"
        )


def run_teacher(
    strategies: list[Strategy], model: Model, examples: list[Example], task: Task, perturb: bool = False
) -> list[TeacherOutputs]:
    """Every strategy on every example (batched across examples), gathered per example. With
    ``perturb``, run ``i`` sees the options in a shuffled order of its own."""
    per_run: list[list[Trace]] = [
        run_batch(s, model, [shuffled(ex, i) if perturb else ex for ex in examples], task)
        for i, s in enumerate(strategies)
    ]
    outputs = []
    for i, ex in enumerate(examples):
        traces = [run[i] for run in per_run]
        answers: list[str | None]
        texts = [t.final_text for t in traces]
        if isinstance(strategies[0], SampledChains):
            answers, texts = list(traces[0].meta["answers"]), list(traces[0].meta["texts"])
        elif len(traces) == 1 and "answers" in traces[0].meta and strategies[0].name in SELF_SAMPLING:
            answers = list(traces[0].meta["answers"])
        else:
            answers = [t.answer for t in traces]
        outputs.append(
            TeacherOutputs(
                example_id=ex.id,
                answers=answers,
                final_texts=texts,
                metas=[t.meta for t in traces],
                calls=sum(t.calls for t in traces),
                completion_tokens=sum(t.completion_tokens for t in traces),
            )
        )
    return outputs


def select_consistent(
    model: Model, examples: list[Example], outputs: list[TeacherOutputs], chunk: int = 128, bar: Any = None
) -> list[tuple[int | None, str | None]]:
    """Universal self-consistency over the teacher's outputs (Chen et al. 2023; Yu et al. 2024 used it
    for S2A over 20 samples): one call per input in which the model picks the most consistent output;
    for each input the index it picked, or None and why its reply names none."""
    from fastslow.models.base import Request
    from fastslow.strategies.universal_self_consistency import (
        SELECT_START,
        parse_selection,
        selection_messages,
    )

    start = SELECT_START if model.supports_prefill else ""
    requests = [
        Request(selection_messages(ex, out.final_texts), max_tokens=32, prefill=start)
        for ex, out in zip(examples, outputs)
    ]
    # In chunks: each is cached as it finishes (a killed run resumes after it) and moves ``bar``.
    replies = []
    for i in range(0, len(requests), chunk):
        replies += model.generate(requests[i : i + chunk])
        if bar is not None:
            bar.update(len(requests[i : i + chunk]))
    return [parse_selection(start + c.texts[0], len(out.final_texts)) for c, out in zip(replies, outputs)]
