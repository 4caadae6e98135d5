"""`fastslow tpo`: Thought Preference Optimization (Wu et al. 2024, "Thinking LLMs: General
Instruction Following with Thought Generation").

Each iteration, from the current policy (the seed model first):
  fresh train prompts -> K sampled outputs each with a thought prompt -> split into thought and
  response -> the judges score the responses only -> per prompt, the length-controlled best and
  worst full outputs (thoughts kept) -> DPO -> the next policy; then the held-out prompts are
  answered greedily by the new policy and compared with the seed.

Run layout (``OUT``): ``config.json``; ``heldout-seed-thought.jsonl`` and
``heldout-seed-direct.jsonl`` (the seed with and without the thought prompt); per iteration
``iter-N/samples.jsonl`` (appended per chunk of prompts), ``judged.jsonl``, ``pairs.jsonl``,
``checkpoints/``, ``model/`` (the merged policy), ``heldout.jsonl``; then ``model/`` (the last
policy, loads as ``hf:OUT/model``), ``summary.json``, ``report.md`` and ``tpo.png``. Every stage
resumes: samples and LLM-judge calls come back from the generation cache, training from its last
checkpoint, finished files are read back.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.evaluate import TaskSource, train_and_test
from fastslow.flags import arg, positive
from fastslow.judges.specs import judge_names, load_judge, score_all
from fastslow.models.base import Request
from fastslow.models.identity import model_identity, weights_digest
from fastslow.models.options import ModelOptions, local_folder, open_model
from fastslow.runs import CONFIG_FILE, Run, check_run, open_run, read_json, read_rows
from fastslow.stats import difference_by_id, mean, wilson_interval
from fastslow.tasks.base import Example, Task
from fastslow.tpo.formats import ThoughtFormat, thought_format
from fastslow.tpo.pairs import RHO_GRID, Candidate, best_worst, choose_rho
from fastslow.training.config import TrainConfig

# Tens of pairs an iteration on a CPU. Measured on embedded-reasoner/arithmetic (RESULTS.md): one
# pass at 5e-5, a full fine-tune's DPO rate, left a LoRA where it was (7 steps, 81 of 100 held-out
# answers unchanged); a LoRA wants about ten times a full model's rate, and two passes. Responses
# past 256 tokens are runaways (rejected ones): truncating them halves a step's cost.
# Each iteration trains from the last one's merged policy, so LoRA runs export merged folders.
TPO_TRAINING = TrainConfig(epochs=2, lr=2e-4, batch_size=8, max_length=256, save_steps=10, export="merged")

# Flags a finished run may be resumed with changed: they change no result (--baseline adds rows).
RUNTIME_FIELDS = ("baseline",)

# TRL 1.16's DPO losses (``DPOConfig.loss_type``); several combine with equal weights.
DPO_LOSSES = ("sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot",
              "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm")  # fmt: skip


def _losses(text: str) -> str:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in DPO_LOSSES]
    if not names or unknown:
        raise ValueError(f"{', '.join(unknown) or 'nothing'}: not a DPO loss; one of {', '.join(DPO_LOSSES)}")
    return ",".join(names)


def _rho(text: str) -> str:
    if text == "auto":
        return text
    value = float(text)
    if value < 0:
        raise ValueError(f"must be auto or a number >= 0, got {text}")
    return text


@dataclass
class TPOConfig(TaskSource):
    """Everything that defines a TPO run (written to ``config.json``)."""

    split: str = "train"  # training prompts: the train side; held-out ones: the test side
    seed: int = field(default=1, metadata=arg("task generation seed of the prompts", parse=int))
    model: str = field(default="embedded", metadata=arg("the seed policy (see `fastslow models`)"))
    iterations: int = field(default=2, metadata=arg("TPO iterations", parse=positive))
    prompts: int = field(default=128, metadata=arg("fresh training prompts per iteration", parse=positive))
    samples: int = field(default=8, metadata=arg("outputs sampled per prompt (K)", parse=positive))
    temperature: float = field(default=0.8, metadata=arg("sampling temperature", parse=float))
    top_p: float = field(default=0.95, metadata=arg("sampling top-p", parse=float))
    max_tokens: int = field(default=384, metadata=arg("thought + response tokens", parse=positive))
    thought_prompt: str = field(
        default="generic",
        metadata=arg(
            "generic | specific (the paper's) | answer (ours: the response is the last "
            '"The answer is" sentence) | FILE (a prompt with {query})'
        ),
    )
    response_marker: str | None = field(
        default=None, metadata=arg("with a thought prompt FILE: the text the response follows")
    )
    no_thought: bool = field(
        default=False,
        metadata=arg("the paper's baseline: direct responses, judged, paired and trained alike"),
    )
    judges: list[str] = field(
        default_factory=lambda: ["verifier"],
        metadata=arg(
            "verifier | llm-score:SPEC | llm-pairwise:SPEC | reward-model:PATH (repeatable)",
            flag="--judge",
            repeat=True,
            parse=lambda items: judge_names(items or ["verifier"]),
        ),
    )
    ensemble: str = field(
        default="mean", metadata=arg("how per-prompt judge z-scores combine", choices=("mean", "min"))
    )
    length_penalty: str = field(
        default="auto",
        metadata=arg(
            "rho of s = z(score) - rho z(length), or auto (the smallest that stops chosen "
            "responses being longer)",
            parse=_rho,
        ),
    )
    beta: float = field(default=0.1, metadata=arg("DPO beta", parse=float))
    loss_type: str = field(
        default="sigmoid",
        metadata=arg(
            "DPO loss as TRL names it (sigmoid: the paper's), or several joined by commas: "
            "sigmoid,sft adds the chosen output's NLL (Pang et al. 2024 found DPO needs it on math)",
            parse=_losses,
        ),
    )
    test_limit: int = field(default=100, metadata=arg("held-out prompts evaluated", parse=positive))
    baseline: str | None = field(
        default=None,
        metadata=arg(
            "a finished --no-thought run of the same task and prompts (the paper's direct "
            "baseline): its rows join this run's table and plot"
        ),
    )
    train: TrainConfig = field(
        default_factory=lambda: dataclasses.replace(TPO_TRAINING), metadata=arg("training")
    )


def words(text: str | None) -> int:
    return len(text.split()) if text else 0


# -- one iteration's stages ---------------------------------------------------------------------------
def _in_chunks(
    run: Run,
    name: str,
    examples: list[Example],
    chunk: int,
    progress: bool,
    desc: str,
    rows_for: Any,
) -> list[dict[str, Any]]:
    """The rows of ``examples`` in log ``name``: those missing are made ``chunk`` at a time by
    ``rows_for(batch)`` and appended, so a killed run keeps every finished chunk."""
    done = {r["example_id"]: r for r in run.rows(name)}
    todo = [ex for ex in examples if ex.id not in done]
    bar = run.progress(len(examples), progress, desc=desc)
    bar.update(len(examples) - len(todo))
    try:
        for start in range(0, len(todo), chunk):
            batch = todo[start : start + chunk]
            rows = rows_for(batch)
            run.append(name, rows)
            done.update({r["example_id"]: r for r in rows})
            bar.update(len(batch))
    finally:
        bar.close()
    return [done[ex.id] for ex in examples]


def sample(
    run: Run,
    name: str,
    policy: Any,
    fmt: ThoughtFormat,
    examples: list[Example],
    task: Task,
    config: TPOConfig,
    seed: int,
    progress: bool,
    chunk: int = 16,
) -> list[dict[str, Any]]:
    """K outputs for every prompt (appended per chunk to ``name``), split into thought and response."""

    def rows_for(batch: list[Example]) -> list[dict[str, Any]]:
        requests = [
            Request(
                fmt.messages(ex, task),
                n=config.samples,
                max_tokens=config.max_tokens,
                temperature=config.temperature,
                top_p=config.top_p,
                seed=seed,
            )
            for ex in batch
        ]
        rows = []
        for ex, c in zip(batch, policy.generate(requests)):
            splits = [fmt.split(t) for t in c.texts]
            rows.append(
                {
                    "example_id": ex.id,
                    "outputs": list(c.texts),
                    "thoughts": [t for t, _ in splits],
                    "responses": [r for _, r in splits],
                    "tokens": list(c.sample_tokens or [0] * len(c.texts)),
                }
            )
        return rows

    return _in_chunks(run, name, examples, chunk, progress, "sample", rows_for)


def judge(
    judges: dict[str, Any], task: Task, examples: list[Example], samples: list[dict[str, Any]]
) -> dict[str, list[list[float | None]]]:
    """Every judge's score of every parsed response (None where the split failed): the judges see
    the prompt's question and the responses, never a thought."""
    scores = {}
    for name, j in judges.items():
        parsed = [[r for r in s["responses"] if r is not None] for s in samples]
        judged = score_all(j, task, examples, parsed)
        per_prompt = []
        for s, got in zip(samples, judged):
            it = iter(got)
            per_prompt.append([next(it) if r is not None else None for r in s["responses"]])
        scores[name] = per_prompt
    return scores


