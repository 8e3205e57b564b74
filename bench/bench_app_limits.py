"""The chat app under load: memory over many sessions, and a small request beside huge ones.

Starts ``app.py`` (offline model, demo shop, a fresh state directory) on a loopback port and
drives it through Gradio's own queue protocol (``/gradio_api/queue/join`` and the SSE
stream), as browsers do: each session first loads the page (its ``new_session`` event),
then asks its requests, sending back the chat it was shown.

1. **Memory.** ``--requests`` requests (5,000) from ``--sessions`` sessions (1,000), in
   waves (every session asks its first request, then every session its second, ...), four
   at a time. The app's resident memory is read from ``/proc`` every ``--every`` requests;
   the curve is printed, and the growth from the first sample (after warm-up) to the last
   is compared with the 50 MB target (ratio last / first too).
2. **Oversized requests.** The median latency of a small request alone is the baseline;
   then four 3 MB requests are sent at once with a small one beside them: the small one's
   latency, its ratio to the baseline, whether it is under 2 s, and whether every
   oversized request was refused with the size-limit answer.

Run: ``.venv/bin/python bench/bench_app_limits.py [--requests N --sessions N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = [
    "Tell me about C00042",
    "How many at-risk customers like outdoor gear?",
    "Recommend products for C00003",
    "Find waterproof hiking backpacks under $150",
    "给 C00042 推荐商品",
    "Draft an email for C00007",
]
SUBMIT, LOAD = "respond", "new_session"
TARGET_GROWTH_MB = 50.0
TARGET_SMALL_S = 2.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of a process (and its threads) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class AppClient:
    """Gradio's queue protocol for one app: join an event, wait for its completion."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(timeout=300)
        config = self.http.get(f"{base}/config").json()
        self.api = base + config.get("api_prefix", "/gradio_api")
        names = {d.get("api_name"): (n, d) for n, d in enumerate(config["dependencies"])}
        self.submit, submit_dep = names[SUBMIT]
        self.load, _ = names[LOAD]
        self.trigger = submit_dep["targets"][0][0]
        self.submit_inputs = len(submit_dep["inputs"])  # request, chat, then session states

    def call(self, session: str, fn: int, data: list[Any], trigger: Any) -> dict[str, Any]:
        """Run one event for ``session`` and return its completion message."""
        joined = self.http.post(
            f"{self.api}/queue/join",
            json={"data": data, "event_data": None, "fn_index": fn, "trigger_id": trigger,
                  "session_hash": session},
        )
        joined.raise_for_status()
        event = joined.json()["event_id"]
        with self.http.stream("GET", f"{self.api}/queue/data",
                              params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") == event and message.get("msg") == "process_completed":
                    return dict(message)
        raise RuntimeError(f"no completion for event {event}")

    def ask(self, session: str, text: str, chat: list[Any]) -> list[Any]:
        """Submit a request as the Send button does; return the chat shown afterwards."""
        data = [text, chat, *[None] * (self.submit_inputs - 2)]
        done = self.call(session, self.submit, data, self.trigger)
        if not done.get("success"):
            raise RuntimeError(f"request failed: {str(done)[:300]}")
        chatbot: list[Any] = done["output"]["data"][0]
        return chatbot


def start_app(state: Path, port: int) -> subprocess.Popen[bytes]:
    """``app.py`` on ``port`` with its state in ``state`` (the product index cache reused)."""
    cache = ROOT / ".state" / "bench-app-cache"
    cache.mkdir(parents=True, exist_ok=True)
    (state / "cache").symlink_to(cache, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_")}
    env.update({"AGENT_UI_HOST": "127.0.0.1", "AGENT_UI_PORT": str(port),
                "AGENT_STATE_DIR": str(state), "GRADIO_ANALYTICS_ENABLED": "False"})
    log = (state / "app.log").open("wb")
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=state, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((state / "app.log").read_text()[-3000:])
        time.sleep(0.5)


def memory_run(client: AppClient, pid: int, sessions: int, requests: int, every: int,
               concurrency: int) -> tuple[float, float]:
    """Drive the requests in waves; print the memory curve; return (first, last) RSS."""
    ids = [f"bench{n:05d}{uuid.uuid4().hex[:6]}" for n in range(sessions)]
    chats: dict[str, list[Any]] = {}
    lock = threading.Lock()
    plan = [(ids[n % sessions], REQUESTS[(n // sessions + n) % len(REQUESTS)])
            for n in range(requests)]
    done = 0
    samples: list[tuple[int, float]] = []
    started = time.perf_counter()

    def one(item: tuple[str, str]) -> None:
        nonlocal done
        session, text = item
        with lock:
            fresh = session not in chats
            chats.setdefault(session, [])
        if fresh:
            client.call(session, client.load, [], None)
        shown = client.ask(session, text, chats[session])
        with lock:
            chats[session] = shown[-6:]  # a browser keeps it all; a few turns suffice here
            done += 1
            if done % every == 0:
                samples.append((done, rss_mb(pid)))
                rate = done / (time.perf_counter() - started)
                print(f"   {done:6,} requests, {len(chats):5,} sessions: RSS "
                      f"{samples[-1][1]:7.1f} MB ({rate:5.1f} requests/s)", flush=True)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, plan))
    return samples[0][1], samples[-1][1]


def oversized_run(client: AppClient, size_mb: float) -> tuple[float, float, bool]:
    """(small alone p50, small beside four oversized, every oversized refused)."""
    alone = []
    for n in range(5):
        t0 = time.perf_counter()
        client.ask(f"small{n}{uuid.uuid4().hex[:6]}", "Tell me about C00042", [])
        alone.append(time.perf_counter() - t0)
    huge = "Tell me about C00042. " + "x" * int(size_mb * 1024 * 1024)
    refused: list[bool] = []

    def big(n: int) -> None:
        shown = client.ask(f"huge{n}{uuid.uuid4().hex[:6]}", huge, [])
        refused.append("Not run: the request is" in json.dumps(shown[-1]))

    threads = [threading.Thread(target=big, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    t0 = time.perf_counter()
    client.ask(f"beside{uuid.uuid4().hex[:6]}", "Tell me about C00042", [])
    beside = time.perf_counter() - t0
    for thread in threads:
        thread.join()
    return statistics.median(alone), beside, len(refused) == 4 and all(refused)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--every", type=int, default=250, help="sample memory every N requests")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--oversized-mb", type=float, default=3.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        port = _free_port()
        proc = start_app(Path(tmp), port)
        try:
            client = AppClient(f"http://127.0.0.1:{port}")
            client.call("warmup", client.load, [], None)
            client.ask("warmup", "Tell me about C00042", [])  # waits for the warm-up
            print(f"app ready, RSS {rss_mb(proc.pid):.1f} MB")
            alone, beside, refused = oversized_run(client, args.oversized_mb)
            print(f"small request alone p50 {alone:.2f} s; beside four {args.oversized_mb:g} MB "
                  f"requests {beside:.2f} s (ratio {beside / alone:.2f}); oversized refused: "
                  f"{'all 4' if refused else 'NOT ALL'}; target < {TARGET_SMALL_S:g} s: "
                  f"{'met' if beside < TARGET_SMALL_S and refused else 'MISSED'}")
            print(f"memory: {args.requests:,} requests from {args.sessions:,} sessions, "
                  f"{args.concurrency} at a time")
            first, last = memory_run(client, proc.pid, args.sessions, args.requests, args.every,
                                     args.concurrency)
            growth = last - first
            print(f"RSS first sample {first:.1f} MB, last {last:.1f} MB: growth {growth:+.1f} MB "
                  f"(ratio {last / first:.3f}); target < {TARGET_GROWTH_MB:g} MB: "
                  f"{'met' if growth < TARGET_GROWTH_MB else 'MISSED'}")
            ok = growth < TARGET_GROWTH_MB and beside < TARGET_SMALL_S and refused
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
