"""The proxy's control flow with scripted upstreams (fakes prove control flow, never that a model
works): where the client's settings go, the same usage streamed or not, busy and slow upstreams,
a client that leaves, errors on unknown paths."""

import json
import threading
import time

try:
    import httpx2 as httpx
except ImportError:  # the openai client brings one of the two
    import httpx  # type: ignore[no-redef]
import openai
import pytest

from fastslow.models.base import Completion
from fastslow.serve.app import create_app
from fastslow.serve.settings import ServerSettings
from tests.serve.conftest import serving

ASK = [{"role": "user", "content": "What is 2 + 3?"}]


class Scripted:
    """Replies ``reply(request)``, word by word when streamed, ``delay`` seconds a word; records
    every request and whether a stream was cancelled."""

    name, supports_prefill = "scripted", True

    def __init__(self, reply=lambda r: "Five. The answer is 5.", delay=0.0):
        self.reply, self.delay = reply, delay
        self.requests, self.cancelled = [], threading.Event()

    def _completion(self, r, texts):
        toks = [len(t.split()) for t in texts]
        return Completion(texts=texts, prompt_tokens=7, completion_tokens=sum(toks), seconds=0.0,
                          finish_reasons=["stop"] * len(texts), sample_tokens=toks)  # fmt: skip

    def generate(self, requests):
        self.requests.extend(requests)
        time.sleep(self.delay)
        return [self._completion(r, [self.reply(r)] * r.n) for r in requests]

    def stream(self, request, on_text, cancelled=lambda: False):
        self.requests.append(request)
        words = self.reply(request).split(" ")
        for i, w in enumerate(words):
            if cancelled():
                self.cancelled.set()
                break
            time.sleep(self.delay)
            on_text(w if i == 0 else " " + w)
        return self._completion(request, [" ".join(words)])


def _client(url):
    return openai.OpenAI(base_url=url, api_key="x", max_retries=0)


def test_the_clients_settings_reach_the_final_stage_only():
    model = Scripted()
    with serving(create_app(model, ServerSettings(served_name="m"))) as url:
        _client(url).chat.completions.create(
            model="sc/m", messages=ASK, temperature=0, max_tokens=9, stop=["!"]
        )
        _client(url).chat.completions.create(
            model="cot/m", messages=ASK, temperature=0.3, max_tokens=9, seed=4
        )
    sc, cot = model.requests[0], model.requests[-1]
    assert sc.n == 8 and sc.temperature == 0.7 and sc.max_tokens == 256  # sc's own sampling, untouched
    assert (cot.temperature, cot.max_tokens, cot.seed, cot.final) == (0.3, 9, 4, True)


@pytest.mark.parametrize("stream", [False, True])
def test_usage_is_the_same_streamed_or_not_when_an_extraction_call_follows(stream):
    # The chain names no answer, so cot makes the extraction call: the chain is the answer's start.
    model = Scripted(lambda r: "5" if "Therefore" in r.prefill else "Two and three make five")
    with serving(create_app(model, ServerSettings(served_name="m"))) as url:
        kw = dict(model="cot/m", messages=ASK, seed=1)
        if stream:
            chunks = list(
                _client(url).chat.completions.create(
                    **kw, stream=True, stream_options={"include_usage": True}
                )
            )
            usage = chunks[-1].usage
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            r = _client(url).chat.completions.create(**kw)
            usage, text = r.usage, r.choices[0].message.content
    assert usage.completion_tokens == 5 + 1 and usage.completion_tokens_details.reasoning_tokens == 0
    assert text.startswith("Let's think step by step.Two and three make five") and text.endswith("is5")


