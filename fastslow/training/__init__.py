"""Fine-tuning with TRL and PEFT, shared by every recipe that trains (`prime`, `distill`, next `tpo`).

Read in this order: ``config.py`` (``TrainConfig``: LoRA or full, steps or epochs, learning rate,
checkpoints; its fields are the recipes' training flags) -> ``loop.py`` (checkpoints every N steps,
resume from the last one, the export: shared by every Trainer) -> ``sft.py`` (``train_sft``: TRL's ``SFTTrainer`` on prompt/completion rows) and
``dpo.py`` (``train_dpo``: TRL's ``DPOTrainer`` on prompt/chosen/rejected rows) ->
``export.py`` (a float16 adapter, a merged model folder, or the fully fine-tuned model: each loads
as ``--model hf:PATH``).

Everything runs unchanged under ``accelerate launch`` (several GPUs, DeepSpeed or FSDP configs):
the Trainer takes the processes from the environment, and only the main process writes the export.
"""

from fastslow.training.config import TrainConfig
from fastslow.training.dpo import train_dpo
from fastslow.training.loop import TrainResult
from fastslow.training.sft import train_sft

__all__ = ["TrainConfig", "TrainResult", "train_dpo", "train_sft"]
