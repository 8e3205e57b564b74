"""Shop changes as transactions: new files beside the old ones, a journal, then the switch.

A change to a shop (an import with ``--overwrite``, an erasure, results joined to the
tables) must never leave half of itself behind when the process is killed. The shop folder
keeps its plain layout (five Parquet files and ``shop.json``), so a change is made in four
steps, each safe to interrupt:

1. **Stage.** Every new file is written as a hidden temporary sibling of the file it
   replaces (``.tmp-shoptx-<id>-<n>-<name>``), flushed to disk, and its SHA-256 noted.
   Before each temporary is created its path is appended to ``.shop-pending.jsonl``, so a
   killed run's temporaries can always be found and removed.
2. **Commit.** The journal ``.shop-journal.json`` (every rename and removal, with the
   hashes) is written to a temporary file and renamed into place: that rename is the commit
   point. Before it, the change has not happened; after it, it will be finished.
3. **Apply.** The temporaries are renamed over their targets and the listed files removed.
   Applying is idempotent: a step whose temporary is gone is checked against its hash.
4. **Done.** The journal and the pending list are removed.

``recover(root)`` runs when a shop is opened (``tools.shop.store.load_shop``) and when a
change starts: a committed journal is applied (roll forward), an uncommitted change's
temporaries are removed (roll back). It says which it did (:class:`Recovery`).

One lock keeps concurrent processes apart: ``flock`` on the shop folder itself (no lock
file, so the folder keeps its plain layout and read-only folders can still be read),
released by the kernel when a process dies. A change holds it exclusively from start to
end, so only one change runs at a time and nobody removes a live change's temporaries;
readers hold it shared while they read the tables, so a reader never sees half of the old
shop and half of the new one (a reader waits while a change runs).

Files outside the shop folder (traces, sessions or checkpoints an erasure rewrites, caches
of an old data version) can be part of the same transaction: the journal holds their
absolute paths. Written by hand: no library found on PyPI does multi-file atomic switches
with roll-forward recovery over plain files.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.errors import DataValidationError

logger = logging.getLogger(__name__)

JOURNAL = ".shop-journal.json"
PENDING = ".shop-pending.jsonl"
#: Prefix of every temporary a transaction stages (hidden; privacy scans skip ``.tmp*``).
TMP_PREFIX = ".tmp-shoptx-"
#: How long a change or a recovery waits for another process's change to end.
LOCK_TIMEOUT_S = 120.0


class ShopBusyError(DataValidationError):
    """Another process is changing the shop and did not finish in time."""


@dataclass(frozen=True)
class Recovery:
    """What opening a shop did about a change a killed process left behind."""

    action: str  # "finished" (rolled forward) or "rolled back"
    label: str  # what the change was, e.g. "import transactions" or "forget C00042"

    def describe(self) -> str:
        """One sentence for people."""
        if self.action == "finished":
            return f"an interrupted change ({self.label}) was committed; it has been finished"
        return f"an interrupted change ({self.label}) had not been committed; it was rolled back"


# --------------------------------------------------------------------------- locks


def _flock(fd: int, mode: int, what: str, timeout: float) -> None:
    """Take ``flock(mode)`` on ``fd``, waiting at most ``timeout`` seconds.

    A file system without ``flock`` (some network mounts) goes on unlocked, with a warning:
    the journal still makes every change all-or-nothing; only concurrent processes lose
    their protection there.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                logger.warning("%s: cannot lock (%s); going on without a lock", what, exc)
                return
        if time.monotonic() >= deadline:
            raise ShopBusyError(
                f"{what}: another process is changing this shop and did not finish within "
                f"{timeout:.0f} s; try again when it has finished"
            )
        time.sleep(0.02)


@contextlib.contextmanager
def shop_lock(root: Path, *, exclusive: bool, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the shop folder's lock: shared to read the tables, exclusive to change them."""
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        yield
        return
    try:
        _flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, str(root), timeout)
        yield
    finally:
        os.close(fd)  # closing releases the lock