def candidates(sample_row: dict[str, Any], scores: dict[str, list[float | None]]) -> list[Candidate]:
    """The K outputs of one prompt as pair candidates: a failed split may only be rejected; a
    response a judge could not score (a malformed judge reply) takes no side (``pairs.py``)."""
    return [
        Candidate(tuple(scores[name][k] for name in scores), words(response), parsed=response is not None)
        for k, response in enumerate(sample_row["responses"])
    ]


def make_pairs(
    fmt: ThoughtFormat,
    task: Task,
    examples: list[Example],
    samples: list[dict[str, Any]],
    scores: dict[str, list[list[float | None]]],
    config: TPOConfig,
) -> tuple[list[dict[str, Any]], float, int]:
    """The DPO rows (prompt with the thought prompt; chosen and rejected full outputs), the ρ used,
    and how many prompts gave no pair."""
    cands = [candidates(s, {n: scores[n][i] for n in scores}) for i, s in enumerate(samples)]
    rho = (
        choose_rho(cands, config.ensemble, RHO_GRID)
        if config.length_penalty == "auto"
        else float(config.length_penalty)
    )
    rows, skipped = [], 0
    for ex, s, c, i in zip(examples, samples, cands, range(len(samples))):
        pair = best_worst(c, rho, config.ensemble) if any(x.parsed for x in c) else None
        if pair is None:
            skipped += 1
            continue
        rows.append(
            {
                "example_id": ex.id,
                "prompt": fmt.messages(ex, task),
                "chosen": [{"role": "assistant", "content": s["outputs"][pair.chosen]}],
                "rejected": [{"role": "assistant", "content": s["outputs"][pair.rejected]}],
                "chosen_index": pair.chosen,
                "rejected_index": pair.rejected,
                "scores": {n: [scores[n][i][pair.chosen], scores[n][i][pair.rejected]] for n in scores},
                "rejected_parsed": c[pair.rejected].parsed,
                "rho": rho,
            }
        )
    return rows, rho, skipped


