"""`fastslow serve` as a user starts it: a subprocess on a free port, answering, then stopped with
SIGTERM mid-request: the request in flight still gets its answer (graceful shutdown)."""

import os
import signal
import subprocess
import sys
import threading
import time

import openai
import pytest

from tests.serve.conftest import free_port


@pytest.mark.slow
def test_fastslow_serve_answers_and_shuts_down_gracefully(tmp_path):
    port = free_port()
    log = tmp_path / "requests.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastslow", "serve", "--model", "embedded", "--port", str(port),
         "--api-key", "s3cret-key", "--log-requests", str(log)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )  # fmt: skip
    try:
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="s3cret-key", max_retries=0, timeout=120
        )
        deadline = time.time() + 120
        while True:
            try:
                client.models.list()
                break
            except openai.APIConnectionError:
                assert proc.poll() is None and time.time() < deadline, proc.stdout.read()
                time.sleep(0.5)
        got = {}

        def ask():
            got["r"] = client.chat.completions.create(
                model="cot/embedded", messages=[{"role": "user", "content": "What is 2 + 2?"}], max_tokens=48
            )

        t = threading.Thread(target=ask)
        t.start()
        time.sleep(1.0)  # the request is being answered
        proc.send_signal(signal.SIGTERM)
        t.join(120)
        assert got["r"].choices[0].message.content  # answered although the server was told to stop
        assert proc.wait(60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has drained
        assert "fastslow serve: embedded on http://127.0.0.1" in proc.stdout.read()
        assert log.read_text().count("\n") == 1 and "s3cret-key" not in log.read_text()  # never the key
    finally:
        if proc.poll() is None:
            proc.kill()
