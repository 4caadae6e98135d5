"""The OpenAI chat-completions wire format: the request fastslow reads, the bodies it writes.

Requests are parsed with pydantic (FastAPI's own); unknown fields are allowed and ignored as OpenAI
does, except the ones that would change the answer and that the proxy cannot honour (tools,
``response_format``, ``logprobs``, penalties, ...: ``ChatRequest.unsupported``), which are refused
with a 400 rather than dropped. Responses are plain dicts shaped like OpenAI's: a
``chat.completion`` object, the ``chat.completion.chunk`` objects of a stream, and the error body
``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text (content parts of type "text" joined; other parts are refused)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        texts = []
        for part in self.content:
            if part.get("type") != "text":
                raise ValueError(f"content parts of type {part.get('type')!r} are not supported (text only)")
            texts.append(str(part.get("text", "")))
        return "".join(texts)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class FastslowOptions(BaseModel):
    """``extra_body={"fastslow": {...}}``: the strategy for this request only."""

    model_config = ConfigDict(extra="forbid")

    method: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    include_reasoning: bool = False


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    n: int = Field(default=1, ge=1, le=16)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    fastslow: FastslowOptions | None = None

    @field_validator("stop")
    @classmethod
    def _stops(cls, v: str | list[str] | None) -> list[str] | None:
        if v is None:
            return None
        stops = [v] if isinstance(v, str) else list(v)
        if len(stops) > 4:
            raise ValueError("at most 4 stop sequences")
        return stops

    def unsupported(self) -> str | None:
        """The first field set that this proxy cannot honour (it would be dropped silently, and an
        answer that ignored it could pass for one that followed it), or None."""
        extra = self.model_extra or {}
        for key in ("tools", "functions", "logit_bias", "audio", "prediction"):
            if extra.get(key):
                return key
        if extra.get("tool_choice") not in (None, "none", "auto"):
            return "tool_choice"
        if extra.get("function_call") not in (None, "none", "auto"):
            return "function_call"
        fmt = extra.get("response_format")
        if fmt is not None and not (isinstance(fmt, dict) and fmt.get("type") == "text"):
            return "response_format"
        if extra.get("logprobs") or extra.get("top_logprobs"):
            return "logprobs" if extra.get("logprobs") else "top_logprobs"
        for key in ("presence_penalty", "frequency_penalty"):
            if extra.get(key) not in (None, 0, 0.0):
                return key
        if extra.get("modalities") not in (None, ["text"]):
            return "modalities"
        return None

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def usage_body(prompt: int, completion: int, reasoning: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def completion_body(
    cid: str, model: str, choices: list[dict[str, Any]], usage: dict[str, Any], fastslow: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": usage,
        "fastslow": fastslow,
    }


def chunk_body(
    cid: str, model: str, created: int, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
    }
    if usage is not None:
        body["usage"] = usage
    return body


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
