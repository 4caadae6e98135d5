"""A real OpenAI-compatible server on loopback for integration tests: llama-cpp-python's server on the
embedded GGUF model.

``run_llama_server`` starts ``python -m llama_cpp.server`` as a subprocess (its output goes to a log
file), waits until ``GET /v1/models`` answers, yields the base URL (``http://127.0.0.1:PORT/v1``) and
stops the server afterwards. ``llama_server`` is the session-scoped pytest fixture around it; it fails
(never skips) when llama-cpp-python's server is not installed, because CI must run these tests.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastslow.models.embedded import embedded_gguf_path

MODEL_ALIAS = "smollm2"  # the model name the server answers to (llama.cpp serves its one model anyway)
NOT_INSTALLED = "llama-cpp-python[server] is not installed: run `make test` (it installs the dev extra)"
SERVER_MODULES = (
    "llama_cpp",
    "uvicorn",
    "fastapi",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
)


def server_installed() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in SERVER_MODULES)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_tail(log_path: Path, lines: int = 30) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def run_llama_server(
    log_path: Path,
    model_path: Path | None = None,
    n_ctx: int = 2048,
    n_threads: int = 2,
    seed: int = 0,
    startup_timeout: float = 60.0,
) -> Iterator[str]:
    """Run llama-cpp-python's OpenAI-compatible server on a free loopback port; yield its base URL."""
    model_path = model_path or embedded_gguf_path()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path),
        "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(n_ctx),
        "--n_threads", str(n_threads),
        "--n_threads_batch", str(n_threads),
        "--seed", str(seed),
    ]  # fmt: skip
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=dict(os.environ)
        )
        try:
            _wait_ready(proc, base_url, log_path, startup_timeout)
            yield base_url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], base_url: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        code = proc.poll()
        if code is not None:
            raise RuntimeError(
                f"the llama.cpp server exited with code {code} before answering; "
                f"log {log_path}:\n{_log_tail(log_path)}"
            )
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the llama.cpp server did not answer GET {base_url}/models within {timeout:g} s; "
                f"log {log_path}:\n{_log_tail(log_path)}"
            )
        time.sleep(0.25)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a llama.cpp server running the embedded model, shared by the whole session."""
    if not server_installed():
        pytest.fail(NOT_INSTALLED, pytrace=False)
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    with run_llama_server(log_path) as base_url:
        yield base_url