# --------------------------------------------------------------------------- file helpers


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _rel(root: Path, path: Path) -> str:
    """A journal path: relative inside the shop folder, absolute outside it."""
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _abs(root: Path, text: str) -> Path:
    path = Path(text)
    return path if path.is_absolute() else root / path


# --------------------------------------------------------------------------- the transaction


class ShopTransaction:
    """One change to a shop folder (and any files it takes along): stage, then ``commit``.

    Use it as a context manager: entering takes the shop's lock and recovers what a killed
    change left; leaving without ``commit`` (an exception) removes the staged temporaries.

    Example::

        with ShopTransaction(data_dir, "forget C00042") as tx:
            tx.stage(data_dir / "events.parquet", lambda tmp: write(tmp))
            tx.remove(cache_dir / "profiles" / old_version)
            tx.commit()
    """

    def __init__(self, root: Path, label: str, *, timeout: float = LOCK_TIMEOUT_S) -> None:
        """Prepare a change of the shop folder ``root``, described by ``label``."""
        self.root = Path(root).absolute()
        self.label = label
        self.id = f"{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
        self.timeout = timeout
        self.recovered: Recovery | None = None
        self.steps: list[dict[str, Any]] = []
        self._staged: list[Path] = []
        self._committed = False
        self._lock: contextlib.ExitStack | None = None
        self._pending: Any = None  # the pending list, open for the whole change

    def __enter__(self) -> ShopTransaction:
        self.root.mkdir(parents=True, exist_ok=True)
        stack = contextlib.ExitStack()
        stack.enter_context(shop_lock(self.root, exclusive=True, timeout=self.timeout))
        self._lock = stack
        try:
            self.recovered = _recover_locked(self.root)
        except BaseException:
            stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._close_pending()
            if not self._committed:
                self._roll_back()
        finally:
            if self._lock is not None:
                self._lock.close()

    # -- staging ----------------------------------------------------------------------------

    def stage(
        self, target: Path, write: Callable[[Path], None], *, clear: Sequence[Path] = ()
    ) -> Path:
        """Write the new version of ``target`` as a temporary sibling; return the temporary.

        Args:
            target: The file the change replaces (or creates).
            write: Writes the new content to the path it is given.
            clear: Files removed just before the switch (a SQLite database's ``-wal`` and
                ``-shm`` files, which belong to the version being replaced).
        """
        self._check_open()
        target = Path(target).absolute()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{TMP_PREFIX}{self.id}-{len(self.steps)}-{target.name}")
        self._note_pending(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.close(fd)
        self._staged.append(tmp)
        write(tmp)
        _fsync_file(tmp)
        self.steps.append(
            {
                "op": "replace",
                "target": _rel(self.root, target),
                "staged": _rel(self.root, tmp),
                "sha256": _sha256(tmp),
                "clear": [_rel(self.root, Path(c).absolute()) for c in clear],
            }
        )
        return tmp

    def remove(self, target: Path) -> None:
        """Remove ``target`` (a file or a folder) when the change is applied."""
        self._check_open()
        self.steps.append({"op": "remove", "target": _rel(self.root, Path(target).absolute())})

    def _check_open(self) -> None:
        if self._lock is None or self._committed:
            raise RuntimeError("stage changes inside `with ShopTransaction(...)`, before commit")

    def _note_pending(self, tmp: Path) -> None:
        if self._pending is None:
            self._pending = (self.root / PENDING).open("a", encoding="utf-8")
            self._pending.write(json.dumps({"id": self.id, "label": self.label}) + "\n")
        self._pending.write(json.dumps({"staged": str(tmp)}) + "\n")
        self._pending.flush()
        os.fsync(self._pending.fileno())

    def _close_pending(self) -> None:
        if self._pending is not None:
            self._pending.close()
            self._pending = None

    # -- commit -----------------------------------------------------------------------------

    def commit(self) -> None:
        """Write the journal (the commit point), switch the files, then remove the journal."""
        self._check_open()
        self._close_pending()
        journal = {
            "id": self.id,
            "label": self.label,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "steps": self.steps,
        }
        tmp = self.root / f"{JOURNAL}.tmp"
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(journal, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.root / JOURNAL)  # the commit point
        _fsync_dir(self.root)
        self._committed = True
        _apply(self.root, journal)
        logger.info("shop change %s (%s): %d step(s) applied", self.id, self.label, len(self.steps))

    def _roll_back(self) -> None:
        for tmp in self._staged:
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(f"{tmp}{suffix}").unlink(missing_ok=True)
        (self.root / PENDING).unlink(missing_ok=True)


def _apply(root: Path, journal: dict[str, Any]) -> None:
    """Switch every file of a committed journal (idempotent), then remove the journal."""
    label = str(journal.get("label", "change"))
    steps = journal.get("steps")
    if not isinstance(steps, list):
        raise DataValidationError(f"{root / JOURNAL}: not a shop change journal (no steps)")
    # The caller holds the shop's lock exclusively.
    touched: set[Path] = set()
    for step in steps:
        target = _abs(root, str(step["target"]))
        touched.add(target.parent)
        if step.get("op") == "remove":
            _remove(target)
            continue
        staged = _abs(root, str(step["staged"]))
        if staged.exists():
            for extra in step.get("clear", []):
                _abs(root, str(extra)).unlink(missing_ok=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
        elif not target.is_file() or _sha256(target) != step.get("sha256"):
            raise DataValidationError(
                f"{root / JOURNAL}: the committed change ({label}) cannot be finished: the "
                f"new version of {target} is missing (expected it at {staged}); restore the "
                "shop from a copy, then delete the journal"
            )
    for folder in touched:
        _fsync_dir(folder)
    (root / JOURNAL).unlink(missing_ok=True)
    (root / PENDING).unlink(missing_ok=True)
    _fsync_dir(root)


# --------------------------------------------------------------------------- recovery


def needs_recovery(root: Path) -> bool:
    """Whether a killed change left a journal, a pending list or a journal temporary."""
    return any((root / name).exists() for name in (JOURNAL, PENDING, f"{JOURNAL}.tmp"))


def recover(root: Path, *, timeout: float = LOCK_TIMEOUT_S) -> Recovery | None:
    """Finish a committed change or roll back an uncommitted one that a killed run left.

    Does nothing (and takes no lock) when the folder holds no journal and no pending list.
    A change still running in another process is waited for (it holds the shop's lock), and
    then nothing is left to do.

    Raises:
        DataValidationError: a committed journal is unreadable or cannot be finished, or the
            folder cannot be written to finish it.
        ShopBusyError: another process's change did not end in time.
    """
    root = Path(root).absolute()
    if not needs_recovery(root):
        return None
    try:
        with shop_lock(root, exclusive=True, timeout=timeout):
            return _recover_locked(root)
    except PermissionError as exc:
        raise DataValidationError(
            f"{root}: an interrupted change must be finished but the folder is not writable "
            f"({exc.strerror}); run the command again with write access"
        ) from exc


def _recover_locked(root: Path) -> Recovery | None:
    """Recovery while holding the shop's lock exclusively."""
    journal_path = root / JOURNAL
    if (root / f"{JOURNAL}.tmp").exists():
        (root / f"{JOURNAL}.tmp").unlink()  # never renamed: not committed
    if journal_path.exists():
        try:
            journal = json.loads(journal_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataValidationError(
                f"{journal_path}: the shop change journal is unreadable ({exc}); it was "
                "written whole, so it has been edited or damaged since"
            ) from exc
        _apply(root, journal)
        found = Recovery("finished", str(journal.get("label", "change")))
        logger.warning("%s: %s", root, found.describe())
        return found
    pending = root / PENDING
    if not pending.exists():
        return None
    label = "change"
    for line in pending.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by the kill: its temporary was never created
        if not isinstance(entry, dict):
            continue
        if "label" in entry:
            label = str(entry["label"])
        staged = Path(str(entry.get("staged", "")))
        if staged.name.startswith(TMP_PREFIX):
            for suffix in ("", "-journal", "-wal", "-shm"):  # SQLite copies' side files too
                Path(f"{staged}{suffix}").unlink(missing_ok=True)
    pending.unlink(missing_ok=True)
    _fsync_dir(root)
    found = Recovery("rolled back", label)
    logger.warning("%s: %s", root, found.describe())
    return found
