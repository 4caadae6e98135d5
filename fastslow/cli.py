"""The `fastslow` command line: one subcommand per workflow.

Every user-facing problem is a FastslowError: printed as one red line, exit code 2, no traceback
(``--debug`` shows it). Long commands show progress and write into their ``--out`` directory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fastslow import __version__
from fastslow.errors import FastslowError
from fastslow.flags import add_flags, arg, from_flags, param_field


# -- the few flags that belong to the command line alone ---------------------------------------------
@dataclass
class Output:
    """Where a long command writes, and whether it shows progress."""

    out: str = field(metadata=arg("run directory (rerun with the same arguments to resume)", metavar="DIR"))
    quiet: bool = field(default=False, metadata=arg("no progress bar"))


@dataclass
class SolveArgs:
    """One question for `fastslow solve`."""

    question: str = field(metadata=arg("the question", positional=True))
    method: str = field(default="cot", metadata=arg("strategy name (see `fastslow methods`)"))
    kind: str = field(default="text", metadata=arg("answer kind", choices=("text", "number", "choice")))
    context: str | None = field(default=None, metadata=arg("context passage shown before the question"))
    answer: str | None = field(
        default=None, metadata=arg("reference answer: say whether the answer is right")
    )
    json: bool = field(default=False, metadata=arg("print the trace as JSON"))
    model: str = field(default="embedded", metadata=arg("model spec (see `fastslow models`)"))
    params: list[str] = param_field("strategy parameter (repeatable)")


@dataclass
class PrimeArgs:
    install: bool = field(
        default=False,
        metadata=arg(
            "make the adapter `embedded-reasoner` (copied under the cache directory, not the package)"
        ),
    )


@dataclass
class GradientsInput:
    data_dir: str | None = field(
        default=None, metadata=arg("a folder written by `fastslow gradients make-data`", metavar="DIR")
    )


@dataclass
class ReportArgs:
    runs: list[str] = field(metadata=arg("run directories", positional=True, nargs="+"))
    out: str | None = field(default=None, metadata=arg("where an overlay of several runs goes"))


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
    from fastslow.models.reasoner import describe_reasoner
    from fastslow.paths import cache_dir

    print(describe_reasoner())

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


def cmd_eval(args: argparse.Namespace) -> None:
    from fastslow.evaluate import EvalConfig, evaluate
    from fastslow.models.options import ModelOptions
    from fastslow.report import HEADERS, parse_error_lines, render, table_rows, text_table

    config, output = from_flags(EvalConfig, args), from_flags(Output, args)
    summary = evaluate(config, output.out, options=from_flags(ModelOptions, args), progress=not output.quiet)
    report = render(output.out)
    run = summary["run"]
    print(f"\n{summary['task']} · {run['model']} · {run['examples']} examples")
    print(text_table(HEADERS, table_rows(summary)))
    if parse_error_lines(summary):
        print("\n" + "\n".join(parse_error_lines(summary)))
    print(
        f"\ngenerations: {run['generations_new']} new, {run['generations_cached']} from the cache; "
        f"traces resumed: {run['traces_resumed']}; {run['wall_seconds']} s"
    )
    print(f"report: {report}")


def cmd_solve(args: argparse.Namespace) -> None:
    from fastslow.models.options import ModelOptions, open_model
    from fastslow.strategies.registry import make_strategies
    from fastslow.tasks.base import Example, Task

    options = from_flags(ModelOptions, args)
    args = from_flags(SolveArgs, args)
    [strategy] = make_strategies([args.method], args.params)
    example = Example(id="solve-0", question=args.question, answer=args.answer, context=args.context)
    task = Task(name="solve", examples=[example], kind=args.kind)
    model = open_model(args.model, options)
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

    config, output = from_flags(PrimeConfig, args), from_flags(Output, args, PRIME_OUTPUT)
    record = prime(config, output.out, install=from_flags(PrimeArgs, args).install, progress=not output.quiet)
    print(
        f"trained {record['steps']} steps on {record['train_examples']} traces; final loss {record['final_loss']}; "
        f"{record['train_seconds']} s of training"
    )
    print(f"adapter: {record['adapter']} ({record['adapter_bytes'] / 1e6:.1f} MB)")
    if record.get("installed"):
        print(f"installed as embedded-reasoner: {record['installed']}")
    else:
        print(f"evaluate it with --model hf:{record['adapter']}, or rerun with --install")


def cmd_distill(args: argparse.Namespace) -> None:
    from fastslow.distill.recipe import DistillConfig, distill
    from fastslow.distill.report import console_table, difference_lines, filter_lines, held_out_line
    from fastslow.models.options import ModelOptions

    config, output = from_flags(DistillConfig, args), from_flags(Output, args)
    summary = distill(config, output.out, options=from_flags(ModelOptions, args), progress=not output.quiet)
    print(f"\n{summary['task']} · System 2 Distillation of {config.method} · held-out test questions")
    print(console_table(summary))
    if summary["rows"] and held_out_line(summary):
        print(held_out_line(summary))
    print("\n".join(["", *difference_lines(summary), *filter_lines(summary)]))
    print(f"\nreport: {Path(output.out) / 'report.md'}; the model: --model hf:{Path(output.out) / 'model'}")


def cmd_tpo(args: argparse.Namespace) -> None:
    from fastslow.models.options import ModelOptions
    from fastslow.tpo.recipe import TPOConfig, tpo
    from fastslow.tpo.report import baseline_line, console_table, iteration_lines

    config, output = from_flags(TPOConfig, args), from_flags(Output, args)
    summary = tpo(config, output.out, options=from_flags(ModelOptions, args), progress=not output.quiet)
    print(f"\n{summary['task']} · TPO, {summary['format']} prompt · held-out prompts, greedy")
    print(console_table(summary))
    print("\n".join(["", *baseline_line(summary), *iteration_lines(summary)]))
    print(f"\nreport: {Path(output.out) / 'report.md'}; the model: --model hf:{Path(output.out) / 'model'}")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from fastslow.models.options import ModelOptions, load_model_with
    from fastslow.serve.app import create_app
    from fastslow.serve.config import ServeConfig

    config = from_flags(ServeConfig, args)
    settings = config.settings()
    options = ModelOptions(
        batch_size=config.batch_size,
        device=config.device,
        dtype=config.dtype,
        api_key=config.upstream_api_key,
    )
    model = load_model_with(config.model, options)  # no generation cache: a client expects fresh samples
    app = create_app(model, settings)
    key = "required" if settings.api_key else "not required"
    print(f"fastslow serve: {settings.served_name} on http://{config.host}:{config.port}/v1 (API key {key})")
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning")


def cmd_gradients_run(args: argparse.Namespace) -> None:
    from fastslow.gradients import GradientsConfig, console_summary, data_from_dir, render, run_gradients

    config = from_flags(GradientsConfig, args)
    data_dir = from_flags(GradientsInput, args).data_dir
    config.data = {**(data_from_dir(data_dir) if data_dir else {}), **config.data}
    if not config.data:
        raise FastslowError(
            "no data: give --data NAME=FILE (repeatable) or --data-dir DIR (from `make-data`)"
        )
    if getattr(args, "out", None) is None:
        raise FastslowError("the following argument is required: --out")
    output = from_flags(Output, args)
    summary = run_gradients(config, output.out, progress=not output.quiet)
    print(console_summary(summary))
    print(f"report: {render(output.out)}")


def cmd_gradients_make_data(args: argparse.Namespace) -> None:
    from fastslow.gradients.data import MakeDataConfig, make_data

    config = from_flags(MakeDataConfig, args)
    files = make_data(**asdict(config))
    for name, path in files.items():
        print(f"{name:<16} {path}")


def _command_of(run: str) -> str | None:
    from fastslow.runs import CONFIG_FILE, read_json

    path = Path(run) / CONFIG_FILE
    return read_json(path).get("command") if path.is_file() else None


def cmd_report(args: argparse.Namespace) -> None:
    from fastslow.distill.report import render as render_distill
    from fastslow.gradients import overlay
    from fastslow.gradients import render as render_gradients
    from fastslow.report import render
    from fastslow.tpo.report import render as render_tpo

    args = from_flags(ReportArgs, args)
    renderers = {"gradients": render_gradients, "distill": render_distill, "tpo": render_tpo}
    commands = [_command_of(r) for r in args.runs]
    for run, command in zip(args.runs, commands):
        print(f"report: {renderers.get(command, render)(run)}")
    if len(args.runs) > 1:
        if any(c != "gradients" for c in commands):
            raise FastslowError(
                "overlaying several runs works for gradients runs; eval runs are rendered one by one"
            )
        print(f"overlay: {overlay(args.runs, args.out)}")


# -- parser ------------------------------------------------------------------------------------------
PRIME_OUTPUT = Output(out="runs/prime")


def _command(
    sub: argparse._SubParsersAction, name: str, help: str, func, *configs
) -> argparse.ArgumentParser:
    """A subcommand whose flags are the fields of ``configs`` (dataclasses, or (class, defaults))."""
    p = sub.add_parser(name, help=help, description=help)
    for config in configs:
        cls, defaults = config if isinstance(config, tuple) else (config, None)
        add_flags(p, cls, defaults)
    p.set_defaults(func=func)
    return p


def build_parser() -> argparse.ArgumentParser:
    from fastslow.distill.recipe import DistillConfig
    from fastslow.evaluate import EvalConfig
    from fastslow.gradients.data import MakeDataConfig
    from fastslow.gradients.run import GradientsConfig
    from fastslow.models.options import ModelOptions
    from fastslow.prime import PrimeConfig
    from fastslow.tpo.recipe import TPOConfig

    parser = argparse.ArgumentParser(prog="fastslow", description="Think slow, then answer fast.")
    parser.add_argument("--version", action="version", version=f"fastslow {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument(
        "--verbose", action="store_true", help="show the libraries' own progress bars and warnings"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _command(sub, "models", "known model specs and where the embedded model lives", cmd_models)
    _command(sub, "tasks", "built-in tasks and data loaders", cmd_tasks)
    _command(sub, "methods", "strategies, their parameters and cost in calls", cmd_methods)
    _command(
        sub,
        "solve",
        "answer one question with a strategy and show the trace",
        cmd_solve,
        SolveArgs,
        ModelOptions,
    )
    _command(
        sub, "eval", "compare strategies on a task; resumable", cmd_eval, EvalConfig, Output, ModelOptions
    )
    _command(
        sub,
        "prime",
        "train the embedded-reasoner LoRA adapter (resumable)",
        cmd_prime,
        PrimeConfig,
        (Output, PRIME_OUTPUT),
        PrimeArgs,
    )
    _command(
        sub,
        "distill",
        "System 2 Distillation: a System-2 teacher's consistent answers, trained into System 1 (resumable)",
        cmd_distill,
        DistillConfig,
        Output,
        ModelOptions,
    )
    _command(
        sub,
        "tpo",
        "Thought Preference Optimization: sample thoughts, judge only the responses, DPO (resumable)",
        cmd_tpo,
        TPOConfig,
        Output,
        ModelOptions,
    )
    from fastslow.serve.config import ServeConfig

    _command(
        sub,
        "serve",
        "an OpenAI-compatible reasoning proxy: any strategy in front of any model",
        cmd_serve,
        ServeConfig,
    )
    # `fastslow gradients --data ...` runs the analysis; `make-data` (and `run`, the same as no
    # sub-command) are sub-commands of it. Its flags are optional here and checked by the command,
    # since `make-data` has an --out of its own.
    g = _command(
        sub,
        "gradients",
        "layer-wise gradient statistics of fast vs slow responses",
        cmd_gradients_run,
        GradientsConfig,
        GradientsInput,
        (Output, Output(out=None)),  # type: ignore[arg-type]
    )
    gsub = g.add_subparsers(dest="gradients_command", required=False, metavar="{run,make-data}")
    _command(
        gsub,
        "run",
        "compute per-layer gradient spectra (the same as `fastslow gradients` with no sub-command)",
        cmd_gradients_run,
        GradientsConfig,
        GradientsInput,
        (Output, Output(out=None)),  # type: ignore[arg-type]
    )
    _command(
        gsub,
        "make-data",
        "write the paper's response types for a built-in task",
        cmd_gradients_make_data,
        MakeDataConfig,
    )
    _command(
        sub,
        "report",
        "(re)render run directories; several gradients runs are overlaid",
        cmd_report,
        ReportArgs,
    )
    return parser


def quiet_libraries() -> None:
    """Hide third-party progress bars and warnings (transformers' GGUF conversion and weight
    loading, datasets' maps, FutureWarnings): fastslow shows one bar of its own per long step."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' bars follow this
    os.environ.setdefault("TQDM_DISABLE", "1")  # bars that libraries start with a bare tqdm(...)
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    warnings.filterwarnings("ignore")


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # offline by design: never fetch from a hub
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    argv = list(sys.argv[1:] if argv is None else argv)
    # Before any library is imported (some read their settings at import time).
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--verbose", action="store_true")
    if not early.parse_known_args(argv)[0].verbose:
        quiet_libraries()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except Exception as exc:
        if args.debug:
            raise
        red, reset = ("\033[31m", "\033[0m") if sys.stderr.isatty() else ("", "")
        if isinstance(exc, FastslowError):
            message = str(exc)
        else:  # a library's error: still one line, and the way to see more
            detail = " ".join(str(exc).split()) or "(no message)"
            message = f"{type(exc).__name__}: {detail} (run with --debug for the traceback)"
        print(f"{red}fastslow: error: {message}{reset}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: what was finished is saved; run the same command again to resume", file=sys.stderr
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
