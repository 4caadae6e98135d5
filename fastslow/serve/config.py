"""`fastslow serve`'s flags, declared once (``flags.py`` builds the parser from these fields)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from fastslow.flags import arg, key_values, positive
from fastslow.serve.engine import check_method
from fastslow.serve.settings import EFFORTS, ServerSettings

API_KEY_ENV = "FASTSLOW_API_KEY"


def _efforts(items: list[str] | None) -> dict[str, str]:
    given = key_values(items, "--effort")
    unknown = sorted(set(given) - set(EFFORTS))
    if unknown:
        raise ValueError(f"unknown effort level {unknown[0]!r}: use {', '.join(EFFORTS)}")
    for method in given.values():
        check_method(method)
    return {**EFFORTS, **given}


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError(f"must be positive, got {text}")
    return value


@dataclass
class ServeConfig:
    """The upstream model and how the proxy serves it."""

    model: str = field(default="embedded", metadata=arg("the upstream model spec (see `fastslow models`)"))
    host: str = field(default="127.0.0.1", metadata=arg("address to listen on"))
    port: int = field(default=8000, metadata=arg("port to listen on", parse=int))
    served_name: str | None = field(
        default=None, metadata=arg("the model name clients ask for (default: the --model spec)")
    )
    method: str = field(
        default="none",
        metadata=arg(
            "the method of a request that names none (none: the conversation goes upstream as it is)"
        ),
    )
    efforts: dict[str, str] = field(
        default_factory=lambda: dict(EFFORTS),
        metadata=arg(
            "reasoning_effort LEVEL -> method (repeatable; default: "
            + ", ".join(f"{k}={v}" for k, v in EFFORTS.items())
            + ")",
            flag="--effort",
            repeat=True,
            parse=_efforts,
            metavar="LEVEL=METHOD",
            show_default=False,
        ),
    )
    api_key: str | None = field(
        default=None,
        metadata=arg(f"the key clients must send (default: ${API_KEY_ENV}; none: open)", show_default=False),
    )
    max_concurrency: int = field(default=4, metadata=arg("requests answered at once", parse=positive))
    queue_timeout: float = field(
        default=30.0, metadata=arg("seconds a request may wait for a slot (then 503)", parse=_positive_float)
    )
    request_timeout: float = field(
        default=600.0, metadata=arg("seconds a request may take (then 504)", parse=_positive_float)
    )
    max_body_bytes: int = field(
        default=1_000_000, metadata=arg("largest request body (then 413)", parse=positive)
    )
    log_requests: str | None = field(
        default=None,
        metadata=arg("append each request's method, path, tokens and latency as JSONL", metavar="FILE"),
    )
    batch_size: int | None = field(
        default=None, metadata=arg("rows a local model decodes at once", parse=positive, metavar="N")
    )
    device: str | None = field(default=None, metadata=arg("torch device of a local model"))
    dtype: str = field(
        default="float32", metadata=arg("a local model's dtype", choices=("float32", "bfloat16"))
    )
    upstream_api_key: str | None = field(
        default=None,
        metadata=arg("API key of an openai: upstream (default: $OPENAI_API_KEY)", show_default=False),
    )

    def settings(self) -> ServerSettings:
        check_method(self.method)
        return ServerSettings(
            served_name=self.served_name or self.model,
            method=self.method,
            efforts=dict(self.efforts),
            api_key=self.api_key or os.environ.get(API_KEY_ENV) or None,
            max_concurrency=self.max_concurrency,
            queue_timeout=self.queue_timeout,
            request_timeout=self.request_timeout,
            max_body_bytes=self.max_body_bytes,
            log_requests=self.log_requests,
        )
