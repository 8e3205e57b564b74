"""The one trust boundary for paths: who names a path decides where it may point.

Two kinds of caller name paths (``Origin``):

- ``"operator"``: a person at the command line typing their own arguments
  (``data import ... --out mydata``, ``batch --ids ids.txt --out drafts.jsonl``). They may
  read and write wherever they say, as far as the operating system lets them: the shell
  would let them anyway, and refusing surprises them.
- ``"remote"``: everything else: the model's tool calls, the chat app, the HTTP API, MCP,
  and Python callers that pass options on behalf of someone else. Their paths stay confined
  to the allowed directories, so a mistyped, model-suggested or hostile path cannot read or
  overwrite arbitrary files.

The allowed directories are the current working directory, the shop's data directory, the
state directory, the extra directories in ``ToolConfig.allowed_dirs`` (``AGENT_ALLOWED_DIRS``,
a JSON list) and, for reading only, the shared real data sets beside the repository
(``../shared/datasets``). Paths are resolved first (``~``, ``..`` and symbolic links), so a
link inside an allowed directory that points outside it is refused too. The shared data sets
are read only for every caller.

``resolve_path`` applies the rule; ``check_output_file``, ``check_output_dir`` and
``check_input_file`` then say clearly when a path is the wrong kind (a folder where a file
is written, a file where a folder is, a folder that cannot be written).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

from tools.config import SHARED_DATASETS_DIR, ToolConfig
from tools.errors import PathNotAllowedError, ToolInputError

logger = logging.getLogger(__name__)

Purpose = Literal["read", "write"]
#: Who names a path: the operator at the CLI, or anyone else (model, app, API, MCP).
Origin = Literal["operator", "remote"]
ORIGINS: tuple[Origin, ...] = ("operator", "remote")


def _resolve(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.expanduser(path)).resolve()


def allowed_roots(config: ToolConfig, *, purpose: Purpose) -> list[Path]:
    """The resolved directories a remote path must lie in for ``purpose`` (no duplicates).

    Args:
        config: The tools' settings (data, state and extra allowed directories).
        purpose: ``"read"`` also allows the shared data sets; ``"write"`` does not.
    """
    candidates = [Path.cwd(), config.data_dir, config.state_dir, *config.allowed_dirs]
    if purpose == "read":
        candidates.append(SHARED_DATASETS_DIR)
    roots: list[Path] = []
    for candidate in candidates:
        root = _resolve(candidate)
        if root not in roots:
            roots.append(root)
    return roots


def _in_shared_datasets(resolved: Path) -> bool:
    shared = SHARED_DATASETS_DIR.resolve()
    return resolved == shared or resolved.is_relative_to(shared)


def resolve_path(
    path: str | os.PathLike[str],
    config: ToolConfig | None,
    *,
    purpose: Purpose,
    origin: Origin,
    what: str = "",
) -> Path:
    """Resolve a path named by ``origin`` and return it when that caller may use it.

    Args:
        path: The file or directory to read or write (need not exist yet).
        config: The tools' settings (needed for ``"remote"`` paths).
        purpose: ``"read"`` or ``"write"``.
        origin: ``"operator"`` (the CLI's own arguments: anywhere but into the shared data
            sets) or ``"remote"`` (model, app, API, MCP: confined to the allowed
            directories).
        what: A few words naming the path's role in messages (e.g. ``"import output"``).

    Raises:
        PathNotAllowedError: a remote path outside the allowed directories, or a write into
            the shared data sets.
    """
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {ORIGINS}, not {origin!r}")
    if origin == "remote":
        if config is None:
            raise ValueError("a remote path needs the ToolConfig that names the allowed dirs")
        return ensure_allowed(path, config, purpose=purpose, what=what)
    resolved = _resolve(path)
    if purpose == "write" and _in_shared_datasets(resolved):
        label = what or "output"
        raise PathNotAllowedError(
            f"{label} path {resolved} is inside the shared data sets, which are read only; "
            "write somewhere else"
        )
    return resolved


def ensure_allowed(
    path: str | os.PathLike[str], config: ToolConfig, *, purpose: Purpose, what: str = ""
) -> Path:
    """Resolve ``path`` and return it when it lies inside an allowed directory.

    This is the rule for remote paths (``resolve_path(..., origin="remote")``).

    Args:
        path: The file or directory to read or write (need not exist yet).
        config: The tools' settings.
        purpose: ``"read"`` or ``"write"``; the shared data sets are readable only.
        what: A few words naming the path's role in messages (e.g. ``"import output"``).

    Raises:
        PathNotAllowedError: the path lies outside every allowed directory; the message names
            the path, the allowed directories and how to allow another one.
    """
    resolved = _resolve(path)
    roots = allowed_roots(config, purpose=purpose)
    if any(resolved == root or resolved.is_relative_to(root) for root in roots):
        return resolved
    label = what or ("input" if purpose == "read" else "output")
    extra = ""
    if purpose == "write" and _in_shared_datasets(resolved):
        extra = " (the shared data sets are read only)"
    logger.info("refused %s path %s: outside the allowed directories", purpose, resolved)
    raise PathNotAllowedError(
        f"{label} path {resolved} is outside the allowed directories{extra}; may {purpose} "
        f"only inside: {', '.join(str(r) for r in roots)}. To allow another directory, add "
        f"it to AGENT_ALLOWED_DIRS (a JSON list, e.g. '[\"/srv/exports\"]')."
    )


# --------------------------------------------------------------------------- kinds


def _writable_ancestor(path: Path, what: str) -> Path:
    """The nearest existing ancestor of ``path``; it must be a writable directory."""
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ToolInputError(f"{what} {path}: {ancestor} is a file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ToolInputError(f"{what} {path}: cannot write in {ancestor} (permission denied)")
    return ancestor


def check_output_file(path: Path, what: str = "output") -> Path:
    """``path`` as a file to write: not a directory, in a folder that can be written.

    Raises:
        ToolInputError: naming the path and what is wrong with it.
    """
    if path.is_dir():
        raise ToolInputError(f"{what} {path} is a directory; name a file to write")
    if path.exists() and not os.access(path, os.W_OK):
        raise ToolInputError(f"{what} {path}: the file cannot be written (permission denied)")
    _writable_ancestor(path, what)
    return path


def check_output_dir(path: Path, what: str = "output") -> Path:
    """``path`` as a directory to write into: not a file, writable or creatable.

    Raises:
        ToolInputError: naming the path and what is wrong with it.
    """
    if path.exists() and not path.is_dir():
        raise ToolInputError(f"{what} {path} is a file; name a directory")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise ToolInputError(f"{what} {path}: cannot write in it (permission denied)")
        return path
    _writable_ancestor(path, what)
    return path


def check_input_file(path: Path, what: str = "input") -> Path:
    """``path`` as a file to read: it exists, is a file and can be read.

    Raises:
        ToolInputError: naming the path and what is wrong with it.
    """
    if not path.exists():
        raise ToolInputError(f"{what} {path}: file not found")
    if path.is_dir():
        raise ToolInputError(f"{what} {path} is a directory; name a file")
    if not os.access(path, os.R_OK):
        raise ToolInputError(f"{what} {path}: cannot be read (permission denied)")
    return path


def check_input_dir(path: Path, what: str = "input") -> Path:
    """``path`` as a directory to read: it exists and is a directory.

    Raises:
        ToolInputError: naming the path and what is wrong with it.
    """
    if not path.exists():
        raise ToolInputError(f"{what} {path}: directory not found")
    if not path.is_dir():
        raise ToolInputError(f"{what} {path} is a file; name a directory")
    return path