def test_a_busy_server_answers_503_and_a_slow_one_504_and_both_keep_serving():
    slow = Scripted(delay=1.5)
    settings = ServerSettings(served_name="m", max_concurrency=1, queue_timeout=0.2, request_timeout=1.0)
    with serving(create_app(slow, settings)) as url:
        body = {"model": "m", "messages": ASK, "max_tokens": 4}
        results = {}

        def call(name):
            results[name] = httpx.post(f"{url}/chat/completions", json=body, timeout=30)

        first = threading.Thread(target=call, args=("first",))
        first.start()
        time.sleep(0.3)
        call("second")
        first.join()
        assert results["second"].status_code == 503 and results["second"].json()["error"]["code"] == "busy"
        assert results["first"].status_code == 504 and results["first"].json()["error"]["code"] == "timeout"
        slow.delay = 0.0
        time.sleep(1.6)  # the timed-out work drains
        assert httpx.post(f"{url}/chat/completions", json=body, timeout=30).status_code == 200


def test_a_client_that_leaves_mid_stream_cancels_the_work_and_frees_its_slot():
    model = Scripted(lambda r: " ".join(["word"] * 200), delay=0.02)
    settings = ServerSettings(served_name="m", max_concurrency=1, queue_timeout=2.0)
    with serving(create_app(model, settings)) as url:
        stream = _client(url).chat.completions.create(model="m", messages=ASK, stream=True)
        for i, _ in enumerate(stream):
            if i == 3:
                break
        stream.close()
        assert model.cancelled.wait(5)  # the upstream stopped generating for nobody
        model.reply, model.delay = (lambda r: "ok"), 0.0
        r = _client(url).chat.completions.create(model="m", messages=ASK)  # the one slot is free again
        assert r.choices[0].message.content == "ok"


def test_streamed_choices_carry_their_index_and_say_the_path():
    model = Scripted()
    with serving(create_app(model, ServerSettings(served_name="m"))) as url:
        chunks = list(_client(url).chat.completions.create(model="auto/m", messages=ASK, n=2, stream=True))
    finishes = [c.choices[0] for c in chunks if c.choices and c.choices[0].finish_reason]
    assert sorted(f.index for f in finishes) == [0, 1]
    assert all(f.model_extra["fastslow"] == {"method": "auto", "path": "fast"} for f in finishes)


def test_unknown_paths_and_faults_get_openai_error_bodies_and_failures_are_logged(tmp_path):
    class Broken(Scripted):
        def generate(self, requests):
            raise RuntimeError("boom")

    log = tmp_path / "requests.jsonl"
    with serving(create_app(Broken(), ServerSettings(served_name="m", log_requests=str(log)))) as url:
        missing = httpx.get(f"{url}/nothing")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        fault = httpx.post(f"{url}/chat/completions", json={"model": "cot/m", "messages": ASK})
        assert fault.status_code == 500 and "boom" in fault.json()["error"]["message"]
        assert httpx.get(url.removesuffix("/v1") + "/health").status_code == 200
    [row] = [json.loads(line) for line in log.read_text().splitlines()]
    assert row["status"] == 500 and row["error"] == "boom" and row["method"] == "cot"
    assert row["question"] == ASK[0]["content"] and "completion_tokens" not in row


def test_a_chunked_body_over_the_limit_is_413():
    settings = ServerSettings(served_name="m", max_body_bytes=1000)
    with serving(create_app(Scripted(), settings)) as url:
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * 5000}]}).encode()
        r = httpx.post(f"{url}/chat/completions", content=iter([body[:2000], body[2000:]]),
                       headers={"content-type": "application/json"})  # fmt: skip
        assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"


def test_client_defaults_pass_and_fields_that_change_the_answer_are_named():
    from fastslow.serve.protocol import ChatRequest

    def field(**kw):
        return ChatRequest(model="m", messages=ASK, **kw).unsupported()

    # What clients such as Open WebUI send by default is no request to do anything.
    assert field(presence_penalty=0, frequency_penalty=0.0, tool_choice="none", logprobs=False) is None
    assert field(response_format={"type": "text"}, modalities=["text"], tools=[]) is None
    assert field(response_format={"type": "json_schema", "json_schema": {}}) == "response_format"
    assert field(tool_choice="required") == "tool_choice"
    assert field(top_logprobs=3) == "top_logprobs"
    assert field(frequency_penalty=0.5) == "frequency_penalty"
