"""The reasoning proxy's own cost: requests through `fastslow serve` against the same requests sent
to its upstream directly, side by side in one run.

Upstream: llama.cpp's OpenAI-compatible server (llama-cpp-python) on the embedded GGUF, on loopback.
Proxy: `fastslow serve --model openai:smollm2@UPSTREAM` in a process of its own, as a user runs it,
method `none` (the conversation passed through). The load generator is this process (the async
`openai` client). ``--requests`` chat requests (short questions, ``--max-tokens`` greedy tokens each)
at ``--concurrency`` in flight, then ``--sequential`` requests one at a time (no queue at the
upstream: the proxy's own cost alone): a warm-up round each way, then direct, proxy, direct, proxy,
direct (the machine's load drifts; the spread of the direct rounds shows how much). Reported:
failures, p50 and p95 of every round, and the proxy's added latency at the pooled p50.

    python benchmarks/bench_serve.py [--requests 200] [--concurrency 16] [--max-tokens 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openai  # noqa: E402

from tests.llama_server import MODEL_ALIAS, free_port, run_llama_server  # noqa: E402

QUESTIONS = [f"What is {a} + {b}?" for a in range(1, 21) for b in range(1, 11)]


async def round_trip(url: str, n: int, concurrency: int, max_tokens: int) -> tuple[list[float], int]:
    client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0, timeout=300)
    slots = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    failures = 0

    async def one(i: int) -> None:
        nonlocal failures
        async with slots:
            t0 = time.perf_counter()
            try:
                r = await client.chat.completions.create(
                    model=MODEL_ALIAS,
                    messages=[{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}],
                    max_tokens=max_tokens,
                    temperature=0,
                    seed=1,
                )
                assert r.choices[0].message.content is not None
                latencies.append(time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001 - counted and shown
                failures += 1
                print(f"  failure: {type(exc).__name__}: {exc}", file=sys.stderr)

    await asyncio.gather(*(one(i) for i in range(n)))
    await client.close()
    return latencies, failures


@contextlib.contextmanager
def serve_process(upstream: str, concurrency: int):
    """`fastslow serve` in front of ``upstream``, in its own process; yields its base URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "fastslow", "serve", "--model", f"openai:{MODEL_ALIAS}@{upstream}",
           "--served-name", MODEL_ALIAS, "--port", str(port), "--max-concurrency", str(concurrency),
           "--queue-timeout", "300"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("fastslow serve did not start") from None
                time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=8)
    ap.add_argument("--sequential", type=int, default=50, help="requests of the one-at-a-time rounds")
    args = ap.parse_args()
    log = Path(tempfile.mkdtemp()) / "llama.log"

    with run_llama_server(log) as upstream, serve_process(upstream, args.concurrency) as proxy:
        for concurrency, n in ((args.concurrency, args.requests), (1, args.sequential)):
            run = lambda url, n=n, c=concurrency: asyncio.run(round_trip(url, n, c, args.max_tokens))  # noqa: E731
            run(upstream), run(proxy)  # warm-up rounds, not counted
            rounds = [("direct", *run(upstream)), ("proxy", *run(proxy)), ("direct", *run(upstream)),
                      ("proxy", *run(proxy)), ("direct", *run(upstream))]  # fmt: skip
            print(f"\n{n} requests a round, {concurrency} in flight, {args.max_tokens} greedy tokens each")
            print(f"{'round':<10}{'failures':>9}{'p50 s':>9}{'p95 s':>9}")
            for name, lat, fails in rounds:
                print(f"{name:<10}{fails:>9}{pct(lat, 50):>9.3f}{pct(lat, 95):>9.3f}")
            direct = [x for name, lat, _ in rounds if name == "direct" for x in lat]
            proxied = [x for name, lat, _ in rounds if name == "proxy" for x in lat]
            spread = [pct(lat, 50) for name, lat, _ in rounds if name == "direct"]
            added = pct(proxied, 50) - pct(direct, 50)
            print(
                f"pooled p50: direct {pct(direct, 50):.3f} s, proxy {pct(proxied, 50):.3f} s; added {1000 * added:.1f} ms "
                f"({100 * added / pct(direct, 50):+.1f}%); the direct rounds' p50 spread {1000 * (max(spread) - min(spread)):.1f} ms"
            )


if __name__ == "__main__":
    main()
