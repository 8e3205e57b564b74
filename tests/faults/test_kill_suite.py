"""The fault suite: import --overwrite, forget and batch killed at every write step.

Each command first runs whole in a fresh copy of a small world (a 3-customer shop and a
state directory with traces, a session, a batch checkpoint and its output) to count its
write steps (``tests/faults/killer.py``: every file opened for writing, renamed or removed,
every SQLite commit). Then, for every step N, a fresh copy is made, the command is SIGKILLed
just before its N-th step, and the next command that opens the shop (``data check``) must
find a valid shop with the operation either complete or not begun, and no temporary left.
"Not begun" is checked byte for byte: every file is as it was before the command, so
running the command again is the whole run already checked. Both outcomes must occur (the
kills land on both sides of the commit point). A killed batch is resumed every time and
must end with one draft per customer.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RETAIL_CSV, RETAIL_MAP, build_minimal_shop

ROOT = Path(__file__).resolve().parents[2]
KILLER = Path(__file__).with_name("killer.py")
TARGET = "C00001"


@dataclass
class Run:
    """What one forked run did."""

    killed: bool
    code: int | None
    steps: int
    out: str
    err: str
    log: str


class Killer:
    """A client of the fork server: runs CLI commands in a world, killing them on request."""

    def __init__(self, scratch: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_")}
        env["PYTHONPATH"] = str(ROOT)
        self.proc = subprocess.Popen(
            [sys.executable, str(KILLER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.scratch = scratch
        self.base_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}

    def run(self, argv: list[str], world: Path, kill_at: int | None = None) -> Run:
        """Run ``python -m agent ARGV`` in ``world`` (its shop and state), maybe killing it."""
        env = {
            **self.base_env,
            "AGENT_DATA_DIR": str(world / "shop"),
            "AGENT_STATE_DIR": str(world / "state"),
        }
        files = {k: self.scratch / f"run.{k}" for k in ("out", "err", "log")}
        request = {
            "argv": argv,
            "env": env,
            "cwd": str(world),
            "watch": [str(world)],
            "kill_at": kill_at,
            **{k: str(v) for k, v in files.items()},
        }
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        text = {k: v.read_text(encoding="utf-8") if v.exists() else "" for k, v in files.items()}
        return Run(reply["killed"], reply["code"], reply["steps"], text["out"], text["err"],
                   text["log"])

    def close(self) -> None:
        """Stop the server."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


@pytest.fixture(scope="module")
def killer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Killer]:
    server = Killer(tmp_path_factory.mktemp("killer"))
    yield server
    server.close()


