"""The command line declared once: every flag's help comes from its config field; run directories
refuse another model's weights; a base model without a chat template answers; nothing is a traceback."""

import dataclasses
import shutil

import pytest

from tests.gradients.conftest import build_tokenizer, corpus, save_tiny_llama
from tests.test_cli import assert_clean_error, fastslow


def _field_helps(*classes):
    helps = []
    for cls in classes:
        for f in dataclasses.fields(cls):
            spec = f.metadata.get("cli")
            if spec is None:
                continue
            nested = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
            if dataclasses.is_dataclass(nested):
                helps += _field_helps(type(nested))
            else:
                helps.append(spec["help"])
    return helps


def test_every_command_shows_the_help_of_its_config_fields():
    from fastslow.cli import GradientsInput, Output, PrimeArgs, ReportArgs, SolveArgs
    from fastslow.evaluate import EvalConfig
    from fastslow.gradients.data import MakeDataConfig
    from fastslow.gradients.run import GradientsConfig
    from fastslow.models.options import ModelOptions
    from fastslow.prime import PrimeConfig

    commands = {
        ("solve",): (SolveArgs, ModelOptions),
        ("eval",): (EvalConfig, Output, ModelOptions),
        ("prime",): (PrimeConfig, Output, PrimeArgs),
        ("gradients",): (GradientsConfig, GradientsInput, Output),
        ("gradients", "run"): (GradientsConfig, GradientsInput, Output),
        ("gradients", "make-data"): (MakeDataConfig,),
        ("report",): (ReportArgs,),
    }
    for command, classes in commands.items():
        proc = fastslow(*command, "--help")
        assert proc.returncode == 0, proc.stderr
        text = " ".join(proc.stdout.split())  # argparse wraps lines
        for help_text in _field_helps(*classes):
            assert " ".join(help_text.split()) in text, (command, help_text)
    for command in ("models", "tasks", "methods"):
        assert fastslow(command, "--help").returncode == 0


def test_a_run_directory_named_gradients_and_a_question_saying_gradients_are_plain_arguments(tmp_path):
    proc = fastslow(
        "eval", "--task", "last_letters", "--methods", "direct", "--limit", "1", "--out", "gradients",
        "--quiet", "--cache", str(tmp_path / "c.sqlite"), cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "gradients" / "traces.jsonl").is_file() and "direct" in proc.stdout
    proc = fastslow(
        "solve", "gradients", "--method", "direct", "--cache", str(tmp_path / "c.sqlite"), timeout=300
    )
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny_llama(tmp_path_factory.mktemp("tiny"), build_tokenizer(corpus()))


def test_resuming_with_the_same_spec_but_other_weights_is_refused_in_one_line(tmp_path, tiny_dir):
    model = tmp_path / "model"
    shutil.copytree(tiny_dir, model)
    args = ["eval", "--task", "coin_flip", "--methods", "direct", "--limit", "2", "--model", f"hf:{model}",
            "--out", str(tmp_path / "run"), "--quiet", "--cache", str(tmp_path / "c.sqlite")]  # fmt: skip
    first = fastslow(*args)
    assert first.returncode == 0, first.stderr
    assert fastslow(*args).returncode == 0  # the same weights: resumes
    tokenizer = build_tokenizer(corpus())
    save_tiny_llama(model, tokenizer, seed=1)  # trained again in place: other weights, same spec
    err = assert_clean_error(fastslow(*args), "holds a run with other settings", "differs in: model (weights")
    assert len(err.splitlines()) == 1


def test_a_base_model_without_a_chat_template_answers_in_the_plain_format(tmp_path):
    base = save_tiny_llama(tmp_path / "base", build_tokenizer(corpus(), chat_template=None))
    proc = fastslow("solve", "What is 2 + 3?", "--method", "direct", "--model", f"hf:{base}",
                    "--cache", str(tmp_path / "c.sqlite"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "cost: 1 calls" in proc.stdout


def test_the_plain_format_shows_each_turn_and_opens_the_assistant_turn_with_the_prefill(tmp_path):
    from fastslow.models.base import Request
    from fastslow.models.hf import HFModel

    base = save_tiny_llama(tmp_path / "base", build_tokenizer(corpus(), chat_template=None))
    model = HFModel(base)
    assert model.plain
    request = Request(
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 + 3?"}],
        prefill="The answer is",
        max_tokens=4,
    )
    bos = model.tokenizer.bos_token
    assert (
        model.format_prompt(request) == f"{bos}Be brief.\n\nUser: What is 2 + 3?\n\nAssistant: The answer is"
    )
    [completion] = model.generate([request])
    assert "\nUser:" not in completion.texts[0]


def test_a_library_error_is_one_line_without_a_traceback(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "no-such-architecture"}')
    err = assert_clean_error(fastslow("solve", "hi", "--model", f"hf:{broken}"), "--debug")
    assert len(err.splitlines()) == 1


def test_installing_an_adapter_writes_under_the_cache_never_into_the_package(tmp_path, monkeypatch):
    from fastslow.models import reasoner

    monkeypatch.setenv("FASTSLOW_CACHE", str(tmp_path / "cache"))
    shipped = sorted(p.name for p in reasoner.SHIPPED_ADAPTER.iterdir())
    assert reasoner.reasoner_adapter() == (reasoner.SHIPPED_ADAPTER, "shipped")
    adapter = tmp_path / "adapter"
    shutil.copytree(reasoner.SHIPPED_ADAPTER, adapter)
    target = reasoner.install_adapter(adapter)
    assert target == tmp_path / "cache" / "reasoner"
    assert reasoner.reasoner_adapter() == (target, "installed")
    assert "installed" in reasoner.describe_reasoner()
    reasoner.install_adapter(adapter)  # again, over the first: still one complete copy
    assert sorted(p.name for p in target.iterdir()) == shipped
    assert sorted(p.name for p in reasoner.SHIPPED_ADAPTER.iterdir()) == shipped
