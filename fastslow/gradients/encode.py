"""Prompt + response -> token ids and the number of prompt tokens, from one tokenization.

The loss is the mean cross-entropy over the response tokens only (Li, Li & Zhou 2024, §3), so the
mask must fall exactly on the prompt/response boundary. The reference code tokenized the prompt a
second time on its own to count its tokens; a token can straddle the boundary (BPE merges across
it) and a separate tokenization then shifts the mask by one, and its ``encode`` added a BOS on top
of a chat template that already had one. Here the joint text is tokenized once and the prompt
tokens are those whose characters all lie in the prompt (offsets from a fast tokenizer); a token
that straddles the boundary holds response text, so it is a response token.

The prompt is the question as a user turn in the model's chat template with the assistant turn
opened (``add_generation_prompt``); the template's own special tokens are kept and no others are
added. A tokenizer without a chat template (a base model) gets the question, a newline, then the
response, with the tokenizer's usual special tokens (its BOS), as Li et al. ran base models.
The response is not followed by an end-of-turn token (as in the paper).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastslow.errors import FastslowError

PROMPT_FORMATS = ("auto", "chat", "plain")


@dataclass(frozen=True)
class Encoded:
    ids: list[int]
    prompt_tokens: int  # ids[:prompt_tokens] are the prompt; the loss reads ids[prompt_tokens:]

    @property
    def response_tokens(self) -> int:
        return len(self.ids) - self.prompt_tokens


def prompt_text(
    tokenizer: Any, prompt: str | list[dict[str, str]], prompt_format: str = "auto"
) -> tuple[str, bool]:
    """The prompt as the model reads it, and whether the tokenizer should add its special tokens."""
    if prompt_format not in PROMPT_FORMATS:
        raise FastslowError(
            f"unknown prompt format {prompt_format!r}: use one of {', '.join(PROMPT_FORMATS)}"
        )
    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if prompt_format == "chat" or (prompt_format == "auto" and has_template):
        if not has_template:
            raise FastslowError("--prompt-format chat: this model's tokenizer has no chat template")
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return text, False
    return "\n\n".join(m["content"] for m in messages) + "\n", True


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