def _copy(template: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(template, target, symlinks=True)
    return target


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the SHA-256 of its bytes.

    SQLite's shared-memory index (``-shm``) and an empty write-ahead log hold no data: a
    reader of a WAL database creates them, so they are left out.
    """
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and not p.name.endswith("-shm")
        and not (p.name.endswith("-wal") and p.stat().st_size == 0)
    }


def _leftover_temporaries(root: Path) -> list[str]:
    marks = (".tmp-shoptx-", ".shop-journal", ".shop-pending")
    return [str(p) for p in root.rglob("*") if p.name.startswith(marks)]


def _customer_ids(world: Path) -> set[str]:
    from tools.shop.store import load_shop

    return set(load_shop(world / "shop").customers["customer_id"])


def _check_valid(killer: Killer, world: Path) -> None:
    """The next command opens the shop: it must be valid and nothing half-done left."""
    check = killer.run(["data", "check", "--json"], world)
    assert check.code == 0, check.err
    assert json.loads(check.out.strip().splitlines()[-1])["valid"] is True
    assert _leftover_temporaries(world) == []


# --------------------------------------------------------------------------- import


IMPORT = ["data", "import", "transactions", "retail.csv", "--map", RETAIL_MAP, "--out", "shop",
          "--overwrite", "--json"]


def test_import_overwrite_killed_at_every_step_leaves_the_old_shop_or_the_new(
    killer: Killer, tmp_path: Path
) -> None:
    from tools.shop.store import save_shop

    template = tmp_path / "template"
    save_shop(build_minimal_shop(), template / "shop")
    (template / "retail.csv").write_text(RETAIL_CSV, encoding="utf-8")
    old_ids = _customer_ids(template)
    before = _tree(template)

    whole = _copy(template, tmp_path / "whole")
    full = killer.run(IMPORT, whole)
    assert full.code == 0, full.err
    new_ids = _customer_ids(whole)
    assert new_ids != old_ids and full.steps >= 10

    outcomes: Counter[str] = Counter()
    for n in range(1, full.steps + 1):
        world = _copy(template, tmp_path / "world")
        killed = killer.run(IMPORT, world, kill_at=n)
        assert killed.killed, f"step {n}: not killed ({killed.err})"
        _check_valid(killer, world)
        ids = _customer_ids(world)
        assert ids in (old_ids, new_ids), f"step {n}: a mix of shops: {sorted(ids)}"
        if ids == old_ids:
            assert _tree(world) == before, f"step {n}: the old shop was changed"
            outcomes["not begun"] += 1
        else:
            outcomes["complete"] += 1
    assert outcomes["not begun"] and outcomes["complete"], outcomes


# --------------------------------------------------------------------------- forget


def _state_world(killer: Killer, root: Path) -> Path:
    """A shop plus a state directory where the target customer is mentioned everywhere."""
    from tools.shop.store import save_shop

    save_shop(build_minimal_shop(), root / "shop")
    (root / "ids.txt").write_text(f"{TARGET}\nC00002\n", encoding="utf-8")
    for argv in (
        ["ask", f"Tell me about {TARGET}", "--session", "s1"],
        ["batch", "--ids", "ids.txt", "--channel", "email", "--frequency-cap-days", "0",
         "--json"],
    ):
        done = killer.run(argv, root)
        assert done.code == 0, done.err
    exports = root / "state" / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    (exports / "approved.jsonl").write_text(
        json.dumps({"customer_id": TARGET, "body": "Hi Ana"}) + "\n"
        + json.dumps({"customer_id": "C00002", "body": "Hi Li"}) + "\n",
        encoding="utf-8",
    )
    return root


def _subject(world: Path) -> Any:
    from agent.privacy.subject import Subject
    from tools.shop.store import load_shop

    customers = load_shop(world / "shop").customers
    row = customers[customers["customer_id"] == TARGET].iloc[0].to_dict()
    return Subject.from_row({str(k): v for k, v in row.items()})


def _mentions(world: Path, subject: Any) -> list[str]:
    from agent.privacy.scan import leftovers
    from agent.settings import Settings

    settings = Settings(data_dir=world / "shop", state_dir=world / "state")
    return leftovers(settings, subject)


FORGET = ["data", "forget", TARGET, "--yes", "--json"]


def test_forget_killed_at_every_step_erases_everything_or_nothing(
    killer: Killer, tmp_path: Path
) -> None:
    template = _state_world(killer, tmp_path / "template")
    subject = _subject(template)
    before = _tree(template)
    mentioned = _mentions(template, subject)
    places = {Path(p).relative_to(template).parts[1] for p in mentioned}
    assert {"traces", "sessions", "batch"} <= places, mentioned

    whole = _copy(template, tmp_path / "whole")
    full = killer.run(FORGET, whole)
    assert full.code == 0, full.err
    assert _mentions(whole, subject) == []
    assert full.steps >= 8

    outcomes: Counter[str] = Counter()
    for n in range(1, full.steps + 1):
        world = _copy(template, tmp_path / "world")
        killed = killer.run(FORGET, world, kill_at=n)
        assert killed.killed, f"step {n}: not killed ({killed.err})"
        _check_valid(killer, world)
        now = _tree(world)
        if now == before:
            outcomes["not begun"] += 1
        else:
            left = _mentions(world, subject)
            step = killed.log.splitlines()[-1] if killed.log else "?"
            changed = sorted(k for k in now.keys() | before.keys() if now.get(k) != before.get(k))
            assert left == [], f"step {n} ({step}): half an erasure: {changed} changed, {left} not"
            assert TARGET not in _customer_ids(world)
            outcomes["complete"] += 1
            again = killer.run(FORGET, world)
            assert again.code == 2
            assert "nothing is held on them" in again.err
    assert outcomes["not begun"] and outcomes["complete"], outcomes


# --------------------------------------------------------------------------- batch


BATCH = ["batch", "--ids", "ids.txt", "--channel", "email", "--frequency-cap-days", "0",
         "--out", "out/drafts.jsonl", "--json"]


def _drafted(world: Path) -> list[str]:
    path = world / "out" / "drafts.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["customer_id"] for line in path.read_text().splitlines() if line]


def test_batch_killed_at_every_step_resumes_to_one_draft_per_customer(
    killer: Killer, tmp_path: Path
) -> None:
    from tools.shop.store import save_shop

    template = tmp_path / "template"
    save_shop(build_minimal_shop(), template / "shop")
    (template / "ids.txt").write_text("C00001\nC00002\nC00003\n", encoding="utf-8")
    # Build the profile cache once (atomic writes; a cache is rebuilt when unreadable).
    warm = killer.run([*BATCH[:-3], "--out", "warm/drafts.jsonl"], template)
    assert warm.code == 0, warm.err
    whole = _copy(template, tmp_path / "whole")
    full = killer.run(BATCH, whole)
    assert full.code == 0, full.err
    expected = _drafted(whole)
    assert sorted(expected) == ["C00001", "C00002", "C00003"]

    outcomes: Counter[str] = Counter()
    for n in range(1, full.steps + 1):
        world = _copy(template, tmp_path / "world")
        killed = killer.run(BATCH, world, kill_at=n)
        assert killed.killed, f"step {n}: not killed ({killed.err})"
        _check_valid(killer, world)
        partial = _drafted(world)  # never half a file: complete lines or no file
        outcomes["output written" if partial else "no output yet"] += 1
        resumed = killer.run([*BATCH, "--resume"], world)
        step = killed.log.splitlines()[-1] if killed.log else "?"
        assert resumed.code == 0, f"step {n} ({step}): {resumed.err}"
        assert sorted(_drafted(world)) == sorted(expected), f"step {n} ({step})"
    assert outcomes["no output yet"], outcomes
