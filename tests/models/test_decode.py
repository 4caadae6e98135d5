import pytest
import torch

from fastslow.models.decode import decode

EOS = 3


@pytest.fixture(scope="module")
def tiny():
    """A random 2-layer Llama in float64 (exact enough that greedy choices never tie)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        bos_token_id=1,
        eos_token_id=EOS,
        pad_token_id=0,
    )
    return LlamaForCausalLM(config).to(torch.float64).eval()


PROMPTS = [[5, 9, 12, 7, 30, 41], [8, 2], [17, 22, 19, 50]]


def left_padded(prompts):
    width = max(map(len, prompts))
    ids = torch.tensor([[0] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    return ids, mask


def greedy_reference(model, prompt, n):
    out = model.generate(
        torch.tensor([prompt]), max_new_tokens=n, do_sample=False, eos_token_id=EOS, pad_token_id=0
    )
    return out[0, len(prompt) :].tolist()


def test_greedy_with_left_padding_matches_generate_row_by_row(tiny):
    ids, mask = left_padded(PROMPTS)
    got = decode(tiny, ids, mask, max_new_tokens=10, eos_ids=[EOS])
    for prompt, d in zip(PROMPTS, got):
        ref = greedy_reference(tiny, prompt, 10)
        if EOS in ref:
            ref = ref[: ref.index(EOS) + 1]
        assert d.tokens == ref
        assert d.stopped == (ref[-1] == EOS)


def test_a_row_that_stops_leaves_the_batch_and_the_others_do_not_change(tiny):
    ids, mask = left_padded(PROMPTS)
    free = decode(tiny, ids, mask, max_new_tokens=10, eos_ids=[EOS])
    assert len(free[1].tokens) > 2 and len(free[0].tokens) > 2  # so the stop below removes a live row
    seen = []

    def stop_second_row_after_two(tokens):
        seen.append(len(tokens))
        return tokens == free[1].tokens[:2]

    got = decode(tiny, ids, mask, max_new_tokens=10, eos_ids=[EOS], stop=stop_second_row_after_two)
    assert got[1].tokens == free[1].tokens[:2] and got[1].stopped
    assert got[0].tokens == free[0].tokens and got[2].tokens == free[2].tokens
    # the stop check ran once per new token of each row still in the batch
    assert len(seen) == sum(len(d.tokens) for d in got)


def test_logprobs_are_the_teacher_forced_log_probabilities(tiny):
    ids, mask = left_padded(PROMPTS)
    got = decode(tiny, ids, mask, max_new_tokens=8, eos_ids=[EOS], temperature=0.9, top_p=0.9, logprobs=True)
    for prompt, d in zip(PROMPTS, got):
        full = torch.tensor([prompt + d.tokens])
        with torch.no_grad():
            logp = torch.log_softmax(tiny(full).logits[0].float(), dim=-1)
        expected = sum(float(logp[len(prompt) - 1 + j, t]) for j, t in enumerate(d.tokens))
        assert d.logprob == pytest.approx(expected, abs=1e-4)


def test_sampling_is_seeded(tiny):
    ids, mask = left_padded(PROMPTS)

    def run(seed):
        return [d.tokens for d in decode(tiny, ids, mask, 12, [EOS], temperature=1.0, seed=seed)]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_the_cap_is_respected_and_reported(tiny):
    ids, mask = left_padded(PROMPTS)
    got = decode(tiny, ids, mask, max_new_tokens=1, eos_ids=[EOS])
    assert all(len(d.tokens) == 1 for d in got)
    assert all(d.stopped == (d.tokens[0] == EOS) for d in got)


def test_the_embedded_backend_greedy_equals_transformers_generate(embedded):
    from fastslow.models.base import Request, truncate_at_stop

    reqs = [
        Request([{"role": "user", "content": "What is 17 + 25?"}], max_tokens=24),
        Request([{"role": "user", "content": "Name three colors."}], max_tokens=24),
        Request(
            [{"role": "user", "content": "What is 17 + 25?"}],
            max_tokens=24,
            stop=("\n", ". "),
            prefill="The answer is",
        ),
    ]
    got = embedded.generate(reqs)
    for r, c in zip(reqs, got):
        enc = embedded.tokenizer([embedded.format_prompt(r)], return_tensors="pt", add_special_tokens=False)
        kwargs = dict(
            max_new_tokens=r.max_tokens,
            do_sample=False,
            eos_token_id=embedded.eos_ids,
            pad_token_id=embedded.tokenizer.pad_token_id,
        )
        if r.stop:
            kwargs.update(stop_strings=list(r.stop), tokenizer=embedded.tokenizer)
        out = embedded.model.generate(**enc, **kwargs)[0, enc["input_ids"].shape[1] :].tolist()
        text = embedded.tokenizer.decode(
            [t for t in out if t not in embedded.eos_ids], skip_special_tokens=True
        )
        assert c.texts[0] == truncate_at_stop(text, r.stop)[0]


REPEATS = [2, 1, 3]


def expanded(prompts, repeats):
    return [p for p, r in zip(prompts, repeats) for _ in range(r)]


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_shared_prompt_pass_gives_what_one_row_per_sample_gives(tiny, temperature):
    """repeats runs each prompt once and copies its cache; the samples must not change."""
    ids, mask = left_padded(PROMPTS)
    shared = decode(
        tiny, ids, mask, 12, [EOS], temperature=temperature, seed=3, logprobs=True, repeats=REPEATS
    )
    ids_x, mask_x = left_padded(expanded(PROMPTS, REPEATS))
    separate = decode(tiny, ids_x, mask_x, 12, [EOS], temperature=temperature, seed=3, logprobs=True)
    assert len(shared) == sum(REPEATS)
    assert [d.tokens for d in shared] == [d.tokens for d in separate]
    assert [d.logprob for d in shared] == pytest.approx([d.logprob for d in separate], abs=1e-9)
    assert [d.stopped for d in shared] == [d.stopped for d in separate]
    if temperature > 0:  # the copies of one prompt are sampled each on its own
        assert shared[3].tokens != shared[4].tokens or shared[4].tokens != shared[5].tokens


def test_shared_prompt_samples_are_the_teacher_forced_continuations(tiny):
    ids, mask = left_padded(PROMPTS)
    got = decode(tiny, ids, mask, 8, [EOS], temperature=0.9, seed=5, logprobs=True, repeats=REPEATS)
    for prompt, d in zip(expanded(PROMPTS, REPEATS), got):
        with torch.no_grad():
            logp = torch.log_softmax(tiny(torch.tensor([prompt + d.tokens])).logits[0].float(), dim=-1)
        expected = sum(float(logp[len(prompt) - 1 + j, t]) for j, t in enumerate(d.tokens))
        assert d.logprob == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("repeats", [[1, 2], [1, 0, 2]])
def test_repeats_must_count_each_prompt_row(tiny, repeats):
    ids, mask = left_padded(PROMPTS)
    with pytest.raises(ValueError, match="repeats"):
        decode(tiny, ids, mask, 4, [EOS], repeats=repeats)
