"""`fastslow serve`: an OpenAI-compatible reasoning proxy (FastAPI, run by uvicorn).

Endpoints: ``POST /v1/chat/completions``, ``GET /v1/models``, ``GET /health``.

Which strategy answers a request, first match wins:
1. ``extra_body={"fastslow": {"method": "sc", "params": {"k": 5}}}``;
2. a method prefix on the model name: ``sc/MODEL`` (``/v1/models`` lists every such name);
3. ``reasoning_effort``: ``minimal|low|medium|high`` mapped to methods (``--effort LEVEL=METHOD``);
4. the server's ``--method`` (default ``none``: the conversation goes upstream unchanged).
Per-request settings live in the request only: nothing a request sets is seen by another. Without
a ``seed`` a request draws fresh samples (a random seed); with one, choice i uses seed + i.

Production basics: an optional API key (``Authorization: Bearer KEY``, compared in constant time;
401 without it); OpenAI-style error bodies for every error (400 malformed JSON, missing fields or
bad parameters, 404 unknown model or path, 413 body too large, 422 values out of range, 500 a fault
of ours); an upstream failure is 502, an upstream timeout or the request timeout 504, and the server
keeps serving; at most ``max_concurrency`` requests run at once, others wait up to
``queue_timeout`` seconds (then 503). A request's slot is released however it ends, a client that
disconnects included, and its work is cancelled.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError, UpstreamError
from fastslow.serve.engine import (
    PASSTHROUGH,
    Outcome,
    Plan,
    answer,
    check_method,
    last_user,
    make_strategy,
    model_lock,
)
from fastslow.serve.protocol import ChatRequest, chunk_body, completion_body, error_body, new_id, usage_body
from fastslow.serve.settings import ServerSettings
from fastslow.strategies.registry import STRATEGIES, parameters


class HTTPError(Exception):
    def __init__(
        self, status: int, message: str, type_: str, code: str | None = None, param: str | None = None
    ):
        super().__init__(message)
        self.status, self.body = status, error_body(message, type_, code, param)


def plan_for(req: ChatRequest, messages: list[dict[str, str]], settings: ServerSettings) -> Plan:
    """The method and parameters this request asks for (see the module docstring); every error a
    request can cause is raised here, before it takes a slot or a stream starts."""
    name, method = req.model, None
    if "/" in req.model:
        prefix, _, rest = req.model.partition("/")
        if prefix == PASSTHROUGH or prefix in STRATEGIES:
            method, name = prefix, rest
    if name != settings.served_name:
        raise HTTPError(404, f"The model {req.model!r} does not exist; see GET /v1/models",
                        "invalid_request_error", "model_not_found", "model")  # fmt: skip
    options = req.fastslow
    if options is not None and options.method:
        method = options.method
    if method is None and req.reasoning_effort is not None:
        method = settings.efforts.get(req.reasoning_effort)
    method = method or settings.method
    try:
        check_method(method)
    except FastslowError as exc:
        raise HTTPError(400, str(exc), "invalid_request_error", "unknown_method", "fastslow.method") from None
    params = [f"{method}.{k}={v}" for k, v in (options.params if options else {}).items()]
    if params and method == PASSTHROUGH:
        raise HTTPError(
            400, "fastslow.params need a method", "invalid_request_error", None, "fastslow.params"
        )
    field = req.unsupported()
    if field is not None:
        raise HTTPError(400, f"{field} is not supported by this proxy (it would be ignored, not applied)",
                        "invalid_request_error", "unsupported_parameter", field)  # fmt: skip
    if req.stream_options is not None and not req.stream:
        raise HTTPError(400, "stream_options is only allowed with stream=true", "invalid_request_error",
                        None, "stream_options")  # fmt: skip
    plan = Plan(
        method=method,
        params=params,
        temperature=req.temperature,
        top_p=req.top_p,
        max_tokens=req.token_limit,
        stop=req.stop,  # type: ignore[arg-type]
        seed=req.seed,
        include_reasoning=bool(options and options.include_reasoning),
    )
    if method != PASSTHROUGH:
        try:
            last_user(messages)
            make_strategy(plan)
        except FastslowError as exc:
            raise HTTPError(400, str(exc), "invalid_request_error", "bad_request") from None
    return plan


def choice_plan(plan: Plan, index: int, base_seed: int) -> Plan:
    """Choice ``index``'s plan: seed ``base_seed + index`` for the final stage, and for the
    strategy's own sampling where it has a seed and the request's params do not set it."""
    seed = base_seed + index
    params = plan.params
    if plan.method != PASSTHROUGH and "seed" in parameters(STRATEGIES[plan.method]):
        if not any(p.partition("=")[0].endswith(".seed") for p in params):
            params = [*params, f"{plan.method}.seed={seed}"]
    return replace(plan, seed=seed, params=params)


def _messages(req: ChatRequest) -> list[dict[str, str]]:
    try:
        return [
            {"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in req.messages
        ]
    except ValueError as exc:
        raise HTTPError(400, str(exc), "invalid_request_error", None, "messages") from None


def _status(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, UpstreamError):
        return (504 if exc.timeout else 502), "upstream_error"
    if isinstance(exc, FastslowError):
        return 400, "invalid_request_error"
    return 500, "server_error"


class _Guard:
    """Pure ASGI middleware on /v1/: the API key, and the body size (counted as it arrives, so a
    chunked upload without a Content-Length is bounded too)."""

    def __init__(self, app: Any, settings: ServerSettings):
        self.app, self.settings = app, settings

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        key = self.settings.api_key
        if key is not None:
            auth = headers.get("authorization", "")
            given = auth[7:] if auth.lower().startswith("bearer ") else ""
            if not hmac.compare_digest(given.encode(), key.encode()):
                return await _reply(send, 401, error_body("Incorrect or missing API key", "invalid_request_error",
                                                          "invalid_api_key"))  # fmt: skip
        limit = self.settings.max_body_bytes
        length = headers.get("content-length", "")
        too_large = error_body(
            f"request body over {limit} bytes", "invalid_request_error", "request_too_large"
        )
        if length.isdigit() and int(length) > limit:
            return await _reply(send, 413, too_large)
        seen, rejected = 0, False

        async def counted() -> dict:
            nonlocal seen, rejected
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit and not rejected:  # answer 413 now; the app sees the client gone
                    rejected = True
                    await _reply(send, 413, too_large)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: dict) -> None:
            if not rejected:
                await send(message)

        await self.app(scope, counted, guarded_send)


async def _reply(send: Any, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": data})


def create_app(model: Any, settings: ServerSettings) -> Any:
    """The ASGI app serving ``model`` (any fastslow backend) under ``settings.served_name``."""
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app = FastAPI(title="fastslow reasoning proxy", docs_url=None, redoc_url=None, openapi_url=None)
    lock = model_lock(model)
    slots = asyncio.Semaphore(settings.max_concurrency)
    # Worker threads of our own: n choices of every admitted request run at once.
    pool = ThreadPoolExecutor(max_workers=settings.max_concurrency * 16, thread_name_prefix="fastslow-serve")
    log_lock = threading.Lock()

    def log(row: dict[str, Any]) -> None:
        if settings.log_requests:
            with log_lock, Path(settings.log_requests).open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")

    @app.exception_handler(HTTPError)
    async def _http_error(_: Any, exc: HTTPError) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _starlette_error(_: Any, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else None
        return JSONResponse(
            error_body(str(exc.detail), "invalid_request_error", code), status_code=exc.status_code
        )

    @app.exception_handler(Exception)
    async def _fault(_: Any, exc: Exception) -> JSONResponse:
        return JSONResponse(error_body(f"internal error: {type(exc).__name__}: {exc}", "server_error"), 500)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Any, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        kind = first.get("type", "")
        status = 400 if kind in ("missing", "json_invalid", "model_attributes_type") or not where else 422
        message = (
            f"{where}: {first.get('msg', 'invalid request')}"
            if where
            else first.get("msg", "invalid request")
        )
        return JSONResponse(error_body(message, "invalid_request_error", kind or None, where or None), status)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": settings.served_name}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        names = [settings.served_name] + [f"{m}/{settings.served_name}" for m in [PASSTHROUGH, *STRATEGIES]]
        return {
            "object": "list",
            "data": [{"id": n, "object": "model", "created": 0, "owned_by": "fastslow"} for n in names],
        }

    @app.post("/v1/chat/completions")
    async def chat(req: ChatRequest) -> Any:
        messages = _messages(req)
        plan = plan_for(req, messages, settings)
        base_seed = req.seed if req.seed is not None else secrets.randbelow(2**31)
        plans = [choice_plan(plan, i, base_seed) for i in range(req.n)]
        try:
            await asyncio.wait_for(slots.acquire(), settings.queue_timeout)
        except asyncio.TimeoutError:
            raise HTTPError(503, "the server is busy; retry later", "server_error", "busy") from None
        release = _once(slots.release)
        started = time.perf_counter()
        if req.stream:
            try:
                stream = _stream(req, plan, plans, messages, started, release)
                return _SlotStream(
                    stream, release, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
                )
            except BaseException:
                release()
                raise
        cancel = threading.Event()
        loop = asyncio.get_running_loop()
        try:
            runs = [
                loop.run_in_executor(pool, answer, model, messages, p, lock, None, None, cancel.is_set)
                for p in plans
            ]
            outcomes = await asyncio.wait_for(asyncio.gather(*runs), settings.request_timeout)
        except asyncio.TimeoutError:
            message = f"no answer within {settings.request_timeout:g} s"
            _log_failure(req, plan, messages, 504, message, started)
            raise HTTPError(504, message, "server_error", "timeout") from None
        except (FastslowError, UpstreamError) as exc:
            status, kind = _status(exc)
            _log_failure(req, plan, messages, status, str(exc), started)
            raise HTTPError(status, str(exc), kind) from None
        except Exception as exc:
            _log_failure(req, plan, messages, 500, str(exc), started)
            raise
        finally:
            cancel.set()  # whatever ended the request, its other choices stop too
            release()
        _log(req, plan, messages, outcomes, started)
        choices = []
        for i, o in enumerate(outcomes):
            message: dict[str, Any] = {"role": "assistant", "content": o.text}
            if plan.include_reasoning:
                message["reasoning_content"] = "\n\n".join(o.reasoning)
            choices.append(
                {"index": i, "message": message, "finish_reason": o.finish_reason, "logprobs": None}
            )
        return completion_body(new_id(), req.model, choices, _usage(outcomes), _info(plan, outcomes))

    class _SlotStream(StreamingResponse):
        """A stream that gives its slot back and closes its generator however the response ends,
        a client that left before the first chunk included (the generator's own ``finally`` would
        not run if it never started)."""

        def __init__(self, content: Any, release: Any, **kw: Any):
            super().__init__(content, **kw)
            self._release = release

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            import anyio

            try:
                await super().__call__(scope, receive, send)
            finally:
                with anyio.CancelScope(shield=True):
                    await self.body_iterator.aclose()  # type: ignore[union-attr]
                self._release()

    async def _stream(
        req: ChatRequest,
        plan: Plan,
        plans: list[Plan],
        messages: list[dict[str, str]],
        started: float,
        release: Any,
    ):
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        cancel = threading.Event()
        cid, created = new_id(), int(time.time())

        def put(item: tuple) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def run(i: int) -> None:
            try:
                o = answer(model, messages, plans[i], lock,
                           lambda d: put(("content", i, d)), lambda d: put(("reasoning", i, d)), cancel.is_set)  # fmt: skip
                put(("done", i, o))
            except BaseException as exc:  # noqa: BLE001 - reported to the client as an error event
                put(("error", i, exc))

        def sse(body: dict[str, Any]) -> str:
            return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

        def chunk(i: int, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            return sse(
                chunk_body(
                    cid, req.model, created, [{"index": i, "delta": delta, "finish_reason": finish, **extra}]
                )
            )

        outcomes: dict[int, Outcome] = {}
        try:
            for i in range(req.n):
                yield chunk(i, {"role": "assistant", "content": ""})
            for i in range(req.n):
                pool.submit(run, i)
            deadline = started + settings.request_timeout
            while len(outcomes) < req.n:
                try:
                    kind, i, value = await asyncio.wait_for(
                        queue.get(), max(0.0, deadline - time.perf_counter())
                    )
                except asyncio.TimeoutError:
                    message = f"no answer within {settings.request_timeout:g} s"
                    _log_failure(req, plan, messages, 504, message, started)
                    yield sse(error_body(message, "server_error", "timeout"))
                    return
                if kind == "content":
                    yield chunk(i, {"content": value})
                elif kind == "reasoning":
                    yield chunk(i, {"reasoning_content": value})
                elif kind == "error":
                    status, type_ = _status(value)
                    _log_failure(req, plan, messages, status, str(value), started)
                    yield sse(error_body(str(value), type_, str(status)))
                    return
                else:
                    outcomes[i] = value
                    yield chunk(
                        i, {}, value.finish_reason, fastslow={"method": plan.method, "path": value.path}
                    )
            ordered = [outcomes[i] for i in range(req.n)]
            if req.stream_options is not None and req.stream_options.include_usage:
                yield sse(chunk_body(cid, req.model, created, [], usage=_usage(ordered)))
            yield "data: [DONE]\n\n"
            _log(req, plan, messages, ordered, started)
        finally:
            cancel.set()  # a client gone mid-stream stops the upstream work
            release()

    def _entry(
        req: ChatRequest, plan: Plan, messages: list[dict[str, str]], started: float
    ) -> dict[str, Any]:
        """What every request-log row says: when, which model and method, the question, how long."""
        return {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "model": req.model,
            "method": plan.method,
            "question": messages[-1]["content"],
            "latency_s": round(time.perf_counter() - started, 3),
            "stream": req.stream,
        }

    def _log(
        req: ChatRequest, plan: Plan, messages: list[dict[str, str]], outcomes: list[Outcome], started: float
    ) -> None:
        usage = _usage(outcomes)
        log({
            **_entry(req, plan, messages, started),
            "paths": [o.path for o in outcomes],
            "prompt_tokens": usage["prompt_tokens"],
            "completion_tokens": usage["completion_tokens"],
            "reasoning_tokens": usage["completion_tokens_details"]["reasoning_tokens"],
            "status": 200,
        })  # fmt: skip

    def _log_failure(
        req: ChatRequest, plan: Plan, messages: list[dict[str, str]], status: int, error: str, started: float
    ) -> None:
        """A request that was accepted but got no answer: logged with its status and error, no usage."""
        log({**_entry(req, plan, messages, started), "status": status, "error": error})

    return _Guard(app, settings)


def _once(fn: Any) -> Any:
    """``fn`` callable any number of times, run only the first."""
    done = threading.Lock()
    state = {"ran": False}

    def call() -> None:
        with done:
            if state["ran"]:
                return
            state["ran"] = True
        fn()

    return call


def _usage(outcomes: list[Outcome]) -> dict[str, Any]:
    return usage_body(
        sum(o.prompt_tokens for o in outcomes),
        sum(o.completion_tokens for o in outcomes),
        sum(o.reasoning_tokens for o in outcomes),
    )


def _info(plan: Plan, outcomes: list[Outcome]) -> dict[str, Any]:
    """fastslow's own field: which method answered, the path each choice took, the calls."""
    return {
        "method": plan.method,
        "paths": [o.path for o in outcomes],
        "calls": sum(o.calls for o in outcomes),
    }
