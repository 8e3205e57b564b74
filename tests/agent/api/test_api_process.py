"""``python -m agent serve`` and ``mcp --http`` as real processes.

Start-up refusals, and a batch that survives its server being killed in the middle.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_servers import (
    ROOT,
    agent_env,
    free_port,
    fresh_state,
    serve_process,
    stop_process,
    wait_ready,
)


@pytest.mark.parametrize(
    "args", [["serve", "--host", "0.0.0.0"], ["mcp", "--http", "--host", "0.0.0.0"]]
)
def test_a_non_loopback_bind_without_keys_refuses_to_start(
    args: list[str], tmp_path: Path
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agent", *args],
        cwd=ROOT, env=agent_env(tmp_path / "state"), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "refusing to serve" in proc.stderr and "AGENT_API_KEYS" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "state").exists()  # nothing was started


def test_bad_key_settings_are_one_clear_line(tmp_path: Path) -> None:
    env = agent_env(tmp_path / "state", AGENT_API_KEYS='{"crm": {"hash": "md5:abc", "scopes": []}}')
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "serve"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2 and "AGENT_API_KEYS (crm.hash)" in proc.stderr
    assert "Traceback" not in proc.stderr


def job_of(base: str, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = httpx.get(f"{base}/v1/batches/{job_id}", timeout=60).json()
    return job


@pytest.mark.slow
def test_a_batch_resumes_after_its_server_is_killed(
    warm: Path, tmp_path: Path, demo_deps: Any
) -> None:
    state = fresh_state(tmp_path, warm)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Polled fast to kill it mid-batch: above the default 120 calls a minute.
    env = agent_env(state, AGENT_API_PORT=str(port), AGENT_API_RATE_PER_MINUTE="100000")
    log = tmp_path / "server.log"
    request = {"segment_filter": {}, "channel": "email", "recommend": True}

    with serve_process(["serve"], env, log) as first:
        wait_ready(base)
        created = httpx.post(f"{base}/v1/batches", json=request, timeout=60)
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            job = job_of(base, job_id)
            assert "progress" in job, job
            progress = job["progress"] or {}
            if progress.get("drafted", 0) > 0:
                break
            assert job["status"] in ("queued", "running"), job
            time.sleep(0.05)
        stop_process(first, signal.SIGKILL)
    before = progress
    assert 0 < before["drafted"] < before["eligible"], before  # killed in the middle

    with serve_process(["serve", "--workers", "2"], env, log) as second:
        wait_ready(base)
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            job = job_of(base, job_id)
            if job["status"] in ("done", "failed"):
                break
            time.sleep(0.5)
        drafts = httpx.get(f"{base}/v1/batches/{job_id}/drafts", timeout=60)
        stop_process(second, signal.SIGTERM)

    assert job["status"] == "done", job
    summary = job["summary"]
    assert job["starts"] == 2  # one start each server: the two workers of the second ran it once
    assert summary["resumed"] is True
    assert summary["drafted"] == summary["eligible"] == before["eligible"]
    assert summary["drafted_now"] <= summary["eligible"] - before["drafted"]
    lines = [json.loads(line) for line in drafts.text.splitlines()]
    ids = [line["customer_id"] for line in lines]
    assert len(ids) == len(set(ids)) == summary["eligible"]  # nobody twice, nobody missing
    consent = demo_deps.shop.customers.set_index("customer_id")["consent_email"]
    assert all(bool(consent[i]) for i in ids)


def test_api_key_new_prints_a_key_that_its_settings_accept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.__main__ import main
    from agent.api.keys import KeyRing
    from agent.settings import Settings

    monkeypatch.delenv("AGENT_API_KEYS", raising=False)
    monkeypatch.chdir(tmp_path)  # no developer's .env
    assert main(["api-key", "new", "crm", "--scopes", "read,draft", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    monkeypatch.setenv("AGENT_API_KEYS", made["api_keys"])
    ring = KeyRing(Settings().api_keys)
    caller = ring.identify(made["key"], "api")
    assert caller is not None and caller.name == "crm"
    assert caller.scopes == {"read", "draft"} and made["key"] not in made["api_keys"]
    assert main(["api-key", "new", "crm"]) == 2  # the name is taken
    assert main(["api-key", "new", "ops", "--scopes", "root"]) == 2
    assert "read, draft, plan, admin" in capsys.readouterr().err
