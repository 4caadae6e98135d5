"""`fastslow serve` called as a user calls it: the official `openai` client against a real server on
loopback, with the embedded model as the upstream."""

import json
import time

try:
    import httpx2 as httpx
except ImportError:  # the openai client brings one of the two
    import httpx  # type: ignore[no-redef]
import openai
import pytest

from fastslow.serve.app import create_app
from fastslow.serve.settings import ServerSettings
from fastslow.strategies.registry import make_strategies
from fastslow.tasks.base import Example, Task
from tests.serve.conftest import serving

QUESTION = "What is 12 + 30?"


@pytest.fixture(scope="module")
def server(embedded, tmp_path_factory):
    log = tmp_path_factory.mktemp("log") / "requests.jsonl"
    app = create_app(embedded, ServerSettings(served_name="embedded", log_requests=str(log)))
    with serving(app) as url:
        yield url, log


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server[0], api_key="unused", max_retries=0)


def test_passthrough_answers_with_usage(client):
    r = client.chat.completions.create(
        model="embedded", messages=[{"role": "user", "content": QUESTION}], max_tokens=16, temperature=0
    )
    assert r.choices[0].message.role == "assistant" and r.choices[0].message.content.strip()
    u = r.usage
    assert u.prompt_tokens > 5 and 0 < u.completion_tokens <= 16
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert u.completion_tokens_details.reasoning_tokens == 0


def _trace(embedded, method, params=()):
    """The same strategy run directly on the model: the internal calls' own totals."""
    example = Example(id="request", question=QUESTION)
    return make_strategies([method], list(params))[0].run(
        embedded, example, Task(name="chat", examples=[example])
    )


def test_a_method_prefix_runs_the_strategy_and_usage_sums_every_internal_call(client, embedded):
    r = client.chat.completions.create(
        model="sc/embedded",
        messages=[{"role": "user", "content": QUESTION}],
        seed=0,  # sc's own default seed: the same samples as the direct run below
        extra_body={"fastslow": {"params": {"k": 3, "max_tokens": 48}}},
    )
    trace = _trace(embedded, "sc", ["sc.k=3", "sc.max_tokens=48"])
    extra = r.model_extra["fastslow"]
    assert extra["method"] == "sc" and extra["calls"] == trace.calls >= 3
    assert r.usage.prompt_tokens == trace.prompt_tokens
    assert r.usage.completion_tokens == trace.completion_tokens
    # Three sampled chains, one of them the answer: the other two are reasoning.
    assert 0 < r.usage.completion_tokens_details.reasoning_tokens < r.usage.completion_tokens
    assert r.choices[0].message.content == trace.final_text


def test_streaming_sends_the_final_stage_as_it_is_generated_then_usage_then_done(client, embedded):
    """s2a: a rewrite call first (not streamed as content), then the answer call streamed."""
    stream = client.chat.completions.create(
        model="embedded",
        messages=[{"role": "user", "content": QUESTION}],
        extra_body={"fastslow": {"method": "s2a", "params": {"max_tokens": 64, "rewrite_tokens": 48}}},
        seed=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    events = [(time.perf_counter(), chunk) for chunk in stream]
    assert events[0][1].choices[0].delta.role == "assistant"
    content = [(t, c) for t, c in events if c.choices and c.choices[0].delta.content]
    finish = [(t, c) for t, c in events if c.choices and c.choices[0].finish_reason]
    assert len(content) >= 3 and len(finish) == 1
    # Truly incremental: the first piece of the answer came well before the answer call ended.
    assert finish[0][0] - content[0][0] > 0.2
    usage_chunk = events[-1][1]
    assert usage_chunk.choices == [] and usage_chunk.usage is not None
    trace = _trace(embedded, "s2a", ["s2a.max_tokens=64", "s2a.rewrite_tokens=48"])
    assert usage_chunk.usage.prompt_tokens == trace.prompt_tokens
    assert usage_chunk.usage.completion_tokens == trace.completion_tokens
    assert usage_chunk.usage.completion_tokens_details.reasoning_tokens > 0  # the rewrite
    assert "".join(c.choices[0].delta.content for _, c in content) == trace.final_text


def test_n_returns_n_choices_each_with_its_index(client):
    r = client.chat.completions.create(
        model="embedded", messages=[{"role": "user", "content": QUESTION}], max_tokens=8, n=2, temperature=1.0
    )
    assert [c.index for c in r.choices] == [0, 1]


def test_a_conversation_reaches_the_model_as_messages(embedded):
    seen = []

    class Recorder:
        name, supports_prefill = "recorder", True

        def generate(self, requests):
            seen.extend(requests)
            return embedded.generate(requests)

    app = create_app(Recorder(), ServerSettings(served_name="m"))
    with serving(app) as url:
        c = openai.OpenAI(base_url=url, api_key="x", max_retries=0)
        history = [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hi."},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": QUESTION},
        ]
        c.chat.completions.create(model="cot/m", messages=history, max_tokens=24)
    assert list(seen[0].messages[:3]) == history[:3]  # history kept, never flattened
    assert QUESTION in seen[0].messages[3]["content"] and len(seen[0].messages) == 4


