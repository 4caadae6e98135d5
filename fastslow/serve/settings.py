"""How `fastslow serve` serves (kept apart from the app so that the CLI parser loads no web stack)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastslow.serve.engine import PASSTHROUGH

# reasoning_effort -> method
EFFORTS = {"minimal": PASSTHROUGH, "low": "auto", "medium": "cot", "high": "sc"}


@dataclass
class ServerSettings:
    served_name: str
    method: str = PASSTHROUGH
    efforts: dict[str, str] = field(default_factory=lambda: dict(EFFORTS))
    api_key: str | None = None
    max_concurrency: int = 4
    queue_timeout: float = 30.0
    request_timeout: float = 600.0
    max_body_bytes: int = 1_000_000
    log_requests: str | None = None
