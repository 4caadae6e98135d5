"""Prompt + response -> token ids and the number of prompt tokens, from one tokenization.

The loss is the mean cross-entropy over the response tokens only (Li, Li & Zhou 2024, §3), so the
mask must fall exactly on the prompt/response boundary. The reference code tokenized the prompt a
second time on its own to count its tokens; a token can straddle the boundary (BPE merges across
it) and a separate tokenization then shifts the mask by one, and its ``encode`` added a BOS on top
of a chat template that already had one. Here the joint text is tokenized once and the prompt
tokens are those whose characters all lie in the prompt (offsets from a fast tokenizer); a token
that straddles the boundary holds response text, so it is a response token.

Two prompt formats, the two the authors used (``get_gradient_values.py`` in their repository,
MingLiiii/Layer_Gradient):

- ``plain``, for base models: the question, a newline, then the response (``instruction + '\\n' +
  output``), with the tokenizer's usual special tokens (its BOS).
- ``chat``, for instruction-tuned models (their ``--run_instruct_version``): a system line, "You
  are a helpful assistant.", and the question as a user turn in the model's chat template, the
  assistant turn opened (``add_generation_prompt``); the template's own special tokens are kept
  and no others are added. The authors left the system line out for Gemma, whose templates refuse
  a system role; here it is left out wherever the template refuses one (a prompt given as a list
  of chat messages is used as it is, with no system line added).

The response is not followed by an end-of-turn token (as in the paper).

Which format ``auto`` picks: the paper's by model type, decided by ``resolve_prompt_format``. A
chat template in the tokenizer does not make a model instruction-tuned: many base models ship one
(SmolLM2-135M does). So ``auto`` is ``chat`` only when the tokenizer has a chat template *and* a
name of the model marks it instruction-tuned: a built-in spec known to be (``KNOWN_INSTRUCT``), or
a word of the model's folder, file or config name among ``INSTRUCT_WORDS`` (``SmolLM2-135M-Instruct``,
``gemma-2-2b-it``, ``Llama-2-7b-chat-hf``); everything else is taken for a base model and gets
``plain``. A fine-tune whose name says nothing (``hf:./my-model``) therefore gets ``plain``; pass
``--prompt-format chat`` for it. A LoRA adapter counts as its base model's kind (the run adds its
``base_model_name_or_path`` to the names).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from fastslow.errors import FastslowError

PROMPT_FORMATS = ("auto", "chat", "plain")
SYSTEM_PROMPT = "You are a helpful assistant."  # the authors' system line for instruct models
# Words that mark an instruction-tuned checkpoint in the names model hubs give them.
INSTRUCT_WORDS = frozenset({"instruct", "chat", "it", "sft", "dpo", "rlhf"})
# Built-in specs whose names do not say so: the embedded model is SmolLM2-135M-Instruct, and the
# reasoner is a LoRA fine-tune of it on chains of thought in its chat template.
KNOWN_INSTRUCT = {
    "embedded": "SmolLM2-135M-Instruct",
    "embedded-reasoner": "a fine-tune of SmolLM2-135M-Instruct in its chat template",
}


@dataclass(frozen=True)
class Encoded:
    ids: list[int]
    prompt_tokens: int  # ids[:prompt_tokens] are the prompt; the loss reads ids[prompt_tokens:]

    @property
    def response_tokens(self) -> int:
        return len(self.ids) - self.prompt_tokens


def _short_name(name: str) -> str:
    """``hf:/models/Qwen2-1.5B-Instruct#abc`` -> ``Qwen2-1.5B-Instruct``: the last path part of a
    spec, a folder or a config name, without a digest (``#...``) or precision (``@...``) suffix."""
    for prefix in ("hf:", "gguf:", "adapter:"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    name = re.split(r"[#@]", name.rstrip("/\\"))[0]
    return PurePath(name).name if name else ""


def instruct_evidence(names: Iterable[str | None]) -> str | None:
    """Why the model counts as instruction-tuned (a sentence naming the name), or None."""
    for name in names:
        short = _short_name(str(name or ""))
        if not short:
            continue
        if short in KNOWN_INSTRUCT:
            return f"`{short}` is {KNOWN_INSTRUCT[short]}"
        words = set(re.split(r"[^a-z0-9]+", short.lower()))
        marked = sorted(words & INSTRUCT_WORDS)
        if marked:
            return f"`{short}` says {marked[0]!r}"
    return None


def resolve_prompt_format(
    requested: str, tokenizer: Any, names: Iterable[str | None] = ()
) -> tuple[str, str]:
    """``(format, why)``: ``requested`` (``auto``, ``chat`` or ``plain``) made concrete for this model.
    ``names``: what the model is called (spec, folder, config name); the tokenizer's own
    ``name_or_path`` is always added. See the module docstring for the rule."""
    if requested not in PROMPT_FORMATS:
        raise FastslowError(f"unknown prompt format {requested!r}: use one of {', '.join(PROMPT_FORMATS)}")
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if requested == "chat":
        if not has_template:
            raise FastslowError("--prompt-format chat: this model's tokenizer has no chat template")
        return "chat", "--prompt-format chat"
    if requested == "plain":
        return "plain", "--prompt-format plain"
    evidence = instruct_evidence([*names, getattr(tokenizer, "name_or_path", None)])
    if evidence is None:
        return "plain", (
            "auto: no name of the model marks it instruction-tuned, so it is taken for a base model "
            "(the paper's `question\\nresponse`)"
        )
    if not has_template:
        return "plain", f"auto: {evidence}, but its tokenizer has no chat template"
    return "chat", f"auto: {evidence} (instruction-tuned) and its tokenizer has a chat template"


def _apply_template(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def prompt_text(
    tokenizer: Any, prompt: str | list[dict[str, str]], prompt_format: str = "auto"
) -> tuple[str, bool]:
    """The prompt as the model reads it, and whether the tokenizer should add its special tokens.
    ``auto`` is resolved from the tokenizer alone (``resolve_prompt_format``)."""
    if prompt_format == "auto":
        prompt_format, _ = resolve_prompt_format("auto", tokenizer)
    if prompt_format not in ("chat", "plain"):
        raise FastslowError(
            f"unknown prompt format {prompt_format!r}: use one of {', '.join(PROMPT_FORMATS)}"
        )
    if prompt_format == "plain":
        contents = [prompt] if isinstance(prompt, str) else [m["content"] for m in prompt]
        return "\n\n".join(contents) + "\n", True
    if not getattr(tokenizer, "chat_template", None):
        raise FastslowError("--prompt-format chat: this model's tokenizer has no chat template")
    if not isinstance(prompt, str):
        return _apply_template(tokenizer, list(prompt)), False
    user = {"role": "user", "content": prompt}
    try:
        return _apply_template(tokenizer, [{"role": "system", "content": SYSTEM_PROMPT}, user]), False
    except Exception as exc:  # jinja's TemplateError: the template refuses a system role (Gemma)
        if "system" not in str(exc).lower():
            raise
        return _apply_template(tokenizer, [user]), False


def encode(
    tokenizer: Any, prompt: str | list[dict[str, str]], response: str, prompt_format: str = "auto"
) -> Encoded:
    """Tokenize prompt + response once; count the prompt's tokens in that same tokenization."""
    text, special = prompt_text(tokenizer, prompt, prompt_format)
    if not getattr(tokenizer, "is_fast", False):
        raise FastslowError(
            "gradients needs a fast (Rust) tokenizer for character offsets; this model's tokenizer is a slow one"
        )
    enc = tokenizer(text + response, add_special_tokens=special, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    boundary = len(text)
    prompt_tokens = 0
    for _start, end in enc["offset_mapping"]:
        if end > boundary:
            break
        prompt_tokens += 1
    return Encoded(ids, max(prompt_tokens, 1))  # the first token is never predicted