def test_models_health_and_the_request_log(server, client):
    url, log = server
    names = [m.id for m in client.models.list().data]
    assert "embedded" in names and "sc/embedded" in names and "auto/embedded" in names
    assert httpx.get(url.removesuffix("/v1") + "/health").json()["status"] == "ok"
    # A request of its own, so that the log has a row whichever tests ran before.
    ask = [{"role": "user", "content": "What is 2 + 2?"}]
    client.chat.completions.create(model="embedded", messages=ask, max_tokens=4)
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(r["question"] == "What is 2 + 2?" for r in rows)
    assert rows and all(r["question"] and r["latency_s"] > 0 for r in rows)
    assert {"method", "paths", "prompt_tokens", "completion_tokens", "reasoning_tokens"} <= set(rows[0])
    # `fastslow eval --data LOG` replays the logged questions.
    from fastslow.tasks.registry import load_task

    replay = load_task(data=str(log))
    assert [ex.question for ex in replay.examples] == [r["question"] for r in rows]


GOOD = {"model": "embedded", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}


@pytest.mark.parametrize(
    "body, status, code",
    [
        ('{"model": "embedded", "messages": [', 400, "json_invalid"),
        (json.dumps({"model": "embedded"}), 400, "missing"),
        (json.dumps({**GOOD, "model": "nope"}), 404, "model_not_found"),
        (json.dumps({**GOOD, "temperature": 5}), 422, "less_than_equal"),
        (json.dumps({**GOOD, "fastslow": {"method": "nope"}}), 400, "unknown_method"),
        (
            json.dumps({**GOOD, "fastslow": {"method": "sc", "params": {"bogus": 1}}, "stream": True}),
            400,
            "bad_request",
        ),
        (json.dumps({**GOOD, "stream_options": {"include_usage": True}}), 400, None),
        # Fields the proxy cannot honour are refused, never dropped silently.
        (
            json.dumps({**GOOD, "tools": [{"type": "function", "function": {"name": "f"}}]}),
            400,
            "unsupported_parameter",
        ),
        (json.dumps({**GOOD, "response_format": {"type": "json_object"}}), 400, "unsupported_parameter"),
        (json.dumps({**GOOD, "logprobs": True}), 400, "unsupported_parameter"),
        (
            json.dumps({**GOOD, "messages": [{"role": "user", "content": "x" * 2_000_000}]}),
            413,
            "request_too_large",
        ),
    ],
)
def test_bad_requests_get_openai_style_errors_and_the_server_keeps_serving(server, body, status, code):
    url = server[0]
    r = httpx.post(f"{url}/chat/completions", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["message"] and error["type"] == "invalid_request_error"
    assert httpx.post(f"{url}/chat/completions", json=GOOD, timeout=60).status_code == 200


def test_an_api_key_is_required_when_set(embedded):
    app = create_app(embedded, ServerSettings(served_name="embedded", api_key="s3cret"))
    with serving(app) as url:
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=url, api_key="wrong", max_retries=0).chat.completions.create(**GOOD)
        ok = openai.OpenAI(base_url=url, api_key="s3cret", max_retries=0).chat.completions.create(**GOOD)
        assert ok.choices[0].message.content is not None


def test_an_upstream_failure_is_502_and_the_server_keeps_serving(embedded):
    from fastslow.models.openai_api import OpenAIModel

    class Flaky:
        """The real OpenAI backend pointed at a closed port for the word "fail", else the embedded model."""

        name, supports_prefill = "flaky", True
        down = OpenAIModel("x", "http://127.0.0.1:9/v1", max_retries=0, timeout=2)

        def generate(self, requests):
            if "fail" in requests[0].messages[-1]["content"]:
                return self.down.generate(requests)
            return embedded.generate(requests)

    app = create_app(Flaky(), ServerSettings(served_name="embedded"))
    with serving(app) as url:
        r = httpx.post(
            f"{url}/chat/completions", json={**GOOD, "messages": [{"role": "user", "content": "fail"}]}
        )
        assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_error"
        assert httpx.post(f"{url}/chat/completions", json=GOOD, timeout=60).status_code == 200
