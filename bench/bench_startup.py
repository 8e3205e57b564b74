"""Start-up: from starting the chat app on a fresh state directory to its first answers.

Starts ``app.py`` as ``make run`` does (a new process, the demo shop, an empty
``AGENT_STATE_DIR``), waits for the page, then sends a profile request ("Tell me about
C00042") through the app's own endpoint (``gradio_client``) and, right after, a product
search. Prints the seconds from the process start to the page, to the first answer and to the
search answer, and what the status line said meanwhile. The baseline is the same start on
the state directory the first run left behind (everything cached), measured in the same run;
the ratio fresh/warm is printed. Target (issue 16): first answer under 15 s on a fresh state.

``--make`` starts it with ``make run`` instead (what the README tells a new user), in
``--root DIR`` if given (e.g. a fresh clone whose ``make setup`` already ran: the clock then
starts at ``make run``, as a user's would after installing).

Run: ``python bench/bench_startup.py [--port 7899] [--keep DIR] [--make [--root DIR]]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILE = "Tell me about C00042"
SEARCH = "Find waterproof jackets under $150"


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_page(url: str, proc: subprocess.Popen[bytes], limit: float = 180.0) -> None:
    """Poll until the page serves (or the process dies)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # loopback only
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the page did not serve in time")


def ask(client: object, text: str) -> str:
    """Send one request through the app's respond endpoint; the last answer's text."""
    result = client.predict(text, [], api_name="/respond")  # type: ignore[attr-defined]
    chat = result[0] if isinstance(result, (list, tuple)) else result
    messages = [m for m in chat if isinstance(m, dict) and m.get("role") == "assistant"]
    content = messages[-1].get("content") if messages else ""
    if isinstance(content, list):
        content = " ".join(str(c.get("text", c)) if isinstance(c, dict) else str(c)
                           for c in content)
    return str(content)


def one_start(
    state_dir: Path, port: int, root: Path = ROOT, via_make: bool = False
) -> dict[str, float | str]:
    """Start the app on ``state_dir``; seconds to the page, first answer and a search."""
    from gradio_client import Client

    env = {**os.environ, "AGENT_STATE_DIR": str(state_dir), "AGENT_UI_PORT": str(port),
           "AGENT_UI_HOST": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False"}
    if not via_make:
        env["PYTHONPATH"] = str(root)
    command = ["make", "run"] if via_make else [sys.executable, str(root / "app.py")]
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    # Its own process group: ``make`` starts the app as a child, and both must stop.
    proc = subprocess.Popen(command, cwd=root, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_page(url, proc)
        page = time.perf_counter() - started
        client = Client(url, verbose=False)
        status = str(client.predict(api_name="/on_tick")[0])
        answer = ask(client, PROFILE)
        first = time.perf_counter() - started
        ask(client, SEARCH)
        search = time.perf_counter() - started
        return {"page_s": page, "first_answer_s": first, "search_answer_s": search,
                "status_at_start": status.replace("\n", " ")[:160],
                "first_answer": answer.replace("\n", " ")[:160]}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def main() -> int:
    """Measure a fresh start and a warm start; print both and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--keep", type=Path, help="use (and keep) this state dir, emptied first")
    parser.add_argument("--make", action="store_true", help="start with `make run`")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="project directory to start in (default: this one)")
    args = parser.parse_args()
    root = args.root.resolve()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        state = args.keep or Path(tmp) / "state"
        if state.exists() and any(state.iterdir()):
            raise SystemExit(f"{state} is not empty: give an empty or new directory")
        fresh = one_start(state, args.port or free_port(), root, args.make)
        warm = one_start(state, args.port or free_port(), root, args.make)
    how = "`make run`" if args.make else "app.py"
    print(f"started with {how} in {root}")
    for name, run in (("fresh state", fresh), ("warm state (baseline)", warm)):
        print(f"{name}: page {run['page_s']:.1f} s, first answer {run['first_answer_s']:.1f} s, "
              f"search answer {run['search_answer_s']:.1f} s")
        print(f"  status at start: {run['status_at_start']}")
        print(f"  first answer: {run['first_answer']}")
    ratio = float(fresh["first_answer_s"]) / float(warm["first_answer_s"])
    target = "met" if float(fresh["first_answer_s"]) < 15 else "MISSED"
    print(f"first answer, fresh/warm: {ratio:.2f}x; target under 15 s on a fresh state: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
