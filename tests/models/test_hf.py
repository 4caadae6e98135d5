"""The transformers backend on the real embedded model."""

from fastslow.models.base import Request


def _req(content, **kw):
    return Request([{"role": "user", "content": content}], **kw)


def test_greedy_is_deterministic_and_batch_independent(embedded):
    a = _req("What is the capital of France?", max_tokens=12)
    b = _req("Name a fruit.", max_tokens=12)
    alone = embedded.generate([a])[0]
    together = embedded.generate([b, a])
    assert together[1].texts == alone.texts
    assert alone.texts[0].strip()
    assert alone.prompt_tokens > 10 and 0 < alone.completion_tokens <= 12
    assert alone.finish_reasons[0] in {"stop", "length"}


def test_k_samples_are_seeded_reproducible_and_diverse(embedded):
    r = _req("Write one word that describes the sea.", n=6, temperature=1.0, max_tokens=8, seed=3)
    first = embedded.generate([r])[0]
    second = embedded.generate([r])[0]
    assert first.texts == second.texts
    assert len(first.texts) == 6 and len(set(first.texts)) > 1
    assert first.completion_tokens == sum(first.sample_tokens)


def test_prefill_continues_the_assistant_turn_and_stop_cuts(embedded):
    r = _req(
        "What is 2 + 2? Answer with the number only.", prefill="The answer is", max_tokens=10, stop=("\n",)
    )
    c = embedded.generate([r])[0]
    assert "\n" not in c.texts[0]
    assert not c.texts[0].startswith("The answer is")  # the prefill is not repeated in the text
    prompt = embedded.format_prompt(r)
    assert prompt.endswith("<|im_start|>assistant\nThe answer is")


def test_logprobs_are_negative_sums(embedded):
    c = embedded.generate([_req("Say hi.", max_tokens=6, n=2, temperature=0.8, logprobs=True)])[0]
    assert all(lp is not None and lp < 0 for lp in c.logprobs)


def test_model_sits_on_the_chosen_device(embedded):
    import torch

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert embedded.device.type == expected
    assert {p.device.type for p in embedded.model.parameters()} == {expected}


def test_decode_batch_size_defaults_by_model_and_can_be_set(embedded):
    from fastslow.models.registry import DEFAULT_BATCH_SIZE, EMBEDDED_BATCH_SIZE, load_model

    assert embedded.batch_size == EMBEDDED_BATCH_SIZE == 128
    assert load_model("embedded", batch_size=8).batch_size == 8
    # The same weights named as a plain transformers folder: a model of unknown size starts smaller.
    assert load_model(f"hf:{embedded.path}").batch_size == DEFAULT_BATCH_SIZE == 32


def test_stream_hands_on_the_text_piece_by_piece_and_never_a_stop_strings_start(embedded):
    request = Request(
        [{"role": "user", "content": "Count from 1 to 20, separated by commas."}], max_tokens=40
    )
    [whole] = embedded.generate([request])
    pieces = []
    c = embedded.stream(request, pieces.append)
    assert "".join(pieces) == c.texts[0] == whole.texts[0] and len(pieces) > 5
    assert c.completion_tokens == whole.completion_tokens
    # A stop string: the text before it streams, none of the stop string ever does.
    stop = whole.texts[0][10:14]
    stopped = Request(request.messages, max_tokens=40, stop=(stop,))
    pieces = []
    c = embedded.stream(stopped, pieces.append)
    assert "".join(pieces) == c.texts[0] == whole.texts[0][: whole.texts[0].index(stop)]


def test_stream_stops_when_cancelled(embedded):
    request = Request([{"role": "user", "content": "Write a long story."}], max_tokens=64)
    pieces = []
    c = embedded.stream(request, pieces.append, cancelled=lambda: len(pieces) >= 3)
    assert c.completion_tokens < 20 and "".join(pieces) == c.texts[0]
