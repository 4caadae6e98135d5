"""`fastslow serve` in front of a real OpenAI-compatible upstream: llama.cpp's server on the embedded
GGUF, called with the official `openai` client."""

import time

import openai
import pytest

from fastslow.models.openai_api import OpenAIModel
from fastslow.serve.app import create_app
from fastslow.serve.settings import ServerSettings
from tests.llama_server import MODEL_ALIAS
from tests.serve.conftest import serving

ASK = [{"role": "user", "content": "Name three colours of the rainbow."}]


@pytest.fixture(scope="module")
def proxy(llama_server):
    upstream = OpenAIModel(MODEL_ALIAS, llama_server, max_retries=0)
    with serving(create_app(upstream, ServerSettings(served_name=MODEL_ALIAS))) as url:
        yield openai.OpenAI(base_url=url, api_key="unused", max_retries=0), llama_server


def test_passthrough_gives_what_the_upstream_gives(proxy):
    client, upstream_url = proxy
    direct = openai.OpenAI(base_url=upstream_url, api_key="unused", max_retries=0)
    settings = dict(messages=ASK, max_tokens=24, temperature=0, seed=1)
    via = client.chat.completions.create(model=MODEL_ALIAS, **settings)
    own = direct.chat.completions.create(model=MODEL_ALIAS, **settings)
    assert via.choices[0].message.content == own.choices[0].message.content
    assert via.usage.prompt_tokens == own.usage.prompt_tokens
    assert via.usage.completion_tokens == own.usage.completion_tokens


def test_streaming_through_the_proxy_is_incremental_and_ends_with_usage(proxy):
    client, upstream_url = proxy
    stream = client.chat.completions.create(
        model=f"cot/{MODEL_ALIAS}", messages=ASK, max_tokens=64, stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    events = [(time.perf_counter(), chunk) for chunk in stream]
    content = [t for t, c in events if c.choices and c.choices[0].delta.content]
    finish = [t for t, c in events if c.choices and c.choices[0].finish_reason]
    assert len(content) >= 3 and len(finish) == 1 and finish[0] - content[0] > 0.1
    usage = events[-1][1].usage
    assert events[-1][1].choices == [] and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.completion_tokens > 0 and usage.prompt_tokens > 0


def test_a_strategy_runs_against_the_upstream(proxy):
    client, _ = proxy
    r = client.chat.completions.create(
        model=MODEL_ALIAS, messages=[{"role": "user", "content": "What is 2 + 3?"}],
        extra_body={"fastslow": {"method": "sc", "params": {"k": 3, "max_tokens": 48}}},
    )  # fmt: skip
    assert r.model_extra["fastslow"]["calls"] >= 3
    assert 0 < r.usage.completion_tokens_details.reasoning_tokens < r.usage.completion_tokens
