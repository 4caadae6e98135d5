"""A Model backed by any OpenAI-compatible chat-completions server (OpenAI, vLLM, SGLang, llama.cpp, TGI,
Ollama, ...), through the official ``openai`` client.

How a batch runs
----------------
``generate`` sends every request at once, at most ``concurrency`` HTTP calls in flight, from a thread
pool using the synchronous client. We chose threads over ``asyncio`` + ``AsyncOpenAI`` because the work is
pure waiting on sockets (the GIL is released), the pool is small, and threads make ``generate`` a plain
function callable from anywhere: scripts, other threads, and also code that already runs an event loop
(Jupyter, an async web handler), where ``asyncio.run`` would refuse to start. The synchronous client
(one ``httpx`` connection pool) is thread-safe and shared by all calls.

Samples (``n``)
---------------
A request for ``n`` samples is first sent as one call with ``n``. Some servers ignore ``n`` (llama.cpp's
returns a single choice): when fewer choices come back than asked, the missing samples are made as
separate calls of one sample each, sample ``i`` with seed ``request.seed + i``, so self-consistency gets
``n`` real samples. Once a server has been seen to ignore ``n``, later requests are split up front.

Retries and errors
------------------
The client's own retries are turned off (it would also retry refused connections, with backoff, for
seconds): we retry here, with exponential backoff and jitter (0.5 s, 1 s, 2 s, ... up to 8 s, or the
server's ``Retry-After``), on HTTP 408/409/429, 5xx, read timeouts and connections dropped mid-request,
``max_retries`` times. A server that cannot be reached (connection refused, unknown host, connect
timeout) fails at once, and any other HTTP 4xx is not retried: both raise a one-line ``FastslowError``
naming the URL. ``Request.prefill`` is not supported (``supports_prefill = False``) and is ignored.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import openai

try:  # the transport of recent ``openai`` releases; older ones use ``httpx``
    import httpx2 as _httpx
except ImportError:  # pragma: no cover
    import httpx as _httpx  # type: ignore[no-redef]

from fastslow.errors import FastslowError, UpstreamError
from fastslow.models.base import Completion, Request, truncate_at_stop

DUMMY_API_KEY = "sk-no-key-needed"  # local servers accept any key; the client insists on one
CONNECT_TIMEOUT = 10.0  # seconds to open a connection (the overall ``timeout`` bounds a whole call)
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 60.0  # honour a server's Retry-After up to this many seconds
MAX_SERVER_STOPS = 4  # the OpenAI API takes at most 4 stop strings; further ones are applied here
RETRY_STATUS = frozenset({408, 409, 429})  # and every 5xx
CHARS_PER_TOKEN = 4  # rough estimate, used only when a server reports no ``usage``


@dataclass
class _Call:
    """One HTTP call: ``n`` samples of request ``index``, the first being sample ``first_sample``."""

    index: int
    first_sample: int
    n: int


@dataclass
class _Sample:
    text: str
    finish_reason: str
    tokens: int
    logprob: float | None


@dataclass
class _Result:
    call: _Call
    samples: list[_Sample]
    prompt_tokens: int
    completion_tokens: int
    started: float
    ended: float


class _Aborted(Exception):
    """Another call of the batch failed: stop this one quietly."""


class OpenAIModel:
    """A served model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    ``base_url`` is the API root, usually ending in ``/v1`` (``http://127.0.0.1:8080/v1``).
    ``api_key`` defaults to ``$OPENAI_API_KEY``, else a dummy key (local servers need none).
    ``timeout`` bounds one HTTP call in seconds; ``max_retries`` is the number of retries after the
    first try of a call that failed transiently (see the module docstring).
    """

    supports_prefill = False

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        concurrency: int = 8,
        timeout: float = 120.0,
        max_retries: int = 4,
    ) -> None:
        base_url = base_url.strip().rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise FastslowError(
                f"the OpenAI-compatible server URL must start with http:// or https://, got {base_url!r} "
                "(for example http://127.0.0.1:8080/v1)"
            )
        if not model:
            raise FastslowError(f"no model name given for the OpenAI-compatible server at {base_url}")
        if concurrency < 1:
            raise FastslowError(f"concurrency must be at least 1, got {concurrency}")
        if timeout <= 0:
            raise FastslowError(f"timeout must be positive, got {timeout}")
        if max_retries < 0:
            raise FastslowError(f"max_retries must be at least 0, got {max_retries}")
        self.model = model
        self.base_url = base_url
        self.name = f"openai:{model}@{base_url}"
        self.concurrency = concurrency
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or DUMMY_API_KEY,
            timeout=_httpx.Timeout(self.timeout, connect=min(CONNECT_TIMEOUT, self.timeout)),
            max_retries=0,  # retries are ours: the client's would retry refused connections too
        )
        # Whether the server honours ``n``: None until a call with n > 1 tells.
        self._honours_n: bool | None = None

    def __repr__(self) -> str:
        return f"OpenAIModel(model={self.model!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the HTTP connections (the model cannot be used afterwards)."""
        self._client.close()

    def __enter__(self) -> OpenAIModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the Model protocol ---------------------------------------------------------------------

    def generate(self, requests: list[Request]) -> list[Completion]:
        """Draw every request's samples, ``concurrency`` HTTP calls at a time; completions in order."""
        requests = list(requests)
        if not requests:
            return []
        if len(requests) == 1 and requests[0].n == 1:  # one call: no pool (the proxy's usual case)
            return [
                self._completion(
                    requests[0], [self._run_call(requests[0], _Call(0, 0, 1), threading.Event())]
                )
            ]
        results: list[list[_Result]] = [[] for _ in requests]
        abort = threading.Event()
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="fastslow-openai")
        pending: dict[Future[_Result], _Call] = {}

        def submit(call: _Call) -> None:
            pending[pool.submit(self._run_call, requests[call.index], call, abort)] = call

        try:
            for i, request in enumerate(requests):
                if request.n > 1 and self._honours_n is False:
                    for s in range(request.n):
                        submit(_Call(i, s, 1))
                else:
                    submit(_Call(i, 0, request.n))
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    call = pending.pop(future)
                    result = future.result()  # raises FastslowError: handled below
                    results[call.index].append(result)
                    got = len(result.samples)
                    if call.n > 1:
                        self._honours_n = got >= call.n
                    # Fewer choices than asked (the server ignores ``n``): one call per missing sample.
                    for s in range(call.first_sample + got, call.first_sample + call.n):
                        submit(_Call(call.index, s, 1))
        except BaseException:
            abort.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return [self._completion(request, parts) for request, parts in zip(requests, results, strict=True)]

    # -- one request's completion from its calls ------------------------------------------------

    @staticmethod
    def _completion(request: Request, parts: list[_Result]) -> Completion:
        parts = sorted(parts, key=lambda r: r.call.first_sample)
        samples = [s for r in parts for s in r.samples][: request.n]
        return Completion(
            texts=[s.text for s in samples],
            prompt_tokens=sum(r.prompt_tokens for r in parts),
            completion_tokens=sum(r.completion_tokens for r in parts),
            # Wall time of this request: from its first call leaving to its last call's answer.
            seconds=max(r.ended for r in parts) - min(r.started for r in parts),
            finish_reasons=[s.finish_reason for s in samples],
            sample_tokens=[s.tokens for s in samples],
            logprobs=[s.logprob if request.logprobs else None for s in samples],
        )

    # -- one HTTP call, with retries ------------------------------------------------------------

    def _params(self, request: Request, call: _Call) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "seed": request.seed + call.first_sample,
        }
        if call.n > 1:
            params["n"] = call.n
        stops = [s for s in request.stop if s]
        if stops:
            params["stop"] = stops[:MAX_SERVER_STOPS]
        if request.logprobs:
            # llama.cpp's server returns logprobs only when ``top_logprobs`` is set too; 1 suits every server.
            params["logprobs"] = True
            params["top_logprobs"] = 1
        return params

    def _run_call(self, request: Request, call: _Call, abort: threading.Event) -> _Result:
        params = self._params(request, call)
        started = time.perf_counter()  # retries count in the call's time
        for attempt in range(self.max_retries + 1):
            if abort.is_set():
                raise _Aborted
            retry_after: float | None = None
            try:
                response = self._client.chat.completions.create(**params)
            except openai.APIConnectionError as err:  # APITimeoutError is a subclass
                if _connect_failed(err):
                    raise UpstreamError(
                        f"cannot reach the OpenAI-compatible server at {self.base_url}: "
                        f"{_root_cause(err)} (is it running?)"
                    ) from None
                if isinstance(err, openai.APITimeoutError):
                    why = f"no answer within {self.timeout:g} s"
                else:  # the connection broke mid-request
                    why = f"connection lost: {_root_cause(err)}"
            except openai.APIStatusError as err:
                status = err.status_code
                if status not in RETRY_STATUS and status < 500:
                    raise UpstreamError(self._status_message(err)) from None
                why = f"HTTP {status}: {_server_message(err)}"
                retry_after = _retry_after(err.response)
            except openai.APIError as err:  # an answer that does not parse
                raise UpstreamError(
                    f"bad answer from the OpenAI-compatible server at {self.base_url}: {_one_line(str(err))}"
                ) from None
            else:
                return self._result(request, call, response, started, time.perf_counter())
            if attempt == self.max_retries:
                tries = "1 try" if attempt == 0 else f"{attempt + 1} tries"
                raise UpstreamError(
                    f"the OpenAI-compatible server at {self.base_url} failed after {tries}: {why}",
                    timeout=why.startswith("no answer within"),
                )
            delay = min(INITIAL_BACKOFF * 2**attempt, MAX_BACKOFF) * (1 - 0.25 * random.random())
            if retry_after is not None:
                delay = retry_after
            if abort.wait(delay):
                raise _Aborted
        raise AssertionError("unreachable")  # pragma: no cover

    def stream(
        self,
        request: Request,
        on_text: Callable[[str], None],
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Completion:
        """One sample of ``request`` streamed from the server (``stream=true``): its text goes to
        ``on_text`` as it arrives (cut at a stop string the server did not apply, text that may begin
        one held back); ``cancelled()`` true closes the stream. Usage comes from the server's usage
        chunk where it sends one (a server that refuses ``stream_options`` is asked again without);
        a failure is not retried, since part of the text may have reached the client."""
        if request.n != 1:
            raise ValueError("stream() draws one sample; use generate() for n > 1")
        params = self._params(request, _Call(0, 0, 1))
        params.pop("logprobs", None), params.pop("top_logprobs", None)
        started = time.perf_counter()
        stops = [s for s in request.stop if s]
        hold = max((len(s) for s in stops), default=1) - 1  # text that may begin a stop string waits
        parts: list[str] = []
        sent = 0
        reason, usage = "unknown", None

        def flush(final: bool) -> bool:
            """Hand on what is settled; True once a stop string (beyond the server's 4) was hit."""
            nonlocal sent
            text, hit = truncate_at_stop("".join(parts), stops)
            safe = len(text) if hit or final else len(text) - hold
            if safe > sent:
                on_text(text[sent:safe])
                sent = safe
            return hit

        try:
            try:
                stream = self._client.chat.completions.create(
                    **params, stream=True, stream_options={"include_usage": True}
                )
            except openai.BadRequestError as err:  # an older server that knows no stream_options
                if "stream_options" not in str(err):
                    raise
                stream = self._client.chat.completions.create(**params, stream=True)
            with stream:
                for chunk in stream:
                    if cancelled():
                        reason = "cancelled"
                        break
                    if getattr(chunk, "usage", None) is not None:
                        usage = chunk.usage
                    for choice in chunk.choices or []:
                        delta = choice.delta.content if choice.delta is not None else None
                        if delta:
                            parts.append(delta)
                        if choice.finish_reason:
                            reason = choice.finish_reason
                    if flush(final=False):
                        reason = "stop"
                        break
        except openai.APIConnectionError as err:
            if _connect_failed(err):
                raise UpstreamError(
                    f"cannot reach the OpenAI-compatible server at {self.base_url}: {_root_cause(err)}"
                ) from None
            timeout = isinstance(err, openai.APITimeoutError)
            why = (
                f"no answer within {self.timeout:g} s" if timeout else f"connection lost: {_root_cause(err)}"
            )
            raise UpstreamError(f"the OpenAI-compatible server at {self.base_url}: {why}", timeout) from None
        except openai.APIStatusError as err:
            raise UpstreamError(self._status_message(err)) from None
        except openai.APIError as err:
            raise UpstreamError(
                f"bad answer from the OpenAI-compatible server at {self.base_url}: {_one_line(str(err))}"
            ) from None
        flush(final=True)
        text = truncate_at_stop("".join(parts), stops)[0]
        if usage is not None and usage.completion_tokens is not None:
            prompt_tokens, completion_tokens = usage.prompt_tokens or 0, usage.completion_tokens
        else:
            prompt_tokens, completion_tokens = _estimate_prompt_tokens(request), _estimate_tokens(text)
        return Completion(
            texts=[text],
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            seconds=time.perf_counter() - started,
            finish_reasons=[reason],
            sample_tokens=[completion_tokens],
            logprobs=[None],
        )

    def _status_message(self, err: openai.APIStatusError) -> str:
        status = err.status_code
        hint = ""
        if status in (401, 403):
            hint = " (check the API key: $OPENAI_API_KEY or --api-key)"
        elif status == 404:
            hint = f" (check the model name {self.model!r} and the URL, which usually ends in /v1)"
        return (
            f"the OpenAI-compatible server at {self.base_url} answered HTTP {status}: "
            f"{_server_message(err)}{hint}"
        )

    def _result(self, request: Request, call: _Call, response: Any, started: float, ended: float) -> _Result:
        choices = sorted(response.choices or [], key=lambda c: c.index or 0)[: call.n]
        if not choices:
            raise UpstreamError(f"the OpenAI-compatible server at {self.base_url} returned no choices")
        texts: list[str] = []
        finish: list[str] = []
        logprobs: list[float | None] = []
        counted: list[int | None] = []  # tokens per choice where the logprobs tell
        for choice in choices:
            text = choice.message.content or ""
            reason = choice.finish_reason or "unknown"
            # Stop strings beyond the API's limit of 4 (or a server that keeps them) are cut here.
            text, stopped = truncate_at_stop(text, request.stop)
            if stopped:
                reason = "stop"
            content = choice.logprobs.content if choice.logprobs is not None else None
            texts.append(text)
            finish.append(reason)
            logprobs.append(math.fsum(t.logprob for t in content) if content is not None else None)
            counted.append(len(content) if content is not None else None)

        usage = response.usage
        if usage is not None and usage.completion_tokens is not None:
            prompt_tokens = usage.prompt_tokens or 0
            completion_tokens = usage.completion_tokens
        else:
            # No ``usage`` in the answer (some servers omit it): an estimate, ~4 characters a token.
            prompt_tokens = _estimate_prompt_tokens(request)
            completion_tokens = sum(
                c if c is not None else _estimate_tokens(t) for c, t in zip(counted, texts, strict=True)
            )
        sample_tokens = _split_tokens(completion_tokens, texts, counted)
        samples = [
            _Sample(t, f, k, lp) for t, f, k, lp in zip(texts, finish, sample_tokens, logprobs, strict=True)
        ]
        return _Result(call, samples, prompt_tokens, completion_tokens, started, ended)


# -- helpers ------------------------------------------------------------------------------------


def _split_tokens(total: int, texts: list[str], counted: list[int | None]) -> list[int]:
    """Each sample's share of ``total`` completion tokens.

    One sample gets all of them; several get their logprob counts where known, else shares of ``total``
    proportional to their text lengths (an estimate: ``usage`` only gives the total).
    """
    if len(texts) == 1:
        return [total]
    if all(c is not None for c in counted):
        return [int(c) for c in counted]  # type: ignore[arg-type]
    lengths = [max(len(t), 1) for t in texts]
    shares = [total * n // sum(lengths) for n in lengths]
    shares[-1] += total - sum(shares)
    return shares


def _estimate_tokens(text: str) -> int:
    return max(1, round(len(text) / CHARS_PER_TOKEN))


def _estimate_prompt_tokens(request: Request) -> int:
    # The content plus a few tokens of chat-template markup per message.
    return sum(_estimate_tokens(m.get("content", "")) + 4 for m in request.messages)


def _causes(err: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    cur: BaseException | None = err
    while cur is not None and cur not in chain:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    return chain


def _connect_failed(err: BaseException) -> bool:
    """Whether no connection could be opened (as opposed to one that broke or timed out reading)."""
    return any(
        isinstance(e, (_httpx.ConnectError, _httpx.ConnectTimeout, ConnectionRefusedError))
        or type(e).__name__ in ("ConnectError", "ConnectTimeout", "gaierror")
        for e in _causes(err)
    )


def _root_cause(err: BaseException) -> str:
    """The innermost reason, as one line: "Connection refused", "Name or service not known", ..."""
    for e in reversed(_causes(err)):
        if isinstance(e, OSError) and e.strerror:
            return e.strerror
        text = str(e).strip()
        if text:
            if isinstance(e, _httpx.TimeoutException) or type(e).__name__ == "ConnectTimeout":
                return f"connection timed out ({text})"
            return _one_line(text)
    return type(err).__name__


def _server_message(err: openai.APIStatusError) -> str:
    """The server's own error message, as one line."""
    body = err.body
    message: Any = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            message = inner.get("message") or inner.get("detail")
        elif isinstance(inner, str):
            message = inner
        if isinstance(message, list):  # FastAPI validation errors: [{"loc": [...], "msg": "..."}]
            message = "; ".join(
                f"{'.'.join(str(x) for x in d.get('loc', []))}: {d.get('msg', d)}"
                if isinstance(d, dict)
                else str(d)
                for d in message
            )
    elif isinstance(body, str):
        message = body
    if not message:
        try:
            message = err.response.text
        except Exception:  # pragma: no cover - a streamed body that cannot be read
            message = None
    return _one_line(str(message or err.message or "no message"))


def _retry_after(response: Any) -> float | None:
    try:
        value = float(response.headers.get("retry-after", ""))
    except (TypeError, ValueError, AttributeError):
        return None
    return value if 0 < value <= MAX_RETRY_AFTER else None


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
