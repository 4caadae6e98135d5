"""train_sft on a tiny random Llama: LoRA and full, export, an interrupted run that resumes."""

import json
import time
from dataclasses import replace

import pytest

from fastslow.training import TrainConfig, train_sft
from fastslow.training.loop import last_checkpoint, seconds_at
from tests.gradients.conftest import save_tiny_llama

ROWS = [
    {
        "prompt": [{"role": "user", "content": f"What is {a} + {b}?"}],
        "completion": [{"role": "assistant", "content": f"The answer is {a + b}."}],
    }
    for a in range(2, 6)
    for b in range(2, 6)
]
CONFIG = TrainConfig(max_steps=4, batch_size=4, lr=1e-2, save_steps=2, max_length=64)


@pytest.fixture(scope="module")
def base(tmp_path_factory, tiny_tokenizer):
    return save_tiny_llama(tmp_path_factory.mktemp("base"), tiny_tokenizer)


class StopAt:
    """A TrainerCallback that stops training after ``step``: an interruption, as Ctrl-C would be."""

    def __init__(self, step):
        from transformers import TrainerCallback

        outer = self

        class _Stop(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step >= outer.step:
                    control.should_save = True
                    control.should_training_stop = True
                return control

        self.step = step
        self.callback = _Stop()


def _weights(folder):
    from safetensors.torch import load_file

    return load_file(folder / "adapter_model.safetensors")


def test_lora_trains_exports_a_float16_adapter_that_loads_as_a_model(base, tmp_path):
    import torch

    from fastslow.models.registry import load_model

    result = train_sft(base, ROWS, CONFIG, tmp_path, progress=False)
    assert result.steps == 4 and result.path == tmp_path / "model"
    assert result.final_loss is not None and result.loss_history
    weights = _weights(result.path)
    assert weights and all(w.dtype == torch.float16 for w in weights.values())
    cfg = json.loads((result.path / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == str(base.resolve())
    model = load_model(f"hf:{result.path}")  # merged into its base once, then a plain model
    assert model.name.startswith("adapter:")


def test_an_interrupted_run_resumes_from_its_last_checkpoint_and_ends_like_an_uninterrupted_one(
    base, tmp_path
):
    import torch

    whole = train_sft(base, ROWS, CONFIG, tmp_path / "whole", progress=False)
    stop = StopAt(2)
    cut = train_sft(base, ROWS, CONFIG, tmp_path / "cut", progress=False, callbacks=[stop.callback])
    assert cut.steps == 2 and last_checkpoint(tmp_path / "cut" / "checkpoints").endswith("checkpoint-2")
    resumed = train_sft(base, ROWS, CONFIG, tmp_path / "cut", progress=False)
    assert resumed.resumed_from.endswith("checkpoint-2") and resumed.steps == 4
    a, b = _weights(whole.path), _weights(resumed.path)
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-3) for k in a)
    # Finished and exported: a third call trains nothing more and exports the same adapter.
    again = train_sft(base, ROWS, CONFIG, tmp_path / "cut", progress=False)
    assert again.steps == 4 and again.resumed_from.endswith("checkpoint-4")
    c = _weights(again.path)
    assert all(torch.equal(b[k], c[k]) for k in b)


def test_full_fine_tuning_and_a_merged_lora_export_are_plain_model_folders(base, tmp_path):
    from fastslow.models.registry import load_model

    full = train_sft(
        base, ROWS, replace(CONFIG, finetune="full", max_steps=2), tmp_path / "full", progress=False
    )
    merged = train_sft(
        base, ROWS, replace(CONFIG, export="merged", max_steps=2), tmp_path / "merged", progress=False
    )
    for result in (full, merged):
        assert (result.path / "config.json").is_file() and not (result.path / "adapter_config.json").exists()
        assert load_model(f"hf:{result.path}").name.startswith("hf:")


PREFS = [
    {
        "prompt": [{"role": "user", "content": f"What is {a} + {b}?"}],
        "chosen": [{"role": "assistant", "content": f"The answer is {a + b}."}],
        "rejected": [{"role": "assistant", "content": f"The answer is {a + b + 1}."}],
    }
    for a in range(2, 6)
    for b in range(2, 6)
]


@pytest.mark.parametrize("trainer", ["sft", "dpo"])
def test_a_run_resumed_in_a_later_epoch_sees_the_batches_the_uninterrupted_run_saw(base, tmp_path, trainer):
    """Three epochs of four steps, stopped in the middle of the second: the resumed run's losses,
    step for step, and its weights are the uninterrupted run's (an epoch's batches are ordered by
    the seed and the epoch alone, not by what the interrupted process had drawn before it). SFT
    groups batches by length (``training/order.py``); DPO samples at random (accelerate's sampler)."""
    import torch

    from fastslow.training import train_dpo

    config = replace(CONFIG, max_steps=12, save_steps=2)

    def train(out, **kw):
        if trainer == "sft":
            return train_sft(base, ROWS, config, out, progress=False, **kw)
        return train_dpo(base, PREFS, config, out, progress=False, **kw)

    whole = train(tmp_path / "whole")
    train(tmp_path / "cut", callbacks=[StopAt(6).callback])
    first = seconds_at(str(tmp_path / "cut" / "checkpoints" / "checkpoint-6"))
    t0 = time.perf_counter()
    resumed = train(tmp_path / "cut")
    assert resumed.resumed_from.endswith("checkpoint-6") and resumed.steps == 12
    # The time reported is every step's, the killed process's six included, not the last share.
    assert 0 < first < resumed.seconds <= first + time.perf_counter() - t0
    again = train(tmp_path / "cut")  # finished: exports with no step more, the time still all steps'
    assert first < again.seconds <= resumed.seconds
    tail = [loss for step, loss in whole.loss_history if step > 6]
    assert len(tail) == 3
    assert [loss for step, loss in resumed.loss_history if step > 6] == pytest.approx(tail, rel=1e-4)
    a, b = _weights(whole.path), _weights(resumed.path)
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-3) for k in a)


@pytest.mark.parametrize("finetune", ["lora", "full"])
def test_dpo_trains_from_preference_rows_exports_and_resumes(base, tmp_path, finetune):
    from fastslow.models.registry import load_model
    from fastslow.training import train_dpo

    config = replace(CONFIG, finetune=finetune, max_steps=2, save_steps=1)
    result = train_dpo(base, PREFS, config, tmp_path, beta=0.1, progress=False)
    assert result.steps == 2 and result.final_loss is not None
    assert load_model(f"hf:{result.path}") is not None  # an adapter (LoRA) or a model folder (full)
    again = train_dpo(base, PREFS, config, tmp_path, beta=0.1, progress=False)  # finished: no step more
    assert again.steps == 2 and again.resumed_from.endswith("checkpoint-2")
