"""A tiny random Llama with its own small BPE tokenizer and chat template, saved to a folder and loaded
through ``load_model("hf:PATH")`` exactly as a user's model would be. Built offline in about a second."""

import json

import pytest

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIALS = ["<unk>", "<|im_start|>", "<|im_end|>"]


def build_tokenizer(texts, chat_template=CHAT_TEMPLATE):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<|im_start|>", eos_token="<|im_end|>"
    )
    fast.pad_token = fast.eos_token
    if chat_template:
        fast.chat_template = chat_template
    return fast


def corpus():
    from fastslow.gradients.data import neutral_sentences
    from fastslow.tasks.registry import BUILTIN_TASKS, load_task

    texts = list(neutral_sentences())
    for name in ("arithmetic", "distractor_arithmetic", "last_letters", "coin_flip"):
        for ex in load_task(name, limit=20, split="train").examples:
            texts += [ex.question, BUILTIN_TASKS[name].module.cot_solution(ex)]
    return texts * 3


def save_tiny_llama(path, tokenizer, layers=2, seed=0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return build_tokenizer(corpus())


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_tokenizer):
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), tiny_tokenizer)


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from fastslow.models.registry import load_model

    return load_model(f"hf:{tiny_model_dir}")


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """make-data output for 6 distractor_arithmetic questions: every response type."""
    from fastslow.gradients.data import make_data

    out = tmp_path_factory.mktemp("gdata")
    files = make_data("distractor_arithmetic", out, n=6, seed=0)
    return {t: str(p) for t, p in files.items()}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
