"""A fork server that runs CLI commands and SIGKILLs them at their N-th file change.

Started once per test module (``python tests/faults/killer.py``), it imports the product
(so each run starts in milliseconds), then reads one JSON request per line on stdin::

    {"argv": [...], "env": {...}, "cwd": "...", "watch": ["/tmp/world"], "kill_at": 3,
     "out": "/tmp/run.out", "err": "/tmp/run.err", "log": "/tmp/run.events"}

For each it forks a child that sets the environment and working directory, installs an
audit hook and runs ``python -m agent`` in-process. Every change to a file under ``watch``
counts as one write step: a file opened for writing (``open``, ``os.open``), a rename or
replace, a removal (``os.remove``, ``os.rmdir``, ``shutil.rmtree``) and every SQLite
statement that commits (``COMMIT``, or a write outside a transaction). The child logs each
step to ``log`` and, just before the ``kill_at``-th one happens, sends itself SIGKILL: no
``finally``, no ``atexit``, exactly what a kill from outside at that moment does. The
parent answers one JSON line: ``{"killed": bool, "code": int | null, "steps": int}``.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# Preload what the commands import, so that each forked run starts at once.
import agent.__main__  # noqa: E402
import agent.batch.runner  # noqa: E402
import agent.cli.batch_cmd  # noqa: E402
import agent.cli.data_cmds  # noqa: E402
import agent.cli.data_rights  # noqa: E402
import agent.loop.runner  # noqa: E402
import agent.privacy.rights  # noqa: E402
import tools.shop.importers  # noqa: E402, F401

agent.__main__.build_parser()  # imports every command module once, before any fork

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_SQL_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "VACUUM")


class _Counter:
    """Counts write steps under the watched folders and kills the process at one of them."""

    def __init__(self, watch: list[str], kill_at: int | None, log_fd: int) -> None:
        self.watch = [os.path.realpath(w) for w in watch]
        self.kill_at = kill_at
        self.log_fd = log_fd
        self.steps = 0
        self.pid = os.getpid()  # a process the command forks counts nothing (and is not killed)

    def watched(self, path: Any) -> bool:
        if isinstance(path, int) or path is None:
            return False
        try:
            real = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        return any(real == w or real.startswith(w + os.sep) for w in self.watch)

    def step(self, what: str) -> None:
        if os.getpid() != self.pid:
            return
        self.steps += 1
        what = " ".join(what.split())  # one line per step
        os.write(self.log_fd, f"{self.steps}\t{what}\n".encode())
        if self.kill_at is not None and self.steps >= self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = (list(args) + [None, None, None])[:3]
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and bool(flags & _WRITE_FLAGS)
            )
            if writes and self.watched(path):
                self.step(f"open {path}")
        elif event == "os.rename":
            if self.watched(args[0]) or self.watched(args[1]):
                self.step(f"rename {args[0]} -> {args[1]}")
        elif event in ("os.remove", "os.rmdir", "shutil.rmtree", "os.truncate"):
            if self.watched(args[0]):
                self.step(f"{event} {args[0]}")

    def sql(self, db: sqlite3.Connection, path: str, statement: str) -> None:
        head = statement.lstrip().upper()
        if head.startswith("COMMIT") or (
            not db.in_transaction and head.startswith(_SQL_WRITES)
        ):
            self.step(f"sql {path}: {statement.strip()[:60]}")


def _child(request: dict[str, Any]) -> None:
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    out = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(request["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(err, 2)
    sys.stdin = open(os.devnull)
    counter = _Counter(request["watch"], request.get("kill_at"), log)
    real_connect = sqlite3.connect

    def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = real_connect(database, *args, **kwargs)
        path = os.fsdecode(database) if not isinstance(database, int) else ""
        if counter.watched(path.removeprefix("file:").split("?")[0]):
            db.set_trace_callback(lambda s: counter.sql(db, path, s))
        return db

    sqlite3.connect = connect  # type: ignore[assignment]
    sys.addaudithook(counter.audit)
    code = 0
    try:
        code = agent.__main__.main(request["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    except BaseException:
        traceback.print_exc()
        code = 99
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    """Serve requests from stdin until it closes."""
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            _child(request)
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        log = Path(request["log"])
        text = log.read_text(encoding="utf-8") if log.exists() else ""
        steps = sum(1 for x in text.splitlines() if x.strip())
        sys.stdout.write(json.dumps({"killed": killed, "code": code, "steps": steps}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
