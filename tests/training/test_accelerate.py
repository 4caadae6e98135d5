"""The training frame under `accelerate launch` (one CPU process here; several GPUs for users)."""

import json
import os
import subprocess
import sys
from pathlib import Path


def test_prime_runs_unchanged_under_accelerate_launch(tmp_path):
    accelerate = Path(sys.executable).parent / "accelerate"
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            str(accelerate),
            "launch",
            "--num_processes",
            "1",
            "--cpu",
            "-m",
            "fastslow.cli",
            "prime",
            "--examples",
            "16",
            "--max-steps",
            "2",
            "--train-batch-size",
            "2",
            "--save-steps",
            "1",
            "--max-length",
            "256",
            "--out",
            str(out),
            "--quiet",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((out / "prime.json").read_text())
    assert record["steps"] == 2 and (out / "adapter" / "adapter_model.safetensors").is_file()
    assert (out / "checkpoints" / "checkpoint-2").is_dir()
