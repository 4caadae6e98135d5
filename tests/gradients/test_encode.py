"""Masking: the prompt's tokens are counted in the one joint tokenization of prompt + response; the
prompt format is the paper's by model type."""

import pytest

from fastslow.errors import FastslowError
from fastslow.gradients.encode import SYSTEM_PROMPT, encode, prompt_text, resolve_prompt_format


def _merging_tokenizer(chat_template="{{ messages[-1]['content'] }}", bos_post_processor=False):
    """A BPE without pre-tokenization whose merges run across the prompt/response boundary."""
    from tokenizers import Tokenizer, models, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "a": 2, "b": 3, "c": 4, "x": 5, "ab": 6, "abc": 7, "\n": 8}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[("a", "b"), ("ab", "c")], unk_token="<unk>"))
    if bos_post_processor:
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>")
    fast.chat_template = chat_template
    return fast


def test_a_token_straddling_the_boundary_belongs_to_the_response():
    tok = _merging_tokenizer()
    enc = encode(tok, "xab", "cab", "chat")  # joint: x | abc | ab — "abc" holds the response's "c"
    assert tok.convert_ids_to_tokens(enc.ids) == ["x", "abc", "ab"]
    assert enc.prompt_tokens == 1 and enc.response_tokens == 2
    # Tokenizing the prompt on its own (the reference code's way) counts 2 and would mask "abc".
    assert len(tok("xab", add_special_tokens=False)["input_ids"]) == 2


def test_chat_template_keeps_its_own_bos_and_adds_none():
    tok = _merging_tokenizer(
        chat_template="{{ bos_token }}{{ messages[-1]['content'] }}", bos_post_processor=True
    )
    text, special = prompt_text(tok, "xab", "chat")
    assert text == "<s>xab" and special is False
    enc = encode(tok, "xab", "c", "chat")
    assert enc.ids.count(tok.bos_token_id) == 1 and enc.ids[0] == tok.bos_token_id
    assert tok.convert_ids_to_tokens(enc.ids) == ["<s>", "x", "abc"] and enc.prompt_tokens == 2


def test_plain_format_adds_the_tokenizers_bos_once_and_a_newline():
    tok = _merging_tokenizer(chat_template=None, bos_post_processor=True)
    enc = encode(tok, "ab", "c")
    assert tok.convert_ids_to_tokens(enc.ids) == ["<s>", "ab", "\n", "c"]
    assert enc.prompt_tokens == 3 and enc.response_tokens == 1
    with pytest.raises(FastslowError, match="no chat template"):
        encode(tok, "ab", "c", "chat")
    with pytest.raises(FastslowError, match="unknown prompt format"):
        encode(tok, "ab", "c", "raw")


def test_chat_prompt_of_the_tiny_model_masks_exactly_the_prompt(tiny_tokenizer):
    prompt = "Amy has 10 stamps. How many stamps does Amy have now?"
    response = "Amy starts with 10 stamps. The answer is 10."
    text, _ = prompt_text(tiny_tokenizer, prompt, "chat")
    assert text.endswith("<|im_start|>assistant\n") and prompt in text
    enc = encode(tiny_tokenizer, prompt, response, "chat")
    assert tiny_tokenizer.decode(enc.ids[: enc.prompt_tokens]) == text
    assert tiny_tokenizer.decode(enc.ids[enc.prompt_tokens :]) == response
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": prompt}]
    chat = tiny_tokenizer.decode(encode(tiny_tokenizer, messages, response, "chat").ids)
    assert "Be brief." in chat and SYSTEM_PROMPT not in chat  # given messages are used as they are


def test_chat_format_opens_with_the_papers_system_line(tiny_tokenizer):
    text, _ = prompt_text(tiny_tokenizer, "What is 2 + 3?", "chat")
    assert text == (
        f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_a_template_that_refuses_a_system_role_gets_the_user_turn_alone():
    gemma_like = (  # Gemma 2's template raises on a system turn; the authors left it out for Gemma
        "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
        "{% for m in messages %}<u>{{ m['content'] }}{% endfor %}"
    )
    tok = _merging_tokenizer(chat_template=gemma_like)
    assert prompt_text(tok, "xab", "chat") == ("<u>xab", False)
    broken = _merging_tokenizer(chat_template="{{ raise_exception('no messages today') }}")
    with pytest.raises(Exception, match="no messages today"):  # other template errors are not hidden
        prompt_text(broken, "xab", "chat")


def test_plain_format_is_question_newline_response_even_with_a_chat_template(tiny_tokenizer):
    text, special = prompt_text(tiny_tokenizer, "What is 2 + 3?", "plain")
    assert (text, special) == ("What is 2 + 3?\n", True)
    enc = encode(tiny_tokenizer, "What is 2 + 3?", "The answer is 5.", "plain")
    assert tiny_tokenizer.decode(enc.ids[enc.prompt_tokens :]) == "The answer is 5."


@pytest.mark.parametrize(
    "names",
    [
        ["hf:/models/SmolLM2-135M-Instruct"],
        ["/root/.cache/fastslow/models/SmolLM2-135M-Instruct.Q4_1-b318419b7b4f5846"],
        ["gemma-2-2b-it"],
        ["hf:/models/Llama-2-7b-chat-hf#0a1b2c"],
        ["gguf:/m/gemma-3-270m-it-Q4_K_M.gguf"],
        ["embedded"],
        ["embedded-reasoner#5a473d5d", "/cache/embedded-reasoner-5a473d5d"],
    ],
)
def test_auto_uses_the_chat_template_for_a_model_named_instruction_tuned(tiny_tokenizer, names):
    fmt, why = resolve_prompt_format("auto", tiny_tokenizer, names)
    assert fmt == "chat" and "instruction-tuned" in why


@pytest.mark.parametrize(
    "names",
    [
        ["hf:/models/SmolLM2-135M"],  # a base model whose tokenizer ships a chat template
        ["Meta-Llama-3.1-8B"],
        ["/root/.cache/fastslow/models/gemma-3-270m-q4_k_m-d2c75b637661808e"],
        ["hf:/home/it/chat/Qwen2-1.5B"],  # only the last part of a path counts
        [],
    ],
)
def test_auto_takes_any_other_model_for_a_base_model_even_with_a_chat_template(tiny_tokenizer, names):
    assert tiny_tokenizer.chat_template  # a template alone does not make a model instruction-tuned
    fmt, why = resolve_prompt_format("auto", tiny_tokenizer, names)
    assert fmt == "plain" and "base model" in why


def test_explicit_formats_and_an_instruct_name_without_a_template():
    no_template = _merging_tokenizer(chat_template=None)
    assert resolve_prompt_format("auto", no_template, ["Qwen2-1.5B-Instruct"])[0] == "plain"
    assert resolve_prompt_format("plain", no_template, ["Qwen2-1.5B-Instruct"])[0] == "plain"
    with pytest.raises(FastslowError, match="no chat template"):
        resolve_prompt_format("chat", no_template)
    with_template = _merging_tokenizer()
    assert resolve_prompt_format("chat", with_template, ["Meta-Llama-3.1-8B"])[0] == "chat"
    with pytest.raises(FastslowError, match="unknown prompt format"):
        resolve_prompt_format("raw", with_template)
