"""The `fastslow` command line: one subcommand per workflow.

Every user-facing problem is a FastslowError: printed as one red line, exit code 2, no traceback
(``--debug`` shows it). Long commands show progress and write into their ``--out`` directory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from fastslow import __version__
from fastslow.errors import FastslowError


def _kv(items: list[str] | None, flag: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise FastslowError(f"{flag} {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def _shares(items: list[str] | None) -> dict[str, float]:
    """The recipe's family shares with ``--share FAMILY=WEIGHT`` overrides (relative weights);
    `prime` checks the families and weights."""
    from fastslow.prime import SHARES

    shares = dict(SHARES)
    for family, value in _kv(items, "--share").items():
        try:
            shares[family] = float(value)
        except ValueError:
            raise FastslowError(f"--share {family}={value}: expected a number") from None
    return shares


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


# -- subcommands -----------------------------------------------------------------------------------
def cmd_models(args: argparse.Namespace) -> None:
    from fastslow.models.registry import SPECS

    for spec, desc in SPECS:
        print(f"{spec:<20} {desc}")
    try:
        from fastslow.models.embedded import embedded_gguf_path

        print(f"\nembedded model file: {embedded_gguf_path()}")
    except FastslowError as exc:
        print(f"\nembedded model: {exc}")
    from fastslow.paths import cache_dir

    print(f"converted models and the generation cache live under: {cache_dir()}")


def cmd_tasks(args: argparse.Namespace) -> None:
    from fastslow.tasks.registry import list_tasks

    for t in list_tasks():
        knobs = ", ".join(f"{k}={v}" for k, v in t.get("knobs", {}).items())
        print(f"{t['name']:<22} {t['kind']:<7} {t['description']}" + (f"  [--knob {knobs}]" if knobs else ""))
    print(
        "\nfrom files: --task-file task.json (BIG-bench), --data file.jsonl, "
        "--dataset DIR --question-field Q --answer-field A (datasets.load_from_disk)"
    )


def cmd_methods(args: argparse.Namespace) -> None:
    from fastslow.strategies.registry import list_methods

    for m in list_methods():
        print(f"{m['name']:<8} calls/example: {m['cost']}")
        print(f"         {m['summary']}")
        print(f"         {m['citation']}")
        if m["params"]:
            print("         params: " + ", ".join(f"{k}={v!r}" for k, v in m["params"].items()))
    print("\nset parameters with --param KEY=VALUE (all chosen methods) or --param METHOD.KEY=VALUE")


def _eval_config(args: argparse.Namespace, methods: list[str]):
    from fastslow.evaluate import EvalConfig

    return EvalConfig(
        methods=methods,
        model=args.model,
        task=args.task,
        task_file=args.task_file,
        data=args.data,
        dataset=args.dataset,
        question_field=args.question_field,
        answer_field=args.answer_field,
        knobs=_kv(args.knob, "--knob"),
        params=list(args.param or []),
        limit=args.limit,
        seed=args.seed,
        split=args.split,
    )


def cmd_eval(args: argparse.Namespace) -> None:
    from fastslow.evaluate import evaluate
    from fastslow.report import HEADERS, render, table_rows, text_table

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if not methods:
        raise FastslowError("--methods is empty: name at least one method (see `fastslow methods`)")
    config = _eval_config(args, methods)
    config.chunk = args.chunk
    summary = evaluate(
        config, args.out, cache=args.cache, batch_size=args.batch_size, progress=not args.quiet
    )
    report = render(args.out)
    run = summary["run"]
    print(f"\n{summary['task']} · {run['model']} · {run['examples']} examples")
    print(text_table(HEADERS, table_rows(summary)))
    print(
        f"\ngenerations: {run['generations_new']} new, {run['generations_cached']} from the cache; "
        f"traces resumed: {run['traces_resumed']}; {run['wall_seconds']} s"
    )
    print(f"report: {report}")


def cmd_solve(args: argparse.Namespace) -> None:
    from fastslow.evaluate import open_model
    from fastslow.strategies.registry import make_strategies
    from fastslow.tasks.base import Example, Task

    [strategy] = make_strategies([args.method], list(args.param or []))
    example = Example(id="solve-0", question=args.question, answer=args.answer, context=args.context)
    task = Task(name="solve", examples=[example], kind=args.kind)
    model = open_model(args.model, args.cache, args.batch_size)
    trace = strategy.run(model, example, task)
    if args.json:
        print(json.dumps(trace.to_dict(), indent=2, ensure_ascii=False))
        return
    for i, step in enumerate(trace.steps, 1):
        print(f"── step {i}: {step.name} " + "─" * 40)
        for j, text in enumerate(step.outputs):
            label = f"[sample {j + 1}] " if len(step.outputs) > 1 else ""
            print(f"{label}{step.prefill}{text}".strip())
    print("─" * 60)
    print(f"answer: {trace.answer}")
    if args.answer is not None:
        print(f"correct: {bool(task.score(trace.answer, example))}")
    for key, value in trace.meta.items():
        if key != "answers":
            print(f"{key}: {value}")
    print(
        f"cost: {trace.calls} calls, {trace.prompt_tokens} prompt + {trace.completion_tokens} completion tokens, "
        f"{trace.seconds:.2f} s ({trace.cached} from the cache)"
    )


def cmd_prime(args: argparse.Namespace) -> None:
    from fastslow.prime import PrimeConfig, prime

    config = PrimeConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        examples=args.examples,
        seed=args.seed,
        shares=_shares(args.share),
        commute=args.commute,
    )
    record = prime(config, args.out, install=args.install, progress=not args.quiet)
    print(
        f"trained {record['steps']} steps on {record['train_examples']} traces; final loss {record['final_loss']}; "
        f"{record['train_seconds_this_run']} s this run"
    )
    print(f"adapter: {record['adapter']} ({record['adapter_bytes'] / 1e6:.1f} MB)")
    if record.get("installed"):
        print(f"installed as embedded-reasoner: {record['installed']}")
    else:
        print(f"evaluate it with --model hf:{record['adapter']}, or rerun with --install")


def cmd_gradients_run(args: argparse.Namespace) -> None:
    from fastslow.gradients import GradientsConfig, console_summary, data_from_dir, render, run_gradients

    data = {**(data_from_dir(args.data_dir) if args.data_dir else {}), **_kv(args.data, "--data")}
    if not data:
        raise FastslowError(
            "no data: give --data NAME=FILE (repeatable) or --data-dir DIR (from `make-data`)"
        )
    config = GradientsConfig(
        data=data,
        model=args.model,
        modules=args.modules,
        max_length=args.max_length,
        exact_svd=args.exact_svd,
        limit=args.limit,
        prompt_format=args.prompt_format,
    )
    summary = run_gradients(config, args.out, progress=not args.quiet)
    print(console_summary(summary))
    print(f"report: {render(args.out)}")


def cmd_gradients_make_data(args: argparse.Namespace) -> None:
    from fastslow.gradients import make_data

    files = make_data(
        args.task, args.out, n=args.limit, seed=args.seed, knobs=_kv(args.knob, "--knob"), split=args.split
    )
    for name, path in files.items():
        print(f"{name:<16} {path}")


def cmd_report(args: argparse.Namespace) -> None:
    from fastslow.gradients import is_gradients_run, overlay
    from fastslow.gradients import render as render_gradients
    from fastslow.report import render

    kinds = [is_gradients_run(r) for r in args.runs]
    for run, is_grad in zip(args.runs, kinds):
        print(f"report: {render_gradients(run) if is_grad else render(run)}")
    if len(args.runs) > 1:
        if not all(kinds):
            raise FastslowError(
                "overlaying several runs works for gradients runs; eval runs are rendered one by one"
            )
        print(f"overlay: {overlay(args.runs, args.out)}")


# -- parser ------------------------------------------------------------------------------------------
def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model", default="embedded", help="model spec (see `fastslow models`; default: embedded)"
    )
    p.add_argument(
        "--cache", default=None, help="SQLite generation cache (default: ~/.cache/fastslow/cache.sqlite)"
    )
    p.add_argument(
        "--param", action="append", metavar="[METHOD.]KEY=VALUE", help="strategy parameter (repeatable)"
    )
    p.add_argument(
        "--batch-size",
        type=_positive,
        default=None,
        help="rows a transformers model decodes at once (default: 128 for the embedded models, 32 for "
        "others; lower it if a large model runs out of memory)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fastslow", description="Think slow, then answer fast.")
    parser.add_argument("--version", action="version", version=f"fastslow {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("models", help="known model specs and where the embedded model lives")
    p.set_defaults(func=cmd_models)
    p = sub.add_parser("tasks", help="built-in tasks and data loaders")
    p.set_defaults(func=cmd_tasks)
    p = sub.add_parser("methods", help="strategies, their parameters and cost in calls")
    p.set_defaults(func=cmd_methods)

    p = sub.add_parser("solve", help="answer one question with a strategy and show the trace")
    p.add_argument("question")
    p.add_argument("--method", default="cot", help="strategy name (default: cot)")
    p.add_argument("--kind", default="text", choices=["text", "number", "choice"], help="answer kind")
    p.add_argument("--context", default=None, help="context passage shown before the question")
    p.add_argument("--answer", default=None, help="reference answer: say whether the answer is right")
    p.add_argument("--json", action="store_true", help="print the trace as JSON")
    _add_model_args(p)
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("eval", help="compare strategies on a task; resumable")
    src = p.add_argument_group("task source (exactly one)")
    src.add_argument("--task", help="built-in task name (see `fastslow tasks`)")
    src.add_argument("--task-file", help="BIG-bench task.json")
    src.add_argument("--data", help="JSONL file with question/answer fields")
    src.add_argument("--dataset", help="datasets.save_to_disk folder")
    p.add_argument("--question-field", default="question")
    p.add_argument("--answer-field", default="answer")
    p.add_argument("--knob", action="append", metavar="KEY=VALUE", help="task generator knob, e.g. words=4")
    p.add_argument(
        "--methods", default="direct,cot,sc", help="comma-separated strategies (default: direct,cot,sc)"
    )
    p.add_argument("--limit", type=_positive, default=None, help="number of examples")
    p.add_argument("--seed", type=int, default=0, help="task generation seed")
    p.add_argument(
        "--split",
        default="test",
        help="a built-in task's split: test (default) or train, to tune settings on questions the "
        "test split never holds; for --dataset, the split to read",
    )
    p.add_argument("--out", required=True, help="run directory (rerun with the same arguments to resume)")
    p.add_argument("--chunk", type=_positive, default=16, help="examples per batched step (default: 16)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_model_args(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("prime", help="train the embedded-reasoner LoRA adapter (resumable)")
    p.add_argument("--out", default="runs/prime", help="run directory (default: runs/prime)")
    from fastslow.prime import PrimeConfig  # light: the recipe's defaults, no torch

    recipe = PrimeConfig()
    p.add_argument(
        "--steps", type=_positive, default=recipe.steps, help=f"optimizer steps (default: {recipe.steps})"
    )
    p.add_argument("--batch-size", type=_positive, default=recipe.batch_size)
    p.add_argument(
        "--lr",
        type=float,
        default=recipe.learning_rate,
        help=f"learning rate (default: {recipe.learning_rate:g})",
    )
    p.add_argument(
        "--examples",
        type=_positive,
        default=recipe.examples,
        help=f"training traces to generate (default: {recipe.examples})",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--commute",
        action="store_true",
        help="write each sum and product of the arithmetic traces in a random operand order (seeded)",
    )
    p.add_argument(
        "--share",
        action="append",
        metavar="FAMILY=WEIGHT",
        help="a family's share of the traces, relative to the others (default: "
        + ", ".join(f"{f}={w:g}" for f, w in recipe.shares.items())
        + ")",
    )
    p.add_argument(
        "--install", action="store_true", help="copy the adapter into the package as embedded-reasoner"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_prime)

    p = sub.add_parser("gradients", help="layer-wise gradient statistics of fast vs slow responses")
    gsub = p.add_subparsers(dest="gradients_command", required=True, metavar="{run,make-data}")
    g = gsub.add_parser(
        "run", help="compute per-layer gradient spectra (the default: `fastslow gradients --data ...`)"
    )
    g.add_argument(
        "--data", action="append", metavar="NAME=FILE", help="JSONL of prompt/response (repeatable)"
    )
    g.add_argument("--data-dir", help="a folder written by `fastslow gradients make-data`")
    g.add_argument("--out", required=True, help="run directory (rerun with the same arguments to resume)")
    g.add_argument("--model", default="embedded", help="model spec (default: embedded)")
    g.add_argument("--modules", default="all", choices=["all", "attn", "mlp"])
    g.add_argument("--max-length", type=_positive, default=1024, help="skip (and report) longer examples")
    g.add_argument("--exact-svd", action="store_true", help="the paper's way: full gradient, full SVD (slow)")
    g.add_argument("--limit", type=_positive, default=None, help="examples per response type")
    g.add_argument("--prompt-format", default="auto", choices=["auto", "chat", "plain"])
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=cmd_gradients_run)
    g = gsub.add_parser("make-data", help="write the paper's response types for a built-in task")
    g.add_argument("--task", required=True, help="built-in task (see `fastslow tasks`)")
    g.add_argument("--knob", action="append", metavar="KEY=VALUE")
    g.add_argument("--limit", type=_positive, default=100, help="questions (default: 100)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--split", default="train", choices=["train", "test"])
    g.add_argument("--out", required=True)
    g.set_defaults(func=cmd_gradients_make_data)

    p = sub.add_parser("report", help="(re)render run directories; several gradients runs are overlaid")
    p.add_argument("runs", nargs="+")
    p.add_argument("--out", default=None, help="where an overlay of several runs goes")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # offline by design: never fetch from a hub
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # `fastslow gradients --data ...` (no sub-subcommand) means `fastslow gradients run --data ...`.
    if "gradients" in argv:
        i = argv.index("gradients")
        if i + 1 >= len(argv) or argv[i + 1] not in {"run", "make-data", "-h", "--help"}:
            argv.insert(i + 1, "run")
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except FastslowError as exc:
        if args.debug:
            raise
        red, reset = ("\033[31m", "\033[0m") if sys.stderr.isatty() else ("", "")
        print(f"{red}fastslow: error: {exc}{reset}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: what was finished is saved; run the same command again to resume", file=sys.stderr
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
