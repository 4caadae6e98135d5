"""OpenAIModel against a real OpenAI-compatible server (llama.cpp's, on loopback, with the embedded model),
plus a scripted stub server for what a healthy server will not do on demand (429/5xx, no ``usage``)."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fastslow.errors import FastslowError
from fastslow.models import openai_api
from fastslow.models.base import Model, Request
from fastslow.models.openai_api import OpenAIModel
from tests.llama_server import MODEL_ALIAS, free_port, llama_server  # noqa: F401

REASONS = {"stop", "length"}


def ask(content: str, **kw: object) -> Request:
    return Request(messages=[{"role": "user", "content": content}], **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def model(llama_server: str) -> Iterator[OpenAIModel]:  # noqa: F811
    with OpenAIModel(MODEL_ALIAS, llama_server, concurrency=4) as m:
        yield m


def test_protocol_and_name(llama_server: str) -> None:  # noqa: F811
    m = OpenAIModel("some-model", llama_server + "/")
    assert isinstance(m, Model)
    assert m.name == f"openai:some-model@{llama_server}"
    assert m.supports_prefill is False


def test_greedy_request_returns_text_and_token_counts(model: OpenAIModel) -> None:
    [c] = model.generate([ask("What is the capital of France?", max_tokens=16)])
    assert len(c.texts) == 1 and c.texts[0].strip()
    assert c.prompt_tokens > 0 and 0 < c.completion_tokens <= 16
    assert c.sample_tokens == [c.completion_tokens]
    assert c.finish_reasons[0] in REASONS
    assert c.seconds > 0
    assert c.logprobs == [None]


def test_batch_comes_back_in_order(model: OpenAIModel) -> None:
    # Prompts of growing length: their prompt token counts must grow in the order asked.
    sizes = [1, 15, 30, 45, 60, 75]
    requests = [ask("Repeat: " + "apple " * k, max_tokens=4) for k in sizes]
    completions = model.generate(requests)
    assert len(completions) == len(requests)
    prompt_tokens = [c.prompt_tokens for c in completions]
    assert prompt_tokens == sorted(prompt_tokens) and len(set(prompt_tokens)) == len(sizes)
    for c in completions:
        assert len(c.texts) == 1 and c.completion_tokens > 0


def test_n_samples_fall_back_to_separate_calls_with_distinct_seeds(
    model: OpenAIModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    completions_api = model._client.chat.completions
    sent: list[tuple[int | None, int]] = []
    real_create = completions_api.create

    def spy(**params: object) -> object:
        sent.append((params.get("n"), params["seed"]))  # type: ignore[arg-type]
        return real_create(**params)

    monkeypatch.setattr(completions_api, "create", spy)
    request = ask("Write a poem about the sea.", n=3, temperature=0.8, max_tokens=12, seed=7)
    [c] = model.generate([request])
    assert len(c.texts) == 3 and len(c.finish_reasons) == 3 and len(c.sample_tokens) == 3
    assert all(r in REASONS for r in c.finish_reasons)
    assert len(set(c.texts)) > 1  # real samples, not one sample three times
    assert c.completion_tokens == sum(c.sample_tokens) and all(k > 0 for k in c.sample_tokens)
    # llama.cpp ignores n: the first call asked for 3, the missing two came one by one with seeds 8, 9.
    assert sent[0] == (3, 7) and sorted(sent[1:]) == [(None, 8), (None, 9)]
    # Now that the server is known to ignore n, a request is split up front.
    sent.clear()
    [c2] = model.generate([request])
    assert len(c2.texts) == 3
    assert sorted(sent) == [(None, 7), (None, 8), (None, 9)]


def test_stop_strings_cut_the_text(model: OpenAIModel) -> None:
    prompt = "Describe the ocean in two sentences."
    [plain, stopped, many] = model.generate(
        [
            ask(prompt, max_tokens=24),
            ask(prompt, max_tokens=24, stop=(" ",)),
            # Beyond the API's 4 stop strings: the fifth is applied by the client.
            ask(prompt, max_tokens=24, stop=("@@1", "@@2", "@@3", "@@4", " ")),
        ]
    )
    assert " " in plain.texts[0].strip()  # the unstopped text has several words
    for c in (stopped, many):
        assert " " not in c.texts[0]
        assert c.finish_reasons == ["stop"]
    assert stopped.completion_tokens < 24


def test_logprobs_are_summed_floats(model: OpenAIModel) -> None:
    [c] = model.generate([ask("Say hello.", max_tokens=6, logprobs=True, n=2, temperature=0.8)])
    assert len(c.logprobs) == 2
    for lp in c.logprobs:
        assert isinstance(lp, float) and math.isfinite(lp) and lp <= 0.0


def test_unreachable_server_fails_fast_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    m = OpenAIModel("any", url)
    start = time.monotonic()
    with pytest.raises(FastslowError) as info:
        m.generate([ask("hi", max_tokens=2) for _ in range(3)])
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert url in message and "cannot reach" in message and "refused" in message.lower()
    assert "\n" not in message


def test_wrong_path_is_a_404_error(llama_server: str) -> None:  # noqa: F811
    url = llama_server.removesuffix("/v1") + "/nope"
    with pytest.raises(FastslowError, match="404") as info:
        OpenAIModel(MODEL_ALIAS, url).generate([ask("hi", max_tokens=2)])
    assert url in str(info.value)


def test_bad_request_gives_the_servers_message(model: OpenAIModel) -> None:
    with pytest.raises(FastslowError, match="400.*context") as info:
        model.generate([ask("word " * 3000, max_tokens=2)])  # beyond n_ctx=2048
    assert "\n" not in str(info.value)


def test_bad_base_url() -> None:
    with pytest.raises(FastslowError, match="http://"):
        OpenAIModel("m", "127.0.0.1:8000/v1")


# -- a scripted stub server: retries and a server without ``usage`` ----------------------------


def _chat_body(texts: list[str], usage: bool = True) -> dict[str, object]:
    body: dict[str, object] = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "stub",
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
            for i, t in enumerate(texts)
        ],
    }
    if usage:
        body["usage"] = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    return body


@pytest.fixture
def stub() -> Iterator[tuple[str, list[tuple[int, dict[str, object]]], list[dict[str, object]]]]:
    """A server answering POSTs from a script of (status, body); it records the request bodies."""
    script: list[tuple[int, dict[str, object]]] = []
    seen: list[dict[str, object]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                seen.append(body)
                status, answer = script.pop(0) if script else (200, _chat_body(["ok"]))
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", script, seen
    finally:
        server.shutdown()
        server.server_close()


def test_retries_on_429_and_5xx_then_succeeds(stub, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url, script, seen = stub
    monkeypatch.setattr(openai_api, "INITIAL_BACKOFF", 0.01)
    error = {"error": {"message": "busy"}}
    script.extend([(429, error), (503, error), (500, error), (200, _chat_body(["fine"]))])
    [c] = OpenAIModel("stub", url, max_retries=3).generate([ask("hi")])
    assert c.texts == ["fine"] and len(seen) == 4


def test_gives_up_after_max_retries(stub, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url, script, seen = stub
    monkeypatch.setattr(openai_api, "INITIAL_BACKOFF", 0.01)
    script.extend([(503, {"error": {"message": "overloaded"}})] * 3)
    with pytest.raises(FastslowError, match=r"after 2 tries: HTTP 503: overloaded"):
        OpenAIModel("stub", url, max_retries=1).generate([ask("hi")])
    assert len(seen) == 2


def test_client_error_is_not_retried(stub) -> None:  # type: ignore[no-untyped-def]
    url, script, seen = stub
    script.append((401, {"error": {"message": "invalid api key"}}))
    with pytest.raises(FastslowError, match=r"HTTP 401: invalid api key.*OPENAI_API_KEY"):
        OpenAIModel("stub", url).generate([ask("hi")])
    assert len(seen) == 1


def test_missing_usage_is_estimated_and_server_n_is_used(stub) -> None:  # type: ignore[no-untyped-def]
    url, script, seen = stub
    script.append((200, _chat_body(["abcdefgh", "abcd"], usage=False)))
    [c] = OpenAIModel("stub", url).generate([ask("x" * 40, n=2, temperature=1.0)])
    assert c.texts == ["abcdefgh", "abcd"] and len(seen) == 1 and seen[0]["n"] == 2
    assert c.sample_tokens == [2, 1] and c.completion_tokens == 3
    assert c.prompt_tokens > 0
