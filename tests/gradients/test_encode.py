"""Masking: the prompt's tokens are counted in the one joint tokenization of prompt + response."""

import pytest

from fastslow.errors import FastslowError
from fastslow.gradients.encode import encode, prompt_text


def _merging_tokenizer(chat_template="{{ messages[0]['content'] }}", bos_post_processor=False):
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
    enc = encode(tok, "xab", "cab")  # joint: x | abc | ab — "abc" holds the response's "c"
    assert tok.convert_ids_to_tokens(enc.ids) == ["x", "abc", "ab"]
    assert enc.prompt_tokens == 1 and enc.response_tokens == 2
    # Tokenizing the prompt on its own (the reference code's way) counts 2 and would mask "abc".
    assert len(tok("xab", add_special_tokens=False)["input_ids"]) == 2


def test_chat_template_keeps_its_own_bos_and_adds_none():
    tok = _merging_tokenizer(
        chat_template="{{ bos_token }}{{ messages[0]['content'] }}", bos_post_processor=True
    )
    text, special = prompt_text(tok, "xab")
    assert text == "<s>xab" and special is False
    enc = encode(tok, "xab", "c")
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
    text, _ = prompt_text(tiny_tokenizer, prompt)
    assert text.endswith("<|im_start|>assistant\n") and prompt in text
    enc = encode(tiny_tokenizer, prompt, response)
    assert tiny_tokenizer.decode(enc.ids[: enc.prompt_tokens]) == text
    assert tiny_tokenizer.decode(enc.ids[enc.prompt_tokens :]) == response
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": prompt}]
    assert "Be brief." in tiny_tokenizer.decode(encode(tiny_tokenizer, messages, response).ids)
