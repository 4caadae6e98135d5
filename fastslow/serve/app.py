"""`fastslow serve`: an OpenAI-compatible reasoning proxy (FastAPI, run by uvicorn).

Endpoints: ``POST /v1/chat/completions``, ``GET /v1/models``, ``GET /health``.

Which strategy answers a request, first match wins:
1. ``extra_body={"fastslow": {"method": "sc", "params": {"k": 5}}}``;
2. a method prefix on the model name: ``sc/MODEL`` (``/v1/models`` lists every such name);
3. ``reasoning_effort``: ``minimal|low|medium|high`` mapped to methods (``--effort LEVEL=METHOD``);
4. the server's ``--method`` (default ``none``: the conversation goes upstream unchanged).
Per-request settings live in the request only: nothing a request sets is seen by another.

Production basics: an optional API key (``Authorization: Bearer KEY``, compared in constant time;
401 without it); OpenAI-style error bodies (400 malformed JSON or missing fields or bad
parameters, 404 unknown model, 413 body too large, 422 values out of range); an upstream failure is
502, an upstream timeout or the request timeout 504, and the server keeps serving; at most
``max_concurrency`` requests run at once, others wait up to ``queue_timeout`` seconds (then 503).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
import time
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError, UpstreamError
from fastslow.serve.engine import PASSTHROUGH, Outcome, Plan, answer, check_method, model_lock
from fastslow.serve.protocol import (
    ChatRequest,
    chunk_body,
    completion_body,
    error_body,
    new_id,
    usage_body,
)
from fastslow.serve.settings import ServerSettings
from fastslow.strategies.registry import STRATEGIES


class HTTPError(Exception):
    def __init__(
        self, status: int, message: str, type_: str, code: str | None = None, param: str | None = None
    ):
        super().__init__(message)
        self.status, self.body = status, error_body(message, type_, code, param)


def plan_for(req: ChatRequest, settings: ServerSettings) -> Plan:
    """The method and parameters this request asks for (see the module docstring)."""
    name, method = req.model, None
    if "/" in req.model:
        prefix, _, rest = req.model.partition("/")
        if prefix == PASSTHROUGH or prefix in STRATEGIES:
            method, name = prefix, rest
    if name != settings.served_name:
        raise HTTPError(404, f"The model {req.model!r} does not exist; see GET /v1/models", "invalid_request_error",
                        "model_not_found", "model")  # fmt: skip
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
    return Plan(
        method=method,
        params=params,
        temperature=req.temperature,
        top_p=req.top_p,
        max_tokens=req.token_limit,
        stop=req.stop,  # type: ignore[arg-type]
        seed=req.seed,
        include_reasoning=bool(options and options.include_reasoning),
    )


def _choice_plan(plan: Plan, index: int) -> Plan:
    """Choice ``index`` of ``n``: its own seed, so the n answers differ."""
    from dataclasses import replace

    return replace(plan, seed=(plan.seed or 0) + index)


def _messages(req: ChatRequest) -> list[dict[str, str]]:
    try:
        out = []
        for m in req.messages:
            role = "system" if m.role == "developer" else m.role
            out.append({"role": role, "content": m.text()})
        return out
    except ValueError as exc:
        raise HTTPError(400, str(exc), "invalid_request_error", None, "messages") from None


def create_app(model: Any, settings: ServerSettings) -> Any:
    """The ASGI app serving ``model`` (any fastslow backend) under ``settings.served_name``."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, StreamingResponse

    app = FastAPI(title="fastslow reasoning proxy", docs_url=None, redoc_url=None)
    lock = model_lock(model)
    slots = asyncio.Semaphore(settings.max_concurrency)
    log_lock = threading.Lock()

    def log(row: dict[str, Any]) -> None:
        if settings.log_requests:
            with log_lock, Path(settings.log_requests).open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")

    @app.exception_handler(HTTPError)
    async def _http_error(_: Request, exc: HTTPError) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
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

    @app.middleware("http")
    async def _guard(request: Request, call_next: Any) -> Any:
        if request.url.path.startswith("/v1/"):
            if settings.api_key is not None:
                header = request.headers.get("authorization", "")
                given = header[7:] if header.lower().startswith("bearer ") else ""
                if not hmac.compare_digest(given.encode(), settings.api_key.encode()):
                    return JSONResponse(
                        error_body(
                            "Incorrect or missing API key", "invalid_request_error", "invalid_api_key"
                        ),
                        401,
                    )
            length = request.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > settings.max_body_bytes:
                return JSONResponse(
                    error_body(f"request body over {settings.max_body_bytes} bytes", "invalid_request_error",
                               "request_too_large"), 413,
                )  # fmt: skip
        return await call_next(request)

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
        plan = plan_for(req, settings)
        messages = _messages(req)
        try:
            await asyncio.wait_for(slots.acquire(), settings.queue_timeout)
        except asyncio.TimeoutError:
            raise HTTPError(503, "the server is busy; retry later", "server_error", "busy") from None
        started = time.perf_counter()
        if req.stream:
            return StreamingResponse(
                _stream(req, plan, messages, started), media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )  # fmt: skip
        cancel = threading.Event()
        try:
            runs = [
                asyncio.to_thread(
                    answer, model, messages, _choice_plan(plan, i), lock, None, None, cancel.is_set
                )
                for i in range(req.n)
            ]
            outcomes = await asyncio.wait_for(asyncio.gather(*runs), settings.request_timeout)
        except asyncio.TimeoutError:
            cancel.set()
            raise HTTPError(
                504, f"no answer within {settings.request_timeout:g} s", "server_error", "timeout"
            ) from None
        except UpstreamError as exc:
            raise HTTPError(504 if exc.timeout else 502, str(exc), "upstream_error") from None
        except FastslowError as exc:
            raise HTTPError(400, str(exc), "invalid_request_error") from None
        finally:
            slots.release()
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

    async def _stream(req: ChatRequest, plan: Plan, messages: list[dict[str, str]], started: float):
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        cancel = threading.Event()
        cid, created = new_id(), int(time.time())

        def put(item: tuple) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def run(i: int) -> None:
            try:
                o = answer(model, messages, _choice_plan(plan, i), lock,
                           lambda d: put(("content", i, d)), lambda d: put(("reasoning", i, d)), cancel.is_set)  # fmt: skip
                put(("done", i, o))
            except Exception as exc:  # noqa: BLE001 - reported to the client as an error event
                put(("error", i, exc))

        def sse(body: dict[str, Any]) -> str:
            return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(req.n)]
        outcomes: dict[int, Outcome] = {}
        try:
            for i in range(req.n):
                yield sse(
                    chunk_body(
                        cid,
                        req.model,
                        created,
                        [{"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
                    )
                )
            for t in threads:
                t.start()
            deadline = started + settings.request_timeout
            while len(outcomes) < req.n:
                try:
                    kind, i, value = await asyncio.wait_for(
                        queue.get(), max(0.0, deadline - time.perf_counter())
                    )
                except asyncio.TimeoutError:
                    cancel.set()
                    yield sse(
                        error_body(
                            f"no answer within {settings.request_timeout:g} s", "server_error", "timeout"
                        )
                    )
                    return
                if kind == "content":
                    yield sse(
                        chunk_body(
                            cid,
                            req.model,
                            created,
                            [{"index": i, "delta": {"content": value}, "finish_reason": None}],
                        )
                    )
                elif kind == "reasoning":
                    yield sse(
                        chunk_body(
                            cid,
                            req.model,
                            created,
                            [{"index": i, "delta": {"reasoning_content": value}, "finish_reason": None}],
                        )
                    )
                elif kind == "error":
                    cancel.set()
                    status = (
                        502
                        if isinstance(value, UpstreamError)
                        else 400
                        if isinstance(value, FastslowError)
                        else 500
                    )
                    yield sse(
                        error_body(
                            str(value), "upstream_error" if status == 502 else "server_error", str(status)
                        )
                    )
                    return
                else:
                    outcomes[i] = value
                    yield sse(
                        chunk_body(
                            cid,
                            req.model,
                            created,
                            [{"index": i, "delta": {}, "finish_reason": value.finish_reason}],
                        )
                    )
            ordered = [outcomes[i] for i in range(req.n)]
            if req.stream_options is not None and req.stream_options.include_usage:
                yield sse(chunk_body(cid, req.model, created, [], usage=_usage(ordered)))
            yield "data: [DONE]\n\n"
            _log(req, plan, messages, ordered, started)
        finally:
            cancel.set()  # a client gone mid-stream stops the upstream work
            slots.release()

    def _log(
        req: ChatRequest, plan: Plan, messages: list[dict[str, str]], outcomes: list[Outcome], started: float
    ) -> None:
        usage = _usage(outcomes)
        log({
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "model": req.model,
            "method": plan.method,
            "paths": [o.path for o in outcomes],
            "question": messages[-1]["content"],
            "prompt_tokens": usage["prompt_tokens"],
            "completion_tokens": usage["completion_tokens"],
            "reasoning_tokens": usage["completion_tokens_details"]["reasoning_tokens"],
            "latency_s": round(time.perf_counter() - started, 3),
            "stream": req.stream,
        })  # fmt: skip

    return app


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