def heldout(
    run: Run,
    name: str,
    model: Any,
    fmt: ThoughtFormat,
    task: Task,
    examples: list[Example],
    max_tokens: int,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Greedy answers to the held-out prompts, split and scored (appended to ``name`` per batch,
    so a killed run keeps what it had)."""

    def rows_for(batch: list[Example]) -> list[dict[str, Any]]:
        requests = [Request(fmt.messages(ex, task), max_tokens=max_tokens) for ex in batch]
        rows = []
        for ex, c in zip(batch, model.generate(requests)):
            thought, response = fmt.split(c.texts[0])
            answer = task.extract(response, ex) if response is not None else None
            score = None if ex.answer is None else task.score(answer, ex) if answer is not None else 0.0
            rows.append(
                {
                    "example_id": ex.id,
                    "output": c.texts[0],
                    "thought": thought,
                    "response": response,
                    "answer": answer,
                    "score": score,
                    "tokens": c.completion_tokens,
                }
            )
        return rows

    chunk = max(16, getattr(model, "batch_size", None) or 16)
    return _in_chunks(run, name, examples, chunk, progress, f"held-out ({Path(name).stem})", rows_for)


def win_rates(
    judges: dict[str, Any],
    task: Task,
    examples: list[Example],
    policy: list[dict[str, Any]],
    seed: list[dict[str, Any]],
) -> dict[str, float]:
    """Per judge, the share of held-out prompts where the policy's response beats the seed's (a tie
    counts half; a response that did not parse loses to one that did). Pairwise judges compare the
    two in both orders."""
    both = [i for i, (p, s) in enumerate(zip(policy, seed)) if p["response"] and s["response"]]
    rates = {}
    for name, j in judges.items():
        judged = score_all(
            j, task, [examples[i] for i in both], [[policy[i]["response"], seed[i]["response"]] for i in both]
        )
        outcome = {i: 0.5 for i in range(len(examples))}  # neither parsed: a tie
        for i, (p, s) in enumerate(zip(policy, seed)):
            if bool(p["response"]) != bool(s["response"]):
                outcome[i] = 1.0 if p["response"] else 0.0
        for i, (a, b) in zip(both, judged):
            outcome[i] = 0.5 if a is None or b is None or a == b else float(a > b)
        rates[name] = mean(list(outcome.values()))
    return rates


def heldout_row(label: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    scored = [r["score"] for r in rows if r["score"] is not None]
    acc = mean(scored) if scored else None
    lo, hi = wilson_interval(acc * len(scored), len(scored)) if scored else (None, None)
    return {
        "row": label,
        "accuracy": acc,
        "ci95": [lo, hi],
        "n": n,
        "parse_failure": mean([r["response"] is None for r in rows]),
        "thought_words": mean([words(r["thought"]) for r in rows]),
        "response_words": mean([words(r["response"]) for r in rows]),
        "tokens": mean([r["tokens"] for r in rows]),
    }


@dataclass
class Iteration:
    """One TPO iteration's stages, in ``OUT/iter-N``: sample -> judge -> pairs -> DPO -> held-out."""

    run: Run
    folder: str
    number: int
    config: TPOConfig
    fmt: ThoughtFormat
    judges: dict[str, Any]
    train_task: Task
    test_task: Task
    progress: bool

    def file(self, name: str) -> str:
        return f"{self.folder}/{name}"

    def execute(
        self, policy: Any, base: Path, seed_rows: list[dict[str, Any]], options: ModelOptions
    ) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
        """The iteration's stats, its held-out rows, and the trained policy (loaded)."""
        from fastslow.training.dpo import train_dpo

        run, config, it = self.run, self.config, self.number
        run.path(self.folder).mkdir(exist_ok=True)
        prompts = self.train_task.examples[(it - 1) * config.prompts : it * config.prompts]
        samples = sample(
            run, self.file("samples.jsonl"), policy, self.fmt, prompts, self.train_task, config,
            seed=config.seed * 1000 + it, progress=self.progress,
        )  # fmt: skip
        scores = judge(self.judges, self.train_task, prompts, samples)
        run.write_rows(
            self.file("judged.jsonl"),
            [
                {
                    "example_id": ex.id,
                    "responses": s["responses"],
                    "scores": {n: scores[n][i] for n in scores},
                }
                for i, (ex, s) in enumerate(zip(prompts, samples))
            ],
        )
        pairs, rho, skipped = make_pairs(self.fmt, self.train_task, prompts, samples, scores, config)
        run.write_rows(self.file("pairs.jsonl"), pairs)
        held = self.test_task.examples
        if pairs:
            result = train_dpo(
                base, pairs, config.train, run.path(self.folder), beta=config.beta,
                loss_type=tuple(config.loss_type.split(",")), export_to="model", seed=config.seed + it, progress=self.progress,
            )  # fmt: skip
            training = {"steps": result.steps, "final_loss": result.final_loss, "seconds": result.seconds}
            policy = open_model(f"hf:{run.path(self.file('model'))}", options)
        else:  # every prompt's outputs tied or failed to parse: nothing to learn, the policy stays
            training = None
            print(
                f"iteration {it}: no preference pair (every prompt's outputs tied or none parsed); "
                "the policy is unchanged (more --samples or a higher --temperature give the judges "
                "something to tell apart)"
            )
        rows = heldout(
            run,
            self.file("heldout.jsonl"),
            policy,
            self.fmt,
            self.test_task,
            held,
            config.max_tokens,
            self.progress,
        )
        outputs = [r for s in samples for r in s["responses"]]
        stats = {
            "iteration": it,
            "prompts": len(prompts),
            "pairs": len(pairs),
            "skipped_prompts": skipped,
            "rho": rho,
            "train_parse_failure": mean([r is None for r in outputs]),
            "train_mean_score": {
                n: (lambda vs: mean(vs) if vs else None)(
                    [v for per in scores[n] for v in per if v is not None]
                )
                for n in scores
            },
            # The share of parsed responses each judge could score (an LLM judge that cannot
            # follow its rubric shows here, and sits out: pairs.py).
            "judged_share": {
                n: mean(
                    [
                        v is not None
                        for row, per in zip(samples, scores[n])
                        for v, r in zip(per, row["responses"])
                        if r is not None
                    ]
                )
                if any(r is not None for r in outputs)
                else None
                for n in scores
            },
            "train_thought_words": mean([words(t) for s in samples for t in s["thoughts"]]),
            "train_response_words": mean([words(r) for r in outputs]),
            "win_rate_vs_seed": win_rates(self.judges, self.test_task, held, rows, seed_rows),
            "training": training,
        }
        run.write_json(self.file("stats.json"), stats)  # last: its presence marks the iteration done
        return stats, rows, policy


# -- the loop -----------------------------------------------------------------------------------------
def load_prompts(config: TPOConfig) -> tuple[Task, Task]:
    """The training prompts of every iteration (train side) and the held-out ones (test side)."""
    if config.limit is not None:
        raise FastslowError("fastslow tpo takes --prompts (per iteration) and --test-limit, not --limit")
    need = config.iterations * config.prompts
    train, test = train_and_test(config, need, config.test_limit)
    if len(train.examples) < need:
        raise FastslowError(
            f"{config.iterations} iterations x {config.prompts} prompts need {need} training prompts; "
            f"the train side has {len(train.examples)}: lower --prompts or --iterations"
        )
    return train, test


def baseline_rows(config: TPOConfig, task: Task) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The iteration rows of the ``--baseline`` run, checked to be a finished direct run of the
    same task, prompts and held-out questions, and its last policy's held-out answers."""
    folder = Path(config.baseline)
    path = folder / "summary.json"
    if not path.is_file():
        raise FastslowError(f"--baseline {folder}: no summary.json there (not a finished tpo run)")
    summary, saved = read_json(path), read_json(folder / CONFIG_FILE)
    if saved.get("command") != "tpo" or summary.get("format") != "direct":
        raise FastslowError(f"--baseline {folder}: not a `fastslow tpo --no-thought` run")
    theirs = saved["tpo"]
    same = ("task", "task_file", "data", "dataset", "knobs", "seed", "prompts", "test_limit", "model")
    differ = [k for k in same if theirs.get(k) != getattr(config, k, None)]
    if differ or summary.get("task") != task.name:
        raise FastslowError(
            f"--baseline {folder}: a run on other prompts (differs in: {', '.join(differ) or 'task'})"
        )
    rows = [
        {**r, "row": f"direct baseline, {r['row']}", "baseline": True}
        for r in summary["rows"]
        if r["iteration"]
    ]
    last = max((r["iteration"] for r in rows), default=0)
    final = read_rows(folder / f"iter-{last}" / "heldout.jsonl") if last else []
    return rows, final


def tpo(
    config: TPOConfig,
    out: str | Path,
    options: ModelOptions | None = None,
    progress: bool = True,
    seed_model: Any = None,
) -> dict[str, Any]:
    """Run (or resume) TPO into ``out``; return the summary (also ``summary.json``).

    ``seed_model`` replaces the seed's spec for sampling and the seed rows (tests pass a scripted
    one); training still starts from the spec's folder.
    """
    options = options or ModelOptions()
    if config.train.export != "merged":
        raise FastslowError(
            "fastslow tpo trains each iteration from the merged policy before it: --export merged"
        )
    fmt = thought_format(config.thought_prompt, config.response_marker, config.no_thought)
    train_task, test_task = load_prompts(config)
    if "verifier" in config.judges and any(
        ex.answer is None for ex in [*train_task.examples, *test_task.examples]
    ):
        raise FastslowError("--judge verifier needs reference answers; these prompts have none")
    seed_dir = local_folder(config.model, options, role="seed policy")
    extra = {"seed_weights": weights_digest(seed_dir), "thought_prompt_text": fmt.template}
    check_run(out, "tpo", config, extra=extra, runtime_fields=RUNTIME_FIELDS)
    baseline, baseline_final = baseline_rows(config, train_task) if config.baseline else ([], [])
    judges = {name: load_judge(name, options) for name in config.judges}
    seed_model = seed_model or open_model(config.model, options)
    run = open_run(
        out, "tpo", config, model_id=model_identity(seed_model), extra=extra, runtime_fields=RUNTIME_FIELDS
    )
    t0 = time.perf_counter()
    held = test_task.examples

    # The seed, with and without the thought prompt (the paper's rows before training).
    thought_fmt = thought_format(config.thought_prompt, config.response_marker, False)
    seed_thought = heldout(
        run,
        "heldout-seed-thought.jsonl",
        seed_model,
        thought_fmt,
        test_task,
        held,
        config.max_tokens,
        progress,
    )
    seed_direct = heldout(
        run,
        "heldout-seed-direct.jsonl",
        seed_model,
        ThoughtFormat("direct"),
        test_task,
        held,
        config.max_tokens,
        progress,
    )
    seed_rows = seed_direct if config.no_thought else seed_thought
    table = [
        {**heldout_row("seed, thought prompt", seed_thought), "iteration": 0},
        {**heldout_row("seed, direct", seed_direct), "iteration": 0},
    ]
    policy: Any = seed_model
    base = seed_dir
    iterations = []
    for it in range(1, config.iterations + 1):
        folder = f"iter-{it}"
        if run.path(f"{folder}/stats.json").is_file():  # a finished iteration is read back
            stats = read_json(run.path(f"{folder}/stats.json"))
            rows, policy = run.rows(f"{folder}/heldout.jsonl"), None
        else:
            policy = policy or open_model(f"hf:{base}", options)
            step = Iteration(run, folder, it, config, fmt, judges, train_task, test_task, progress)
            stats, rows, policy = step.execute(policy, base, seed_rows, options)
        if stats["training"] is not None:  # an iteration without pairs left the policy as it was
            base = run.path(f"{folder}/model")
        iterations.append(stats)
        table.append(
            {
                **heldout_row(f"iteration {it}", rows),
                "iteration": it,
                "vs_seed": difference_by_id(rows, seed_rows),
            }
        )

    final = run.path("model")
    if final.exists():
        shutil.rmtree(final)
    shutil.copytree(base, final)
    summary = {
        "task": train_task.name,
        "format": fmt.name,
        "judges": list(config.judges),
        "rows": [*table, *baseline],
        # The last policy against the direct baseline's last one, on the same held-out prompts.
        "vs_baseline": difference_by_id(rows, baseline_final) if baseline_final and iterations else None,
        "iterations": iterations,
        "wall_seconds": round(time.perf_counter() - t0, 1),
    }
    run.write_json("summary.json", summary)
    from fastslow.tpo.report import render

    render(run.out)
    return summary


__all__ = ["TPOConfig", "tpo", "make_pairs", "candidates", "win_rates"]
